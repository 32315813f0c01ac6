/**
 * Writes that may have acted. A create whose answer is lost, unreadable or refused is
 * looked for by its label before Cycle hears anything; what is found is the answer, and an
 * address Cycle was never given does not stay behind. IP blocks are chosen by the room
 * their own address lists show, and every block of the cloud is tried.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Answer, type Harness } from '../helpers/harness.ts'
import { provisioned, unprovisioned } from '../helpers/lifecycle.ts'
import { allocateBody, provisionBody, type AllocatedIp, type CycleServer, type Tenant } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { ipIdCodec } from '../../src/mapping/identifiers.ts'

const CREATE_IP = /^\/v1\/deployment\/network\/prefixes\/[^/]+\/ip$/

let h: Harness
beforeAll(async () => {
  // the clean-up of an unsettled address looks again after 50 and 150 ms instead of seconds
  h = await startHarness({ deps: { writeOptions: { cleanupDelaysMs: [50, 150, 300] } } })
})
afterAll(async () => { await h.close() })
afterEach(() => {
  h.sim.faults.clear()
  h.sim.faults.setAnswerHook(undefined)
})

function taggedAddresses (hubId: string): string[] {
  return [...h.sim.state.prefixes.values()].flatMap((prefix) => [...prefix.addresses.values()].filter((address) => address.label.startsWith(`cycle:${hubId}:`)).map((address) => address.label))
}

function posts (from: number): string[] {
  return h.sim.state.requests.slice(from).filter((entry) => entry.method === 'POST' && CREATE_IP.test(entry.path)).map((entry) => entry.path)
}

async function server (): Promise<{ tenant: Tenant, server: CycleServer, serverId: string, cloudId: string, allocate: () => Promise<Answer> }> {
  const tenant = tenantA()
  const ready = await provisioned(h, tenant)
  return {
    tenant,
    server: ready.server,
    serverId: ready.serverId,
    cloudId: String(ready.extra.cloud_id),
    allocate: () => h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, ready.server, ready.serverId))
  }
}

async function until (condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('an address whose create may have acted', () => {
  test('an unreadable create answer (the address was made) is found by its label and handed to Cycle: one address', async () => {
    const { tenant, allocate } = await server()
    h.sim.faults.add({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', malformed: true, times: 1 })
    const from = h.sim.state.requests.length
    const answer = await allocate()
    expect(answer.status).toBe(200)
    expect(posts(from)).toHaveLength(1)
    expect(taggedAddresses(tenant.cycle.hub_id)).toHaveLength(1)
    expect(ipIdCodec.decode((answer.body.data as AllocatedIp).ip_id)).toBeDefined()
  })

  test('a lost answer whose look fails too: 503 with Retry-After, and the address Cycle never got is deleted soon after', async () => {
    const { tenant, allocate } = await server()
    h.sim.faults.add({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', drop: 'after', times: 1 })
    // once the create has acted, the look for it (and its retries) fails; the clean-up's later looks succeed
    let created = false
    let failedLooks = 0
    h.sim.faults.setAnswerHook((answer, request) => {
      if (request.method === 'POST' && CREATE_IP.test(request.path)) created = true
      const look = request.method === 'GET' && request.path.startsWith('/v1/deployment/network/prefix/')
      if (!created || !look || failedLooks >= 3) return answer
      failedLooks++
      return { status: 503, body: { message: 'try later' }, headers: { 'content-type': 'application/json' } }
    })
    const answer = await allocate()
    expect(answer.status).toBe(503)
    expect(answer.body.error?.code).toBe('503.not-ready')
    expect(answer.body.error?.detail).toMatch(/createIpAddress may have been carried out/)
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0)
    expect(taggedAddresses(tenant.cycle.hub_id)).toHaveLength(1)
    await until(() => taggedAddresses(tenant.cycle.hub_id).length === 0)
    // Cycle's retry gets one address, and only that one exists
    expect((await allocate()).status).toBe(200)
    expect(taggedAddresses(tenant.cycle.hub_id)).toHaveLength(1)
  })

  test('a refused create (400 "already exists or prefix exhausted") moves on to the next block of the cloud', async () => {
    const { tenant, cloudId, allocate } = await server()
    const blocks = [...h.sim.state.prefixes.values()].filter((prefix) => prefix.cloudId === cloudId).map((prefix) => prefix.id)
    expect(blocks).toHaveLength(2)
    h.sim.faults.add({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', status: 400, body: { message: 'IP already exists or prefix exhausted' }, times: 1 })
    const from = h.sim.state.requests.length
    const answer = await allocate()
    expect(answer.status).toBe(200)
    const [refused, used] = posts(from)
    expect(refused).not.toBe(used)
    expect(used).toContain(ipIdCodec.decode((answer.body.data as AllocatedIp).ip_id)?.prefixId)
    expect(taggedAddresses(tenant.cycle.hub_id)).toHaveLength(1)
  })

  test('every block refusing: OpenMetal\'s reason, not "no address left", and nothing behind', async () => {
    const { tenant, allocate } = await server()
    h.sim.faults.add({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', status: 400, body: { message: 'IP address management is paused for maintenance' }, times: 2 })
    const answer = await allocate()
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.invalid-argument', title: 'OpenMetal refused the request' })
    expect(answer.body.error?.detail).toContain('IP address management is paused for maintenance')
    expect(taggedAddresses(tenant.cycle.hub_id)).toEqual([])
  })
})

describe('room is read from the blocks, not guessed from errors', () => {
  test('a full block is not asked at all; the cloud\'s other block serves', async () => {
    const { tenant, cloudId, allocate } = await server()
    const [full, other] = [...h.sim.state.prefixes.values()].filter((prefix) => prefix.cloudId === cloudId)
    if (full === undefined || other === undefined) throw new Error('the cloud has two blocks')
    // fill the first block to its eleven usable addresses (the node's own may already hold one)
    while (full.addresses.size < 11) expect((await h.openMetal('POST', `/v1/deployment/network/prefixes/${full.id}/ip`, { label: 'someone else' })).status).toBe(200)
    const from = h.sim.state.requests.length
    const answer = await allocate()
    expect(answer.status).toBe(200)
    expect(posts(from)).toEqual([`/v1/deployment/network/prefixes/${other.id}/ip`])
    expect(ipIdCodec.decode((answer.body.data as AllocatedIp).ip_id)?.prefixId).toBe(other.id)
    expect(taggedAddresses(tenant.cycle.hub_id)).toHaveLength(1)
  })

  test('both blocks full: 422.not-compatible, no create sent', async () => {
    const { cloudId, allocate } = await server()
    for (const prefix of [...h.sim.state.prefixes.values()].filter((candidate) => candidate.cloudId === cloudId)) {
      while (prefix.addresses.size < 11) expect((await h.openMetal('POST', `/v1/deployment/network/prefixes/${prefix.id}/ip`, { label: 'someone else' })).status).toBe(200)
    }
    const from = h.sim.state.requests.length
    const answer = await allocate()
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.not-compatible' })
    expect(answer.body.error?.detail).toMatch(/no free IPv4 address is left in the 2 routed block/)
    expect(posts(from)).toEqual([])
  })
})

describe('an order whose create may have acted', () => {
  test('an unreadable create answer (the order was bought) is found by its label: one order, and Cycle gets its server_id', async () => {
    const { provision } = await unprovisioned(h)
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', malformed: true, times: 1 })
    const before = h.ordersCreated()
    const answer = await provision()
    expect(answer.status).toBe(200)
    expect(h.ordersCreated() - before).toBe(1)
    expect((await provision()).status).toBe(200)
    expect(h.ordersCreated() - before).toBe(1)
  })

  test('a deployment configuration OpenMetal does not have is refused before buying, naming the setting it came from', async () => {
    const tenant = { ...tenantA(), config: Buffer.from(JSON.stringify({ deployment_configuration: 'cfgMissing1' })).toString('base64') }
    const { server: cycle } = await unprovisioned(h)
    const before = h.ordersCreated()
    const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, cycle))
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.invalid-argument', source: '/auth/config' })
    expect(answer.body.error?.detail).toMatch(/no deployment configuration "cfgMissing1" \(set in auth\.config\.deployment_configuration\)/)
    expect(h.ordersCreated()).toBe(before)
    // verify says so too, before any server is ordered
    const verify = await h.call('POST', '/v1/auth/verify', { auth: tenant, request: null })
    expect(verify.status).toBe(422)
    expect(verify.body.error?.detail).toMatch(/cfgMissing1/)
  })

  test('the operator\'s configuration is checked before the first purchase, then once a minute, not on every provision', async () => {
    // a replica of its own: nothing is cached yet
    const fresh = await startHarness()
    try {
      const looks = () => fresh.sim.state.requests.filter((entry) => entry.method === 'GET' && entry.path === `/v1/configurations/${fresh.deploymentConfiguration}`).length
      for (let n = 0; n < 3; n++) expect((await (await unprovisioned(fresh)).provision()).status).toBe(200)
      expect(looks()).toBe(1)
      expect(fresh.ordersCreated()).toBe(3)
    } finally {
      await fresh.close()
    }
  })
})
