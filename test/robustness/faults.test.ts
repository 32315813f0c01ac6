/**
 * Fault injection against the simulator: for each upstream fault, what Cycle sees, how many
 * billable resources exist afterwards, and that the adapter keeps serving.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { allocateBody, cycleServer, provisionBody, serverActionBody, statusBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import type { OrderResponse } from '../../src/generated/openmetal.ts'
import { inventoryReport } from '../../src/mapping/inventory.ts'
import { RECOVERY_GRACE_MS } from '../../src/openmetal/labelled-writes.ts'
import { provisioned, unprovisioned } from '../helpers/lifecycle.ts'
import { serverIdCodec } from '../../src/mapping/identifiers.ts'
import { InProcessCoordinator } from '../../src/coordination/in-process.ts'

let h: Harness
/** how far the coordinator's clock runs ahead: lets a kept lease lapse without waiting for it */
let leaseClockSkewMs = 0
beforeAll(async () => { h = await startHarness({ deps: { coordinator: new InProcessCoordinator({ now: () => Date.now() + leaseClockSkewMs }) } }) })
afterAll(async () => { await h.close() })
beforeEach(() => { h.sim.faults.clear() })

async function ordersTagged (hubId: string, cycleServerId: string): Promise<number> {
  const orders = (await h.openMetal('GET', '/v1/orders')).body as Array<{ label: string }>
  return orders.filter((order) => order.label === `cycle:${hubId}:${cycleServerId}`).length
}

async function stillServing (): Promise<void> {
  const answer = await h.call('GET', '/v1/infrastructure/provider/locations')
  expect(answer.status).toBe(200)
}

