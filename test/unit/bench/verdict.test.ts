/** Unit tests of bench/verdict.ts: a row prints NO only when it fails the run. */
import { describe, expect, test } from 'vitest'
import { failsRun, verdictOf, type Row } from '../../../bench/verdict.ts'

function row (fields: Partial<Row>): Row {
  return { name: 'cached', connections: 32, requests: 1000, p50: 1, p99: 2, rps: 5000, upstreamPerRequest: 0, ideal: { metric: 'rps', value: 10_000, why: 'bare Fastify' }, ratio: 0.5, target: 0.5, met: true, ...fields }
}

describe('a benchmark row\'s verdict', () => {
  test('a met target is yes, in and out of CI', () => {
    for (const ci of [false, true]) expect([verdictOf(row({}), ci), failsRun(row({}), ci)]).toEqual(['yes', false])
  })

  test('a missed target without a CI line is NO, and fails the run, in and out of CI', () => {
    const missed = row({ ratio: 0.3, met: false })
    for (const ci of [false, true]) expect([verdictOf(missed, ci), failsRun(missed, ci)]).toEqual(['NO', true])
  })

  test('a ratio under its target but above its CI floor: NO outside CI, "CI ok" in CI, where it passes the run', () => {
    const noisy = row({ ratio: 0.486, met: false, ciFloor: 0.4 })
    expect([verdictOf(noisy, false), failsRun(noisy, false)]).toEqual(['NO', true])
    expect([verdictOf(noisy, true), failsRun(noisy, true)]).toEqual(['CI ok', false])
    const regressed = row({ ratio: 0.39, met: false, ciFloor: 0.4 })
    expect([verdictOf(regressed, true), failsRun(regressed, true)]).toEqual(['NO', true])
  })

  test('a latency over its target but under its CI ceiling is "CI ok" in CI; over the ceiling, NO', () => {
    const slow = row({ ideal: { metric: 'p50', value: 20, why: 'one round trip' }, p50: 28, target: 25, met: false, ciCeiling: 30 })
    expect([verdictOf(slow, true), failsRun(slow, true)]).toEqual(['CI ok', false])
    expect([verdictOf({ ...slow, p50: 31 }, true), failsRun({ ...slow, p50: 31 }, true)]).toEqual(['NO', true])
    expect(verdictOf(slow, false)).toBe('NO')
  })
})
