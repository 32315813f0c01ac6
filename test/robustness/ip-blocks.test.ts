/**
 * IP blocks bought when a server's own are full: only when allowed, exactly one per need
 * (lost answers, overlapping allocations, two replicas), never more than the cap, on the
 * cloud's Provider VLAN, and given back when empty or when the server goes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Answer, type Harness } from '../helpers/harness.ts'
import { provisioned } from '../helpers/lifecycle.ts'
import { allocateBody, releaseBody, serverActionBody, type AllocatedIp, type Tenant } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { ipIdCodec } from '../../src/mapping/identifiers.ts'
import { collectInventory } from '../../src/cli/inventory.ts'

let h: Harness
beforeAll(async () => { h = await startHarness({ env: { OPENMETAL_IP_BLOCK_PURCHASE: 'true', OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '2' } }) })
afterAll(async () => { await h.close() })
afterEach(() => {
  h.sim.faults.clear()
  h.sim.faults.setAnswerHook(undefined)
})

const hubConfig = (settings: Record<string, unknown>): string => Buffer.from(JSON.stringify(settings)).toString('base64')

/** A provisioned server whose cloud's own two blocks are full (taken by someone else's addresses). */
async function fullServer (harness: Harness = h, tenant: Tenant = tenantA()) {
  const ready = await provisioned(harness, tenant)
  const cloudId = String(ready.extra.cloud_id)
  for (const prefix of [...harness.sim.state.prefixes.values()].filter((candidate) => candidate.cloudId === cloudId)) {
    while (prefix.addresses.size < 11) expect((await harness.openMetal('POST', `/v1/deployment/network/prefixes/${prefix.id}/ip`, { label: 'someone else' })).status).toBe(200)
  }
  const body = (poolId: string | null = null) => allocateBody(tenant, ready.server, ready.serverId, 'ipv4', poolId)
  return {
    ...ready,
    tenant,
    cloudId,
    allocate: (): Promise<Answer> => harness.call('POST', '/v1/infrastructure/ip/allocate', body()),
    body,
    bought: () => [...harness.sim.state.prefixes.values()].filter((prefix) => prefix.cloudId === cloudId && prefix.purchased)
  }
}

function counters (harness: Harness = h): { bought: number, deleted: number } {
  const all = harness.sim.state.counters()
  return { bought: all.prefixesBought ?? 0, deleted: all.prefixesDeleted ?? 0 }
}

