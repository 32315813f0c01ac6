import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { printable } from '../../../src/cli/terminal.ts'

describe('what reaches an operator\'s terminal', () => {
  test('escape sequences, line breaks and bidirectional overrides are shown as escapes', () => {
    expect(printable('a\x1b[2Jb')).toBe('a\\x1b[2Jb')
    expect(printable('line\nFAKE: all clear\r')).toBe('line\\x0aFAKE: all clear\\x0d')
    expect(printable('\u202eevil\u2028')).toBe('\\u{202e}evil\\u{2028}')
    expect(printable('\x9b31m')).toBe('\\x9b31m')
  })

  test('anything else is printed as it is, and nothing unprintable survives', () => {
    expect(printable('cycle:651586fca6078e98982dbd90 Zürich 東京')).toBe('cycle:651586fca6078e98982dbd90 Zürich 東京')
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
      expect(printable(text)).not.toMatch(/[\p{Cc}\p{Cf}\u2028\u2029]/u)
    }))
  })
})
