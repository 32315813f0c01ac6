/** ial-check's own reading of an adapter's Retry-After header (seconds or an HTTP date). */
import { expect, test } from 'vitest'
import { retryAfterSeconds } from '../src/retry-after.ts'

const NOW = Date.parse('2026-01-01T00:00:00Z')

test.each([
  ['120', 120],
  [' 7 ', 7],
  [['30', '60'], 30],
  ['Thu, 01 Jan 2026 00:01:30 GMT', 90],
  ['Wed, 31 Dec 2025 23:00:00 GMT', 0]
] as const)('%j is %d seconds', (header, seconds) => {
  expect(retryAfterSeconds(typeof header === 'string' ? header : [...header], NOW)).toBe(seconds)
})

test.each([undefined, '', '-1', '1.5', 'soon', 'Xyz, 99 Foo 2026'])('%j is no wait', (header) => {
  expect(retryAfterSeconds(header, NOW)).toBeUndefined()
})
