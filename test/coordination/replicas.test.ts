/**
 * Several replicas, one coordinator, Cycle retrying: each Cycle server is bought once. Real
 * adapter processes (`node src/server.ts`) against one simulator, with PGlite served over the
 * wire protocol as the coordinator; Cycle is played by a client that goes to the next replica
 * on 503 (after Retry-After) or a broken connection. An order takes 1.5 s: OpenMetal takes it
 * half-way through and confirms it at the end, so a look for it by its tag during the first
 * half finds nothing (the race the coordinator is for) and a replica that dies during the
 * second half leaves an order behind. Then one process with the in-process coordinator.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startSimulator, type Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { allocateBody, cycleServer, objectId, provisionBody, releaseBody, serverActionBody, statusBody, type AllocatedIp, type CycleServer, type Tenant } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import type { RunningServer } from '../ops/support.ts'
import { startPglite, type PgliteServer } from '../helpers/pglite.ts'
import { cycle, kill, openMetal, orderRef, ordersTagged, sleep, startAdapter, startOrderHoldingProxy, type Outcome, type Proxy, type SimOrder } from './replicas.ts'
import { SSH_PUBLIC_KEY } from '../helpers/fixtures.ts'

const SSH_KEY = SSH_PUBLIC_KEY
const LEASE_MS = 9000
/** how long OpenMetal takes to act on an order, and then to confirm it */
const ORDER_STEP_MS = 750
const PROVISION = '/v1/infrastructure/server/provision'

/** A simulator whose orders take 1.5 s (taken half-way), with a deployment configuration in each organisation. */
async function slowOrderSimulator (): Promise<{ sim: Simulator, configurationA: string, configurationB: string }> {
  const sim = await startSimulator({ provisioningStepMs: 50 })
  const configuration = async (apiKey: string): Promise<string> => {
    const created = await openMetal(sim.url, 'POST', '/v1/configurations', {
      label: 'CycleOS',
      fields: { image_ramdisk_kernel: 'https://images.example.com/cycleos/vmlinuz', image_ramdisk_ramdisk: 'https://images.example.com/cycleos/initramfs.img' }
    }, apiKey)
    return (created.body as { id: string }).id
  }
  const [configurationA, configurationB] = await Promise.all([configuration('sim-api-key'), configuration('sim-api-key-b')])
  sim.faults.add({ method: 'POST', path: '/v1/orders', delayMs: ORDER_STEP_MS, answerDelayMs: ORDER_STEP_MS, times: Infinity })
  return { sim, configurationA, configurationB }
}

function adapterEnv (sim: Simulator, configuration: string): Record<string, string> {
  return {
    OPENMETAL_API_URL: sim.url,
    OPENMETAL_DEPLOYMENT_CONFIGURATION: configuration,
    OPENMETAL_SSH_PUBLIC_KEY: SSH_KEY,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0',
    REQUEST_DEADLINE_MS: '4000',
    COORDINATION_LEASE_MS: String(LEASE_MS),
    OPENMETAL_IP_BLOCK_PURCHASE: 'true',
    OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '2'
  }
}

const tenantOf = (hubId: string, credentials: { api_key: string } | { client_id: string, secret: string } = { api_key: 'sim-api-key' }, config?: string): Tenant =>
  ({ ...credentials, ...(config === undefined ? {} : { config }), cycle: { hub_id: hubId, hub_name: 'hub' } })

const newServer = (): CycleServer => cycleServer('medium_v4', 'pod_1')

/** The organisation's orders carrying `tag`, once OpenMetal has taken one (before it confirms it). */
async function untilTaken (simUrl: string, tag: string, apiKey?: string): Promise<SimOrder[]> {
  for (let poll = 0; poll < 250; poll++) {
    const orders = await ordersTagged(simUrl, tag, apiKey)
    if (orders.length > 0) return orders
    await sleep(20)
  }
  throw new Error(`no order ${tag} was taken`)
}