describe('provision when the answer of POST /v1/orders is lost', () => {
  test('the connection drops after OpenMetal created the order: the same server is returned, one order exists', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', drop: 'after', times: 1 })
    const first = await provision()
    expect(first.status).toBe(200)
    const retried = await provision()
    // the same order (the retried answer may also carry the cloud, once it is known)
    const orderOf = (answer: typeof first) => serverIdCodec.decode((answer.body.data as { server_id: string }).server_id)?.orderId
    expect(orderOf(retried)).toBe(orderOf(first))
    expect(await ordersTagged(tenant.cycle.hub_id, server.cycleServerId)).toBe(1)
    await stillServing()
  })

  test('the connection drops before OpenMetal acted: an error now; retries wait out the lease (the order may exist), then one order', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', drop: 'before', times: 1 })
    const first = await provision()
    expect(first.status).toBe(503)
    const attempts = h.ordersCreated()
    expect(await ordersTagged(tenant.cycle.hub_id, server.cycleServerId)).toBe(0)
    // nobody knows whether the order was taken: nobody buys until the lease lapses (120 s by default)
    const waiting = await provision()
    expect(waiting.status).toBe(503)
    expect(waiting.body.error?.code).toBe('503.not-ready')
    const retryAfter = Number(waiting.headers['retry-after'])
    expect(retryAfter).toBeGreaterThan(100)
    expect(retryAfter).toBeLessThanOrEqual(120)
    // and no order was even asked for meanwhile
    expect(h.ordersCreated()).toBe(attempts)
    leaseClockSkewMs += 120_000
    try {
      const retried = await provision()
      expect(retried.status).toBe(200)
      expect(await ordersTagged(tenant.cycle.hub_id, server.cycleServerId)).toBe(1)
    } finally {
      leaseClockSkewMs = 0
    }
  })

  test('two replicas buying the same server at the same instant answer with one server_id; the duplicate is flagged', async () => {
    // a second replica of the adapter: same configuration, same OpenMetal, no shared state
    const replica = await h.replica()
    try {
      const { tenant, server, provision } = await unprovisioned(h)
      // both look for the order before either has bought it (OpenMetal offers no conditional create)
      h.sim.faults.add({ method: 'POST', path: '/v1/orders', delayMs: 300, times: 2 })
      const [first, second] = await Promise.all([
        provision(),
        replica.inject({ method: 'POST', url: '/v1/infrastructure/server/provision', payload: provisionBody(tenant, server) })
      ])
      expect(first.status).toBe(200)
      expect(second.statusCode).toBe(200)
      const orderOf = (serverId: string) => serverIdCodec.decode(serverId)?.orderId
      const firstOrder = orderOf((first.body.data as { server_id: string }).server_id)
      expect(orderOf(second.json<{ data: { server_id: string } }>().data.server_id)).toBe(firstOrder)
      // what could not be prevented is visible: the inventory names the duplicate, not the server Cycle has
      expect(await ordersTagged(tenant.cycle.hub_id, server.cycleServerId)).toBe(2)
      const orders = (await h.openMetal('GET', '/v1/orders')).body as OrderResponse[]
      const report = inventoryReport({ orders, clouds: [], addresses: [], now: Date.now(), hubId: tenant.cycle.hub_id })
      expect(report.servers.map((row) => row.findings)).toEqual([['duplicate-order'], ['duplicate-order']])
      // and a later provision retry keeps answering with the same server
      const retried = await provision()
      expect(orderOf((retried.body.data as { server_id: string }).server_id)).toBe(firstOrder)
    } finally {
      await replica.close()
    }
  })

  test('an order of the organisation the adapter cannot read does not block provisioning; one tagged for this very server is never guessed at', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    // no is_active and no label: whether it is a server cannot be read
    const portalOrder = { id: 'PORTAL1', label: null, type: 'addon', fields: { items: [{ type: 'colocation' }] } }
    h.sim.faults.add({ method: 'GET', path: '/v1/orders', status: 200, body: [portalOrder], times: 2 })
    const before = h.ordersCreated()
    const bought = await provision()
    expect(bought.status).toBe(200)
    expect(h.ordersCreated() - before).toBe(1)

    const other = await unprovisioned(h)
    const tagged = { ...portalOrder, id: 'PORTAL2', label: `cycle:${other.tenant.cycle.hub_id}:${other.server.cycleServerId}` }
    h.sim.faults.add({ method: 'GET', path: '/v1/orders', status: 200, body: [tagged], times: Infinity })
    const refused = await other.provision()
    expect(refused.status).toBe(503)
    expect(refused.body.error).toMatchObject({ code: '503.not-ready', title: 'OpenMetal answered in a shape the adapter cannot use' })
    expect(refused.body.error?.detail).toMatch(/listOrders: in its answer, \/0\/is_active is missing/)
    expect(h.ordersCreated() - before).toBe(1)
    h.sim.faults.clear()
    expect(await ordersTagged(tenant.cycle.hub_id, server.cycleServerId)).toBe(1)
  })

  test('a 502 from POST /v1/orders is never blindly repeated', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', status: 502, times: Infinity })
    const before = h.ordersCreated()
    const answer = await provision()
    expect(answer.status).toBe(503)
    expect(h.ordersCreated() - before).toBe(1)
    expect(await ordersTagged(tenant.cycle.hub_id, server.cycleServerId)).toBe(0)
  })
})