describe('buying an IP block when the server\'s are full', () => {
  test('one routed /28 on the cloud\'s Provider VLAN, labelled for the server; the next allocation uses it without buying again', async () => {
    const server = await fullServer()
    const before = counters()
    const first = await server.allocate()
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    const [block] = server.bought()
    expect(server.bought()).toHaveLength(1)
    expect(block?.label).toBe(`cycle:${server.tenant.cycle.hub_id}:${server.server.cycleServerId}:block:1`)
    expect(block?.vlan?.usage).toBe('provider')
    expect(ipIdCodec.decode((first.body.data as AllocatedIp).ip_id)?.prefixId).toBe(block?.id)
    expect((await server.allocate()).status).toBe(200)
    expect(counters().bought - before.bought).toBe(1)
  })

  test('without the opt-in (environment off, or the hub saying no): 422.not-compatible and nothing bought', async () => {
    const off = await startHarness()
    try {
      const server = await fullServer(off)
      const answer = await server.allocate()
      expect(answer.status).toBe(422)
      expect(answer.body.error).toMatchObject({ code: '422.not-compatible' })
      expect(answer.body.error?.detail).toMatch(/OPENMETAL_IP_BLOCK_PURCHASE/)
      expect(counters(off).bought).toBe(0)
      // the hub may turn it on for itself
      const allowed = await off.call('POST', '/v1/infrastructure/ip/allocate', { ...server.body(), auth: { ...server.tenant, config: hubConfig({ ip_block_purchase: true }) } })
      expect(allowed.status).toBe(200)
      expect(counters(off).bought).toBe(1)
    } finally {
      await off.close()
    }
    const server = await fullServer()
    const before = counters()
    const refused = await h.call('POST', '/v1/infrastructure/ip/allocate', { ...server.body(), auth: { ...server.tenant, config: hubConfig({ ip_block_purchase: false }) } })
    expect(refused.status).toBe(422)
    expect(counters().bought).toBe(before.bought)
  })

  test('a purchase whose answer is lost is found by its label: one block, and Cycle gets its address', async () => {
    const server = await fullServer()
    h.sim.faults.add({ method: 'POST', path: '/v1/prefixes', drop: 'after', times: 1 })
    const before = counters()
    const answer = await server.allocate()
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(counters().bought - before.bought).toBe(1)
    expect(server.bought()).toHaveLength(1)
  })

  test('overlapping allocations in one replica buy one block', async () => {
    const server = await fullServer()
    const before = counters()
    const answers = await Promise.all([server.allocate(), server.allocate(), server.allocate()])
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200])
    expect(counters().bought - before.bought).toBe(1)
  })

  test('two replicas needing a block at once end with one block standing (a duplicate is given back at once)', async () => {
    const server = await fullServer()
    const other = await h.replica()
    try {
      const answers = await Promise.all([server.allocate(), other.inject({ method: 'POST', url: '/v1/infrastructure/ip/allocate', payload: server.body() })])
      expect(answers[0].status).toBe(200)
      expect(answers[1].statusCode).toBe(200)
      expect(server.bought()).toHaveLength(1)
      const inBlock = [...server.bought()[0]?.addresses.values() ?? []].filter((address) => address.label.startsWith('cycle:'))
      expect(inBlock).toHaveLength(2)
    } finally {
      await other.close()
    }
  })

  test('at the cap: 422.not-compatible naming it, nothing more bought', async () => {
    const capped = await startHarness({ env: { OPENMETAL_IP_BLOCK_PURCHASE: 'true', OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '1' } })
    try {
      const server = await fullServer(capped)
      for (let n = 0; n < 11; n++) expect((await server.allocate()).status).toBe(200)
      const answer = await server.allocate()
      expect(answer.status).toBe(422)
      expect(answer.body.error?.detail).toMatch(/OPENMETAL_IP_BLOCKS_PER_SERVER_MAX=1/)
      expect(counters(capped).bought).toBe(1)
    } finally {
      await capped.close()
    }
  })

  test('no Provider VLAN for the cloud, or a VLAN list that may be incomplete: refused, nothing bought', async () => {
    const server = await fullServer()
    const before = counters()
    h.sim.faults.setAnswerHook((answer, request) => request.path === '/v1/vlans' && Array.isArray(answer.body)
      ? { ...answer, body: (answer.body as Array<{ label: string }>).filter((vlan) => !/provider/i.test(vlan.label)) }
      : answer)
    const noVlan = await server.allocate()
    expect(noVlan.status).toBe(422)
    expect(noVlan.body.error?.detail).toMatch(/no Provider VLAN/)
    h.sim.faults.setAnswerHook((answer, request) => request.path === '/v1/vlans' ? { ...answer, headers: { ...answer.headers, link: '<https://elsewhere.example/v1/vlans?page=2>; rel="next"' } } : answer)
    const incomplete = await server.allocate()
    expect(incomplete.status).toBe(503)
    expect(incomplete.body.error?.detail).toMatch(/another origin/)
    expect(counters().bought).toBe(before.bought)
  })
})

