/**
 * What reaches an operator's terminal from elsewhere: OpenMetal labels, IDs and messages are
 * written by anyone in the organisation, so a control character (an escape sequence, a line
 * break, a bidirectional override) would rewrite the operator's screen or forge a line. Each is
 * shown as its escape instead; everything else is printed as it is.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu

export function printable (text: string): string {
  return text.replace(UNPRINTABLE, (character) => {
    const code = character.codePointAt(0) ?? 0
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
  })
}