describe('rate limits, outages and slowness', () => {
  test('429 with Retry-After on a safe call is waited out and retried', async () => {
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 429, retryAfter: 1, times: 1 })
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 429, retryAfter: 1, times: 1 })
    const started = performance.now()
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(900)
  })

  test('a persistent 429 reaches Cycle as 429.rate-limiting with Retry-After, not as a failed server', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 429, retryAfter: 0, times: Infinity })
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(429)
    expect(answer.body.error?.code).toBe('429.rate-limiting')
    expect(answer.headers['retry-after']).toBeDefined()
  })

  test('a hanging OpenMetal ends in 504.not-available within the deadline, and the adapter keeps serving', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', delayMs: 10_000, times: Infinity })
    const started = performance.now()
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(504)
    expect(answer.body.error?.code).toBe('504.not-available')
    expect(performance.now() - started).toBeLessThan(5_500)
    h.sim.faults.clear()
    await stillServing()
  })

  test('a hanging token exchange ends at the request deadline, not after all its attempts', async () => {
    // attempts of 1 s, three of them, would take over 3 s; the request has 1.5 s
    const tight = await startHarness({ env: { REQUEST_DEADLINE_MS: '1500', OPENMETAL_TIMEOUT_MS: '1000', OPENMETAL_MAX_ATTEMPTS: '3' } })
    try {
      tight.sim.faults.add({ method: 'GET', path: '/v1/oauth2/token', delayMs: 2500, times: Infinity })
      const tenant = tenantA()
      for (const call of [
        () => tight.call('POST', '/v1/auth/verify', { auth: tenant, request: null }),
        () => tight.call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, cycleServer('large_v4', 'pod_1'), serverIdCodec.encode({ orderId: 'ORDnone1', pod: 'pod_1' }), null))
      ]) {
        const started = performance.now()
        const answer = await call()
        expect(answer.status).toBe(504)
        expect(answer.body.error?.code).toBe('504.not-available')
        expect(performance.now() - started).toBeLessThan(2_300)
      }
    } finally {
      await tight.close()
    }
  })

  test('a create cut off by the request deadline is still looked for by its label before Cycle hears of it', async () => {
    const tight = await startHarness({ env: { REQUEST_DEADLINE_MS: '1500', OPENMETAL_TIMEOUT_MS: '3000' } })
    try {
      const tenant = tenantA()
      const { server, serverId } = await provisioned(tight, tenant)
      tight.sim.faults.add({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', delayMs: 2500, times: 1 })
      const from = tight.sim.state.requests.length
      const started = performance.now()
      const answer = await tight.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))
      // not found by its label: a retryable 503, never a second create in this request
      expect(answer.status).toBe(503)
      expect(answer.body.error?.code).toBe('503.not-ready')
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0)
      expect(performance.now() - started).toBeLessThan(1500 + RECOVERY_GRACE_MS + 500)
      const calls = tight.sim.state.requests.slice(from).map((entry) => `${entry.method} ${entry.path.replace(/\/[^/]+(\/ip)?$/, '/{id}$1')}`)
      // the POST, then the look for its label (the simulator did nothing for a client that left)
      const posted = calls.indexOf('POST /v1/deployment/network/prefixes/{id}/ip')
      expect(posted).toBeGreaterThanOrEqual(0)
      expect(calls.slice(posted + 1)).toContain('GET /v1/deployment/network/prefix/{id}')
      const retried = await tight.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))
      expect(retried.status).toBe(200)
    } finally {
      await tight.close()
    }
  })

  test('a token endpoint answering 404 is OpenMetal\'s trouble, never "the server is already gone"', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    // a fresh replica: no token cached, so every call starts with an exchange
    const replica = await h.replica()
    try {
      h.sim.faults.add({ method: 'GET', path: '/v1/oauth2/token', status: 404, times: Infinity })
      const decommission = await replica.inject({ method: 'POST', url: '/v1/infrastructure/server/decommission', payload: serverActionBody(tenant, server, serverId, extra) })
      expect(decommission.statusCode).toBe(503)
      expect(decommission.json<{ error: { code: string } }>().error.code).toBe('503.not-ready')
      const status = await replica.inject({ method: 'POST', url: '/v1/infrastructure/server/provision-status', payload: statusBody(tenant, server, serverId, extra) })
      expect(status.statusCode).toBe(503)
      h.sim.faults.clear()
      expect(((await h.openMetal('GET', `/v1/clouds/${String(extra.cloud_id)}`)).body as { fields: { pending_delete: boolean } }).fields.pending_delete).toBe(false)
    } finally {
      await replica.close()
    }
  })

  test('OpenMetal down during verify is 503, not valid:false', async () => {
    h.sim.faults.add({ method: 'GET', path: '/v1/oauth2/token', drop: 'before', times: Infinity })
    const answer = await h.call('POST', '/v1/auth/verify', { auth: { client_id: 'sim-client', secret: 'another-secret-to-skip-cache' }, request: null })
    expect(answer.status).toBe(503)
    expect(answer.body.data).toBeNull()
  })

  test('malformed JSON from OpenMetal is a retryable 503.not-ready saying so, never a crash', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', malformed: true, times: 1 })
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(503)
    expect(answer.body.error).toMatchObject({ code: '503.not-ready', title: 'OpenMetal answered in a shape the adapter cannot use', detail: 'OpenMetal getOrder: its answer is not JSON' })
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0)
    expect(JSON.stringify(answer.body)).not.toMatch(/Unexpected token|SyntaxError/)
    await stillServing()
  })
})

