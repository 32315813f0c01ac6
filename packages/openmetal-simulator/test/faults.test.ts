import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { request } from 'undici'
import { Value } from 'typebox/value'
import { GetOrder } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { globToRegExp } from '../src/faults.ts'
import { call, orderBody } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator({ provisioningStepMs: 20 }) })
afterEach(() => { sim.faults.clear() })
afterAll(async () => { await sim.close() })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** An order whose client gives up waiting for the answer after `ms`. */
async function orderGivingUpAfter (label: string, ms: number): Promise<unknown> {
  return await request(`${sim.url}/v1/orders`, {
    method: 'POST',
    headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' },
    body: JSON.stringify(orderBody({}, undefined, label)),
    signal: AbortSignal.timeout(ms)
  })
}

async function orderLabels (): Promise<string[]> {
  return ((await call(sim, 'GET', '/v1/orders')).body as Array<{ label: string }>).map((order) => order.label)
}

describe('fault kinds', () => {
  test('status: answered instead of handling, with Retry-After and a custom body, for `times` requests', async () => {
    sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 429, retryAfter: 3, times: 2 })
    for (let index = 0; index < 2; index++) {
      const limited = await call(sim, 'GET', '/v1/orders/x')
      expect(limited).toMatchObject({ status: 429, headers: { 'retry-after': '3' }, body: { status: 429 } })
    }
    expect((await call(sim, 'GET', '/v1/orders/x')).status).toBe(404)

    sim.faults.add({ path: '/v1/orders', status: 503, body: { error: 'maintenance' } })
    const before = sim.state.ordersCreated
    expect(await call(sim, 'POST', '/v1/orders', orderBody())).toMatchObject({ status: 503, body: { error: 'maintenance' } })
    expect(sim.state.ordersCreated).toBe(before)
  })

  test('status with times Infinity keeps answering until cleared', async () => {
    sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', status: 500, times: Infinity })
    for (let index = 0; index < 5; index++) expect((await call(sim, 'GET', '/v2/inventory/locations', undefined, null)).status).toBe(500)
    expect(sim.faults.list()).toHaveLength(1)
    sim.faults.clear()
    expect((await call(sim, 'GET', '/v2/inventory/locations', undefined, null)).status).toBe(200)
  })

  test('delayMs: a slow answer that still arrives', async () => {
    sim.faults.add({ path: '/v1/clouds', delayMs: 150 })
    const started = performance.now()
    expect((await call(sim, 'GET', '/v1/clouds')).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
  })

  test('delayMs longer than the client waits: the client times out and nothing is done', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/orders', delayMs: 200 })
    const before = sim.state.ordersCreated
    await expect(orderGivingUpAfter('hung', 50)).rejects.toThrow()
    await sleep(250)
    expect(sim.state.ordersCreated).toBe(before)
    expect(sim.state.requests.filter((entry) => entry.method === 'POST' && entry.path === '/v1/orders').at(-1)?.status).toBe('abandoned')
  })

  test('answerDelayMs: the order is taken at once, the answer comes late, and a client that gave up meanwhile still bought it', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/orders', answerDelayMs: 300 })
    const before = sim.state.ordersCreated
    await expect(orderGivingUpAfter('confirmed-late', 100)).rejects.toThrow()
    expect(sim.state.ordersCreated).toBe(before + 1)
    expect(await orderLabels()).toContain('confirmed-late')
  })

  test('drop before: the socket dies and no order is created', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/orders', drop: 'before' })
    const before = sim.state.ordersCreated
    await expect(call(sim, 'POST', '/v1/orders', orderBody({}, undefined, 'dropped-before'))).rejects.toThrow()
    expect(sim.state.ordersCreated).toBe(before)
    expect(await orderLabels()).not.toContain('dropped-before')
    expect(sim.state.requests.filter((entry) => entry.path === '/v1/orders' && entry.method === 'POST').at(-1)?.status).toBe('dropped')
  })

  test('drop after: the order exists, but the client only saw a socket error (the lost answer)', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/orders', drop: 'after' })
    const before = sim.state.ordersCreated
    await expect(call(sim, 'POST', '/v1/orders', orderBody({}, undefined, 'dropped-after'))).rejects.toThrow()
    expect(sim.state.ordersCreated).toBe(before + 1)
    expect(await orderLabels()).toContain('dropped-after')
  })

  test('malformed: a 200 whose body is not JSON, after acting', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/orders', malformed: true })
    const before = sim.state.ordersCreated
    const response = await request(`${sim.url}/v1/orders`, { method: 'POST', headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' }, body: JSON.stringify(orderBody()) })
    expect(response.statusCode).toBe(200)
    await expect(response.body.json()).rejects.toThrow()
    expect(sim.state.ordersCreated).toBe(before + 1)
  })

  test('rules match by method, consume in order, and leave other requests alone', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/orders', status: 502 })
    const list = await call(sim, 'GET', '/v1/orders')
    expect(list.status).toBe(200)
    const created = await call(sim, 'POST', '/v1/orders', orderBody())
    expect(created.status).toBe(502)
    const again = await call(sim, 'POST', '/v1/orders', orderBody())
    expect(again.status).toBe(200)
    expect(Value.Check(GetOrder, again.body)).toBe(true)
    sim.faults.add({ path: /^\/v1\/clouds\/[^/]+\/stats$/, status: 500 })
    expect((await call(sim, 'GET', '/v1/clouds/x')).status).toBe(404)
    expect((await call(sim, 'GET', '/v1/clouds/x/stats')).status).toBe(500)
  })

  test('a rule without an action, or with times 0, is refused', () => {
    expect(() => { sim.faults.add({ path: '/v1/orders' }) }).toThrow()
    expect(() => { sim.faults.add({ path: '/v1/orders', status: 500, times: 0 }) }).toThrow()
    expect(() => { sim.faults.add({ path: '/v1/orders', status: 42 }) }).toThrow()
  })
})

