/** fast-check arbitraries shared by the unit tests. */
import fc from 'fast-check'

/**
 * Any code point, lone surrogates included (what `fc.fullUnicodeString` gave in fast-check 3).
 * `fc.string({ unit: 'binary' })` does the same but costs ~0.7 s to build per test file.
 */
export const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((code) => String.fromCodePoint(code))

export function fullUnicodeString (maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: anyCodePoint, maxLength })
}