/** What a Cycle call ended with, for an assertion message a human can read. */
const told = (outcome: Outcome): string => JSON.stringify({ last: outcome.answer?.body, attempts: outcome.attempts })

function answered (outcome: Outcome): { server_id: string, extra: Record<string, unknown> } {
  expect(outcome.answer?.status, told(outcome)).toBe(200)
  return outcome.answer?.body.data as { server_id: string, extra: Record<string, unknown> }
}

const started: RunningServer[] = []
const proxies: Proxy[] = []
const simulators: Simulator[] = []
let pglite: PgliteServer | undefined

afterAll(async () => {
  await Promise.allSettled(started.map(kill))
  await Promise.allSettled(proxies.map(async (proxy) => { await proxy.close() }))
  await Promise.allSettled(simulators.map(async (sim) => { await sim.close() }))
  await pglite?.close()
})

describe('three replicas coordinated through PostgreSQL (PGlite)', () => {
  let sim: Simulator
  let configurationB: string
  let env: Record<string, string>
  const replicas: RunningServer[] = []
  const urls = (): string[] => replicas.map((replica) => replica.url)
  const call = cycle(urls)

  beforeAll(async () => {
    const made = await slowOrderSimulator()
    sim = made.sim
    simulators.push(sim)
    configurationB = made.configurationB
    pglite = await startPglite()
    env = { ...adapterEnv(sim, made.configurationA), DATABASE_URL: pglite.url }
    await Promise.all([0, 1, 2].map(async (index) => {
      const replica = await startAdapter(env)
      started.push(replica)
      replicas[index] = replica
    }))
  }, 60_000)

  /** A provisioned server of a fresh hub (provision-status said so). */
  async function provisionedServer (): Promise<{ tenant: Tenant, server: CycleServer, serverId: string, extra: Record<string, unknown> }> {
    const tenant = tenantOf(objectId())
    const server = newServer()
    const { server_id: serverId } = answered(await call('POST', PROVISION, provisionBody(tenant, server)))
    for (let poll = 0; ; poll++) {
      const status = await call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId), poll)
      const data = answered(status) as unknown as { provisioned: boolean, extra: Record<string, unknown> }
      if (data.provisioned) return { tenant, server, serverId, extra: data.extra }
      if (poll > 100) throw new Error(`never provisioned: ${told(status)}`)
      await sleep(100)
    }
  }

  describe.concurrent('while the coordinator answers', () => {
    test('the same provision sent to every replica, for four Cycle servers at once: one order each, and every replica answers with it', async () => {
      const tenant = tenantOf(objectId())
      const servers = [newServer(), newServer(), newServer(), newServer()]
      const outcomes = await Promise.all(servers.map(async (server) => await Promise.all([0, 1, 2].map(async (first) => {
        await sleep(150 * first)
        return await call('POST', PROVISION, provisionBody(tenant, server), first)
      }))))
      for (const [index, server] of servers.entries()) {
        const orders = await ordersTagged(sim.url, `cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`)
        expect(orders.map((order) => order.id)).toHaveLength(1)
        const refs = (outcomes[index] ?? []).map((outcome) => orderRef(answered(outcome).server_id))
        expect(refs).toEqual([0, 1, 2].map(() => `om1.${orders[0]?.id ?? ''}.pod_1`))
      }
    })

    test('a replica killed while OpenMetal confirms its order: Cycle\'s retry on another replica answers with that order, and no other is bought', async () => {
      const victim = await startAdapter(env)
      started.push(victim)
      const tenant = tenantOf(objectId())
      const server = newServer()
      const tag = `cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`
      const sent = cycle(() => [victim.url, ...urls()], { budgetMs: 25_000 })('POST', PROVISION, provisionBody(tenant, server))
      // OpenMetal has taken the order and not confirmed it yet: the replica dies holding its lease
      await untilTaken(sim.url, tag)
      await kill(victim)
      const outcome = await sent

      const orders = await ordersTagged(sim.url, tag)
      expect(orders.map((order) => order.id)).toHaveLength(1)
      expect(outcome.attempts[0]?.status, told(outcome)).toBe('connection error')
      expect(orderRef(answered(outcome).server_id)).toBe(`om1.${orders[0]?.id ?? ''}.pod_1`)
      // the retry finds the order by its tag, without waiting for the dead replica's lease; any wait is bounded by the lease
      for (const attempt of outcome.attempts.filter((tried) => tried.status === 503)) expect(attempt.retryAfter).toBeLessThanOrEqual(LEASE_MS / 1000)
    }, 30_000)

    test('IP blocks for many allocations at once over three replicas: at most two bought, each address handed out once, and all given back', async () => {
      const { tenant, server, serverId, extra } = await provisionedServer()
      const cloudId = String(extra.cloud_id)
      // the cloud's own blocks are full (someone else's addresses), so every allocation needs a bought block
      for (const prefix of [...sim.state.prefixes.values()].filter((candidate) => candidate.cloudId === cloudId)) {
        while (prefix.addresses.size < 11) expect((await openMetal(sim.url, 'POST', `/v1/deployment/network/prefixes/${prefix.id}/ip`, { label: 'someone else' })).status).toBe(200)
      }
      // a purchase acts only after 0.5 s, so allocations on other replicas look for the block meanwhile and find none
      sim.faults.add({ method: 'POST', path: '/v1/prefixes', delayMs: 500, times: Infinity })
      const boughtBefore = sim.state.prefixesBought
      const blockLabel = new RegExp(`^cycle:${tenant.cycle.hub_id}:${server.cycleServerId}:block:\\d+$`)
      const bought = (): string[] => [...sim.state.prefixes.values()].filter((prefix) => blockLabel.test(prefix.label)).map((prefix) => prefix.id)

      const allocate = cycle(urls, { budgetMs: 30_000 })
      const outcomes = await Promise.all(Array.from({ length: 30 }, async (_unused, index) =>
        await allocate('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId), index % 3)))
      const successes = outcomes.filter((outcome) => outcome.answer?.status === 200).map((outcome) => outcome.answer?.body.data as AllocatedIp)
      const failures = outcomes.filter((outcome) => outcome.answer?.status !== 200)
      expect(bought()).toHaveLength(2)
      expect(sim.state.prefixesBought - boughtBefore).toBe(2)
      // two /28s of 11 usable addresses each
      expect(new Set(successes.map((ip) => ip.cidr)).size, failures.map(told).join('\n')).toBe(22)
      expect(successes).toHaveLength(22)
      expect(failures.map((outcome) => outcome.answer?.body.error?.code), failures.map(told).join('\n')).toEqual(Array.from({ length: 8 }, () => '422.not-compatible'))
      // a block others filled meanwhile means the next one, not a minute's wait: the only 503s are a purchase in progress
      const waits = outcomes.flatMap((outcome) => outcome.attempts.filter((attempt) => attempt.status === 503))
      expect(waits.filter((attempt) => attempt.detail?.startsWith('another call is buying') !== true), waits.map((attempt) => attempt.detail).join('\n')).toEqual([])
      for (const attempt of waits) expect(attempt.retryAfter).toBeLessThanOrEqual(LEASE_MS / 1000)

      const released = await Promise.all(successes.map(async (ip, index) =>
        await call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip), index % 3)))
      for (const outcome of released) expect(outcome.answer?.body, told(outcome)).toEqual({ data: true })
      expect(bought()).toEqual([])
    }, 40_000)

    test('decommission deletes the cloud of a duplicate order bought behind the adapter\'s back too', async () => {
      const tenant = tenantOf(objectId())
      const server = newServer()
      const tag = `cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`
      const { server_id: serverId, extra } = answered(await call('POST', PROVISION, provisionBody(tenant, server)))
      const [ours] = await ordersTagged(sim.url, tag)
      const duplicate = await openMetal(sim.url, 'POST', '/v1/orders', { label: tag, description: ours?.description, fields: { items: ours?.fields.items, config_options: ours?.fields.config_options } })
      expect(duplicate.status).toBe(200)
      let clouds: string[] = []
      for (let poll = 0; poll < 100 && clouds.length < 2; poll++) {
        await sleep(50)
        clouds = (await ordersTagged(sim.url, tag)).flatMap((order) => order.fields.clouds_deployed?.map((cloud) => cloud.id) ?? [])
      }
      expect(clouds).toHaveLength(2)

      const outcome = await call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra), 1)
      expect(outcome.answer?.body, told(outcome)).toEqual({ data: true })
      for (const cloudId of clouds) {
        const cloud = await openMetal(sim.url, 'GET', `/v1/clouds/${cloudId}`)
        expect(cloud.status === 404 || (cloud.body as { fields: { pending_delete: boolean } }).fields.pending_delete, `cloud ${cloudId}: ${JSON.stringify(cloud.body)}`).toBe(true)
      }
    })

    test('a lease held for one organisation does not hold up another organisation\'s provision of the same hub and Cycle server', async () => {
      const hubId = objectId()
      const server = newServer()
      const tag = `cycle:${hubId}:${server.cycleServerId}`
      const tenantA = tenantOf(hubId)
      const tenantB = tenantOf(hubId, { api_key: 'sim-api-key-b' }, Buffer.from(JSON.stringify({ deployment_configuration: configurationB })).toString('base64'))
      const a = call('POST', PROVISION, provisionBody(tenantA, server), 0)
      // A's order is taken, and A holds its lease until OpenMetal confirms it
      const ordersA = await untilTaken(sim.url, tag)
      const b = await call('POST', PROVISION, provisionBody(tenantB, server), 1)
      const outcomeA = await a

      const ordersB = await ordersTagged(sim.url, tag, 'sim-api-key-b')
      expect(ordersB).toHaveLength(1)
      expect(await ordersTagged(sim.url, tag)).toHaveLength(1)
      expect(b.attempts.map((attempt) => attempt.status), told(b)).toEqual([200])
      expect(orderRef(answered(b).server_id)).toBe(`om1.${ordersB[0]?.id ?? ''}.pod_1`)
      expect(orderRef(answered(outcomeA).server_id)).toBe(`om1.${ordersA[0]?.id ?? ''}.pod_1`)
      // waiting for A's lease would have put B's order a whole order (1.5 s) after A's
      expect(Date.parse(ordersB[0]?.created_at ?? '') - Date.parse(ordersA[0]?.created_at ?? '')).toBeLessThan(2 * ORDER_STEP_MS)
    })
  })

  test('a replica killed after taking the lease but before its order reached OpenMetal: Cycle gets 503 with Retry-After until the lease lapses, then one order', async () => {
    // the dying replica's order is held by its proxy and never reaches OpenMetal
    const proxy = await startOrderHoldingProxy(sim.url)
    proxies.push(proxy)
    const victim = await startAdapter({ ...env, OPENMETAL_API_URL: proxy.url })
    started.push(victim)
    const tenant = tenantOf(objectId())
    const server = newServer()
    const sent = cycle(() => [victim.url, ...urls()], { budgetMs: 30_000 })('POST', PROVISION, provisionBody(tenant, server))
    await proxy.orderHeld
    await kill(victim)
    const outcome = await sent

    const orders = await ordersTagged(sim.url, `cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`)
    expect(orders.map((order) => order.id)).toHaveLength(1)
    expect(orderRef(answered(outcome).server_id)).toBe(`om1.${orders[0]?.id ?? ''}.pod_1`)
    const waited = outcome.attempts.filter((attempt) => attempt.status === 503)
    expect(waited.length, told(outcome)).toBeGreaterThan(0)
    for (const attempt of waited) {
      expect(attempt.code).toBe('503.not-ready')
      expect(attempt.retryAfter).toBeGreaterThanOrEqual(1)
      expect(attempt.retryAfter).toBeLessThanOrEqual(LEASE_MS / 1000)
    }
  }, 40_000)

  test('the coordinator down: a new provision is refused and buys nothing, status still answers, /readyz says not ready; back up, the provision buys once', async () => {
    const existing = await provisionedServer()
    await pglite?.stop()
    try {
      const tenant = tenantOf(objectId())
      const server = newServer()
      const before = sim.state.ordersCreated
      const refused = await cycle(urls, { budgetMs: 0 })('POST', PROVISION, provisionBody(tenant, server))
      expect(refused.answer?.status, told(refused)).toBe(503)
      expect(refused.answer?.body.error?.code).toBe('503.not-ready')
      expect(sim.state.ordersCreated).toBe(before)

      const status = await cycle(urls, { budgetMs: 0 })('GET', '/v1/infrastructure/server/provision-status', statusBody(existing.tenant, existing.server, existing.serverId, existing.extra), 1)
      expect(status.answer?.status, told(status)).toBe(200)
      // readiness is looked at once per few seconds: wait for a fresh look
      let ready = 200
      for (let poll = 0; poll < 40 && ready !== 503; poll++) {
        const answer = await fetch(`${urls()[2] ?? ''}/readyz`)
        ready = answer.status
        await answer.body?.cancel()
        if (ready !== 503) await sleep(250)
      }
      expect(ready).toBe(503)

      await pglite?.start()
      const bought = await call('POST', PROVISION, provisionBody(tenant, server))
      const orders = await ordersTagged(sim.url, `cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`)
      expect(orders).toHaveLength(1)
      expect(orderRef(answered(bought).server_id)).toBe(`om1.${orders[0]?.id ?? ''}.pod_1`)
    } finally {
      await pglite?.start()
    }
  }, 40_000)
})