describe('giving bought blocks back', () => {
  test('releasing the last address of a bought block takes it off its VLAN and deletes it; the cloud\'s own blocks stay', async () => {
    const server = await fullServer()
    const ip = (await server.allocate()).body.data as AllocatedIp
    const before = counters()
    const released = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(server.tenant, server.server, server.serverId, ip))
    expect(released.body).toEqual({ data: true })
    expect(counters().deleted - before.deleted).toBe(1)
    expect(server.bought()).toEqual([])
    expect([...h.sim.state.prefixes.values()].filter((prefix) => prefix.cloudId === server.cloudId)).toHaveLength(2)
  })

  test('decommission deletes the server\'s bought blocks (addresses first), then the cloud', async () => {
    const server = await fullServer()
    expect((await server.allocate()).status).toBe(200)
    expect(server.bought()).toHaveLength(1)
    const answer = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(server.tenant, server.server, server.serverId, server.extra))
    expect(answer.body).toEqual({ data: true })
    expect(server.bought()).toEqual([])
    expect(h.sim.state.clouds.get(server.cloudId)?.pendingDelete).toBe(true)
  })

  test('a block OpenMetal will not take off its VLAN (a system VLAN) does not hold the decommission up: the cloud goes, the block is left for ial-inventory', async () => {
    const server = await fullServer()
    expect((await server.allocate()).status).toBe(200)
    h.sim.faults.add({ method: 'DELETE', path: '/v1/vlans/*/prefixes/*', status: 400, body: { message: 'System generated VLANs require support agent access' }, times: Infinity })
    const answer = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(server.tenant, server.server, server.serverId, server.extra))
    expect(answer.body).toEqual({ data: true })
    expect(h.sim.state.clouds.get(server.cloudId)?.pendingDelete).toBe(true)
    expect(server.bought()).toHaveLength(1)
    h.sim.faults.clear()
    const report = await collectInventory(h.sim.url, { kind: 'api-key', apiKey: 'sim-api-key' }, server.tenant.cycle.hub_id)
    expect(report.blocks.find((row) => row.prefixId === server.bought()[0]?.id)?.findings).toEqual(['orphaned-block'])
  })

  test('ial-inventory lists bought blocks and flags an empty one', async () => {
    const server = await fullServer()
    expect((await server.allocate()).status).toBe(200)
    const [block] = server.bought()
    // empty it behind the adapter's back: it still bills
    for (const address of [...block?.addresses.values() ?? []]) await h.openMetal('DELETE', `/v1/deployment/network/prefixes/${block?.id ?? ''}/ip/${address.id}`)
    const report = await collectInventory(h.sim.url, { kind: 'api-key', apiKey: 'sim-api-key' }, server.tenant.cycle.hub_id)
    expect(report.blocks).toEqual([expect.objectContaining({ prefixId: block?.id, cycleServerId: server.server.cycleServerId, inUse: 0, findings: ['empty-block'] })])
  })
})

describe('a bought block whose address list cannot be read', () => {
  test('decommission is not-ready rather than leave this server\'s address allocated; the retry gives the block back', async () => {
    const server = await fullServer()
    expect((await server.allocate()).status).toBe(200)
    expect(server.bought()).toHaveLength(1)
    // every entry of a block's address list unreadable (its `ip` named otherwise)
    h.sim.faults.setAnswerHook((answer, incoming) => {
      if (!incoming.path.startsWith('/v1/deployment/network/prefix/') || answer.status !== 200) return answer
      const body = answer.body as { ip_addrs?: Array<Record<string, unknown>> }
      return { ...answer, body: { ...body, ip_addrs: body.ip_addrs?.map(({ ip, ...rest }) => ({ ...rest, address: ip })) } }
    })
    const decommission = (): Promise<Answer> => h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(server.tenant, server.server, server.serverId))
    const refused = await decommission()
    expect([refused.status, refused.body.error?.code]).toEqual([503, '503.not-ready'])
    expect(server.bought()).toHaveLength(1)
    h.sim.faults.setAnswerHook(undefined)
    expect((await decommission()).body).toEqual({ data: true })
    expect(server.bought()).toHaveLength(0)
  })
})