test('globs: * stays inside one segment, ** crosses them', () => {
  expect(globToRegExp('/v1/orders/*').test('/v1/orders/abc')).toBe(true)
  expect(globToRegExp('/v1/orders/*').test('/v1/orders')).toBe(false)
  expect(globToRegExp('/v1/orders*').test('/v1/orders')).toBe(true)
  expect(globToRegExp('/v1/orders*').test('/v1/orders/abc')).toBe(false)
  expect(globToRegExp('/v1/orders**').test('/v1/orders/abc')).toBe(true)
  expect(globToRegExp('/v1/deployment/network/prefixes/*/ip').test('/v1/deployment/network/prefixes/p1/ip')).toBe(true)
  expect(globToRegExp('/v1/deployment/network/prefixes/*/ip').test('/v1/deployment/network/prefixes/p1/ip/3')).toBe(false)
  expect(globToRegExp('/v1/x.y').test('/v1/xzy')).toBe(false)
})

describe('latency', () => {
  test('setLatency delays every API call; admin calls are not delayed', async () => {
    sim.faults.setLatency(120)
    try {
      let started = performance.now()
      await call(sim, 'GET', '/health', undefined, null)
      expect(performance.now() - started).toBeGreaterThanOrEqual(110)
      started = performance.now()
      await call(sim, 'GET', '/_sim/state', undefined, null)
      expect(performance.now() - started).toBeLessThan(100)
    } finally {
      sim.faults.setLatency(0)
    }
  })

  test('the latencyMs option', async () => {
    const slow = await startSimulator({ latencyMs: 80 })
    try {
      const started = performance.now()
      await call(slow, 'GET', '/v1/products', undefined, null)
      expect(performance.now() - started).toBeGreaterThanOrEqual(75)
    } finally {
      await slow.close()
    }
  })
})

describe('the admin API over HTTP', () => {
  test('faults: add (glob or regex, times -1 for always), list, clear; bad rules are 400', async () => {
    expect((await call(sim, 'POST', '/_sim/faults', { method: 'GET', path: '/v1/clouds', status: 503, retryAfter: 1, times: -1 }, null)).status).toBe(200)
    expect((await call(sim, 'POST', '/_sim/faults', { pathRegex: '^/v1/prefixes', status: 500 }, null)).status).toBe(200)
    const listed = (await call(sim, 'GET', '/_sim/faults', undefined, null)).body as Array<{ path: string, remaining: number }>
    expect(listed).toEqual([expect.objectContaining({ path: '/v1/clouds', remaining: -1 }), expect.objectContaining({ path: '/^\\/v1\\/prefixes/', remaining: 1 })])
    expect((await call(sim, 'GET', '/v1/clouds')).headers['retry-after']).toBe('1')
    expect((await call(sim, 'GET', '/v1/prefixes')).status).toBe(500)
    expect((await call(sim, 'DELETE', '/_sim/faults', undefined, null)).status).toBe(200)
    expect((await call(sim, 'GET', '/v1/clouds')).status).toBe(200)
    for (const bad of [{ status: 500 }, { path: '/x', pathRegex: 'x', status: 500 }, { path: '/x' }, { path: '/x', status: 500, surprise: 1 }, { pathRegex: '(', status: 500 }, { path: '/x', drop: 'sideways' }]) {
      expect((await call(sim, 'POST', '/_sim/faults', bad, null)).status).toBe(400)
    }
  })

  test('state, requests, token expiry, latency, reset', async () => {
    await call(sim, 'GET', '/v1/orders')
    const counters = (await call(sim, 'GET', '/_sim/state', undefined, null)).body as Record<string, number>
    expect(counters).toMatchObject({ requests: expect.any(Number), tokenExchanges: expect.any(Number), ordersCreated: expect.any(Number), prefixesBought: expect.any(Number), prefixesDeleted: expect.any(Number), ipsCreated: expect.any(Number), ipsDeleted: expect.any(Number) })
    const log = (await call(sim, 'GET', '/_sim/requests', undefined, null)).body as Array<{ method: string, path: string, at: number, status: number }>
    expect(log.at(-1)).toEqual({ method: 'GET', path: '/v1/orders', at: expect.any(Number), status: 200 })
    expect(Math.abs((log.at(-1)?.at ?? 0) - Date.now())).toBeLessThan(5_000)
    expect((await call(sim, 'POST', '/_sim/tokens/expire', undefined, null)).status).toBe(200)
    expect((await call(sim, 'POST', '/_sim/latency', { ms: -1 }, null)).status).toBe(400)
    expect((await call(sim, 'POST', '/_sim/latency', { ms: 0 }, null)).status).toBe(200)
    expect((await call(sim, 'POST', '/_sim/reset', undefined, null)).status).toBe(200)
    expect(sim.state.requests).toEqual([])
    expect(sim.state.ordersCreated).toBe(0)
    expect((await call(sim, 'GET', '/v1/orders')).body).toEqual([])
    expect((await call(sim, 'GET', '/_sim/nothing', undefined, null)).status).toBe(404)
  })
})

test('close() does not wait for an injected hang', async () => {
  const hanging = await startSimulator()
  hanging.faults.add({ path: '/health', delayMs: 60_000 })
  const pending = call(hanging, 'GET', '/health', undefined, null).catch((error: unknown) => error)
  await sleep(30)
  const started = performance.now()
  await hanging.close()
  expect(performance.now() - started).toBeLessThan(1000)
  expect(await pending).toBeInstanceOf(Error)
})
