/**
 * A request whose caller has gone is over: its OpenMetal calls and retries stop at once. Only a
 * purchase already sent outlives it, as far as its lease goes: nobody buys blind until it is known.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { request } from 'undici'
import { provisionBody, statusBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { PassThrough } from 'node:stream'
import { startHarness, tenantA, withHarness, type Harness } from '../helpers/harness.ts'
import { provisioned, unprovisioned } from '../helpers/lifecycle.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })
beforeEach(() => { h.sim.faults.clear() })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends a call over a real socket and hangs up after `ms`, before any answer. */
async function leaveAfter (ms: number, path: string, body: unknown, headers: Record<string, string> = {}, on: Harness = h): Promise<void> {
  await expect(request(`${on.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(ms)
  })).rejects.toThrow()
}

function requestsTo (method: string, path: RegExp, since: number): number {
  return h.sim.state.requests.slice(since).filter((entry) => entry.method === method && path.test(entry.path)).length
}

describe('a caller that hangs up', () => {
  test('stops its OpenMetal calls and retries at once', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    // OpenMetal slow and failing: the order read would be tried three times (OPENMETAL_MAX_ATTEMPTS) within the 5 s deadline
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', delayMs: 300, status: 503, times: Infinity })
    const since = h.sim.state.requests.length
    await leaveAfter(150, '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    // long enough for the retries a request still being served would make
    await sleep(2000)
    expect(requestsTo('GET', /^\/v1\/orders\/[^/]+$/, since)).toBe(1)
    // and it is over for the operator too: counted as abandoned, no longer in flight
    const metrics = await (await request(`${h.url}/metrics`)).body.text()
    expect(metrics).toMatch(/ial_requests_total\{route="\/v1\/infrastructure\/server\/provision-status",method="POST",status="aborted"\} 1/)
    expect(metrics).toMatch(/ial_requests_in_flight 1\n/)
  })

  test('is no failure to report: its request line says aborted, and no error line follows for the calls it stopped', async () => {
    const lines = new PassThrough()
    let text = ''
    lines.on('data', (chunk: Buffer) => { text += chunk.toString() })
    await withHarness({ env: { LOG_LEVEL: 'info' }, deps: { logStream: lines } }, async (logged) => {
      const tenant = tenantA()
      const { server, serverId, extra } = await provisioned(logged, tenant)
      logged.sim.faults.add({ method: 'GET', path: '/v1/orders/*', delayMs: 600, times: Infinity })
      await leaveAfter(150, '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra), { 'x-request-id': 'gone-1' }, logged)
      // past the OpenMetal answer the request no longer waits for
      await sleep(900)
      const mine = text.split('\n').filter((line) => line.includes('"gone-1"')).map((line) => JSON.parse(line) as { level: number, msg: string, status?: unknown })
      expect(mine.filter((line) => line.msg === 'request')).toEqual([expect.objectContaining({ level: 30, status: 'aborted' })])
      expect(mine.filter((line) => line.level >= 40)).toEqual([])
    })
  })

  test('after its order was sent: the purchase keeps its lease, so a retry waits instead of buying blind', async () => {
    const { tenant, server } = await unprovisioned(h)
    // OpenMetal takes its time before acting; the adapter gives up with its caller, so whether the order was taken is unknown
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', delayMs: 1500, times: 1 })
    const since = h.sim.state.requests.length
    await leaveAfter(400, '/v1/infrastructure/server/provision', provisionBody(tenant, server))
    await expect.poll(() => requestsTo('POST', /^\/v1\/orders$/, since), { timeout: 2000 }).toBe(1)
    // the adapter looks for the order once more (RECOVERY_GRACE_MS) and does not find it
    await expect.poll(() => requestsTo('GET', /^\/v1\/orders$/, since), { timeout: 5000 }).toBeGreaterThanOrEqual(2)
    await sleep(200)
    const retried = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server))
    expect(retried.status).toBe(503)
    expect(retried.body.error?.code).toBe('503.not-ready')
    expect(Number(retried.headers['retry-after'])).toBeLessThanOrEqual(120)
    expect(requestsTo('POST', /^\/v1\/orders$/, since)).toBe(1)
  })
})
