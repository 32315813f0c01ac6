/**
 * One tenant's trouble is no one else's (issue 10): OpenMetal hangs on one organisation's
 * orders while 300 status requests of that tenant are in flight, over real sockets against
 * the simulator. Its requests are answered by their deadline (or refused at once past the
 * tenant's queue), OpenMetal hears nothing of them once they are answered, and another
 * tenant polling its own healthy server does not notice.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { join } from 'node:path'
import { startHarness, tenantA, tenantB, type Harness } from '../helpers/harness.ts'
import { provisioned } from '../helpers/lifecycle.ts'
import { hangingTenantBurst, quantile } from '../helpers/isolation.ts'
import { root, startServerProcess, type RunningServer } from '../ops/support.ts'
import { cycleServer, statusBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'

const DEADLINE_MS = 2_000

let h: Harness
let adapter: RunningServer
beforeAll(async () => {
  h = await startHarness()
  // the adapter under test runs in a process of its own, as deployed (this one hosts the
  // simulator and the 300 clients); attempts (1 s) are shorter than the deadline, so retries
  // are started, and must stop with their callers
  adapter = await startServerProcess([join(root, 'src/server.ts')], root, {
    OPENMETAL_API_URL: h.sim.url, REQUEST_DEADLINE_MS: String(DEADLINE_MS), OPENMETAL_TIMEOUT_MS: '1000', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0'
  })
})
afterAll(async () => {
  adapter.child.kill('SIGTERM')
  await adapter.exit
  await h.close()
})

describe('a tenant whose OpenMetal hangs', () => {
  test('300 of its requests are answered by their deadline, OpenMetal hears nothing of them after, and another tenant is served as usual', async () => {
    const healthyTenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, healthyTenant)
    const hangingTenant = tenantB()
    const hangingServer = cycleServer('large_v4', 'pod_1')
    const run = await hangingTenantBurst({
      adapterUrl: adapter.url,
      sim: h.sim,
      hangingBody: (hangingId) => statusBody(hangingTenant, hangingServer, hangingId),
      healthyBody: statusBody(healthyTenant, server, serverId, extra),
      requests: 300,
      spreadMs: 250,
      pollers: 4,
      pauseMs: 20,
      hangMs: 30_000,
      lateAfterMs: 2_000
    })

    // every hanging request is answered by its deadline (+ 1 s): 504 once its deadline passed,
    // or at once 503 with Retry-After when its tenant's queue was full
    const codes = new Set(run.hanging.map((answer) => `${answer.status} ${answer.code ?? ''}`))
    expect([...codes].sort()).toEqual(['503 503.not-ready', '504 504.not-available'])
    expect(Math.max(...run.hanging.map((answer) => answer.ms))).toBeLessThan(DEADLINE_MS + 1_000)
    const refused = run.hanging.filter((answer) => answer.status === 503)
    expect(refused.every((answer) => Number(answer.retryAfter) > 0)).toBe(true)
    expect(Math.max(...refused.map((answer) => answer.ms))).toBeLessThan(DEADLINE_MS)
    // at most 8 of them on the wire and 64 waiting (the defaults): the others are refused
    expect(refused.length).toBeGreaterThanOrEqual(300 - 8 - 64)

    // OpenMetal hears of a hanging request only while its caller waits, and of few of them
    expect(run.upstream.length).toBeGreaterThan(0)
    expect(run.upstream.length).toBeLessThan(300)
    expect(Math.max(...run.upstream.map((call) => call.afterAnswerMs))).toBeLessThan(2_000)

    // the other tenant, during the burst and after it: every poll answered, none slow
    expect(run.healthy.length).toBeGreaterThan(50)
    expect(run.healthy.filter((answer) => answer.status !== 200)).toEqual([])
    expect(quantile(run.healthy.map((answer) => answer.ms), 0.99)).toBeLessThanOrEqual(1_000)
  })
})