describe.concurrent('one replica with the in-process coordinator', () => {
  let sim: Simulator
  let solo: RunningServer
  const call = cycle(() => [solo.url])

  beforeAll(async () => {
    const made = await slowOrderSimulator()
    sim = made.sim
    simulators.push(sim)
    solo = await startAdapter({ ...adapterEnv(sim, made.configurationA), LOG_LEVEL: 'info' })
    started.push(solo)
  }, 60_000)

  /** The same provision of a new Cycle server sent as each tenant in turn, 150 ms apart: the answers' orders and the orders OpenMetal holds for it. */
  async function provisionedThrice (tenants: readonly [Tenant, Tenant, Tenant]): Promise<{ answeredWith: string[], orders: SimOrder[] }> {
    const server = newServer()
    const outcomes = await Promise.all(tenants.map(async (tenant, index) => {
      await sleep(150 * index)
      return await call('POST', PROVISION, provisionBody(tenant, server))
    }))
    return {
      answeredWith: outcomes.map((outcome) => orderRef(answered(outcome).server_id)),
      orders: await ordersTagged(sim.url, `cycle:${tenants[0].cycle.hub_id}:${server.cycleServerId}`)
    }
  }

  test('says at start that it coordinates in-process only', () => {
    const line = solo.output().split('\n').find((text) => text.includes('"coordination"'))
    expect(line).toContain('in-process — run one replica, or set DATABASE_URL')
  })

  test('the same provision three times, 150 ms apart: one order, each answer naming it', async () => {
    const tenant = tenantOf(objectId())
    const { answeredWith, orders } = await provisionedThrice([tenant, tenant, tenant])
    expect(orders).toHaveLength(1)
    expect(answeredWith).toEqual([0, 1, 2].map(() => `om1.${orders[0]?.id ?? ''}.pod_1`))
  })

  test('the same, one call with the organisation\'s OAuth client and the others with its API key: still one order', async () => {
    const hubId = objectId()
    const byKey = tenantOf(hubId)
    const { answeredWith, orders } = await provisionedThrice([byKey, tenantOf(hubId, { client_id: 'sim-client', secret: 'sim-secret' }), byKey])
    expect(orders).toHaveLength(1)
    expect(answeredWith).toEqual([0, 1, 2].map(() => `om1.${orders[0]?.id ?? ''}.pod_1`))
  })
})
