import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, test } from 'vitest'
import { CoordinatorUnavailableError } from '../../../src/coordination/coordinator.ts'
import { createMetrics } from '../../../src/observability/metrics.ts'
import { coordinationReports } from '../../../src/observability/coordination-reports.ts'

function captured (): { log: pino.Logger, lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { chunks.push(String(chunk)); done() } })
  return { log: pino(stream), lines: () => chunks.join('').trim().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>) }
}

describe('what the coordinator tells the operator', () => {
  test('an unreachable coordinator: every failure counted, logged at error once a minute with how many went unlogged', async () => {
    const { log, lines } = captured()
    const metrics = createMetrics()
    let now = 0
    const reports = coordinationReports(() => log, metrics, () => now)
    const down = new CoordinatorUnavailableError('PostgreSQL coordinator unavailable (acquire): ECONNREFUSED')
    for (let second = 0; second < 150; second++) {
      now = second * 1000
      reports.unavailable(down)
    }
    const logged = lines()
    expect(logged.map((line) => [line.level, line.failure, line.sinceLastLine])).toEqual([
      [50, down.message, 0],
      [50, down.message, 59],
      [50, down.message, 59]
    ])
    expect(await metrics.registry.getSingleMetricAsString('ial_coordination_unavailable_total')).toMatch(/ial_coordination_unavailable_total 150$/)
  })

  test('lease events are counted by kind', async () => {
    const metrics = createMetrics()
    const reports = coordinationReports(() => pino({ level: 'silent' }), metrics)
    for (const event of ['acquired', 'acquired', 'busy', 'released', 'kept'] as const) reports.lease(event)
    const text = await metrics.registry.getSingleMetricAsString('ial_coordination_leases_total')
    expect(text).toContain('ial_coordination_leases_total{event="acquired"} 2')
    expect(text).toContain('ial_coordination_leases_total{event="busy"} 1')
    expect(text).toContain('ial_coordination_leases_total{event="kept"} 1')
  })
})