describe('tokens', () => {
  test('tokens expiring mid-session are dropped and the call retried once with a fresh token', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    const exchanges = h.sim.state.tokenExchanges
    h.sim.faults.expireTokens()
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(200)
    expect(h.sim.state.tokenExchanges).toBe(exchanges + 1)
  })

  test('one token exchange per credential, however many requests arrive at once', async () => {
    const fresh = await startHarness()
    const tenant = { ...tenantA(), client_id: 'sim-client', secret: 'sim-secret' }
    await Promise.all(Array.from({ length: 30 }, () => fresh.call('POST', '/v1/auth/verify', { auth: tenant, request: null })))
    const before = fresh.sim.state.tokenExchanges
    await Promise.all(Array.from({ length: 30 }, () => fresh.call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, cycleServer('x', 'pod_1'), 'om1.AAAAAAAA.pod_1'))))
    expect(fresh.sim.state.tokenExchanges - before).toBeLessThanOrEqual(1)
    await fresh.close()
  })
})

describe('locks and concurrency', () => {
  test('OpenMetal\'s 409 (node locked) is a retryable 503.not-ready with Retry-After and a detail saying when to retry', async () => {
    const tenant = tenantA()
    const { server, serverId, status } = await provisioned(h, tenant)
    h.sim.faults.lockNode(String((status.auth as { uuid: string }).uuid), 60_000)
    const answer = await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId))
    expect(answer.status).toBe(503)
    expect(answer.headers['retry-after']).toBe('120')
    expect(answer.body.error?.detail).toMatch(/retry in a few minutes/)
  })

  test('many concurrent polls for one server share upstream calls', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.setLatency(50)
    const before = h.sim.state.requests.length
    await Promise.all(Array.from({ length: 20 }, () => h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))))
    h.sim.faults.setLatency(0)
    // order, cloud and stats: shared by all twenty polls, not sixty calls
    expect(h.sim.state.requests.length - before).toBeLessThanOrEqual(6)
  })

  test('a lost answer of an IP creation is found again by its label: one address, handed to Cycle', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    const labelled = async (): Promise<string[]> => {
      const prefixes = (await h.openMetal('GET', '/v1/prefixes')).body as Array<{ id: string, fields: { cloud_id: string } }>
      const mine = prefixes.filter((prefix) => prefix.fields.cloud_id === extra.cloud_id)
      const details = await Promise.all(mine.map(async (prefix) => (await h.openMetal('GET', `/v1/deployment/network/prefix/${prefix.id}`)).body as { ip_addrs: Array<{ ip: string, label: string }> }))
      return details.flatMap((detail) => detail.ip_addrs.filter((ip) => ip.label.startsWith(`cycle:${tenant.cycle.hub_id}:`)).map((ip) => ip.ip))
    }
    h.sim.faults.add({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', drop: 'after', times: 1 })
    const answer = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))
    expect(answer.status).toBe(200)
    const addresses = await labelled()
    expect(addresses).toHaveLength(1)
    expect((answer.body.data as { cidr: string }).cidr).toBe(`${addresses[0]}/28`)
  })
})
