/**
 * A list with entries the adapter could not read proves nothing about absence. Wherever "not
 * there" leads to an answer or an action, an unreadable entry that may be the one sought makes
 * it `503.not-ready` with Retry-After (a retry once OpenMetal answers readably), never "done"
 * for an address that stays allocated, nor "not found" for a block that is the server's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { allocateBody, releaseBody, type AllocatedIp } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { provisioned } from '../helpers/lifecycle.ts'
import { ipIdCodec } from '../../src/mapping/identifiers.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })
afterEach(() => { h.sim.faults.setAnswerHook(undefined) })

/** OpenMetal naming every address's `ip` field otherwise in a block's address list: no entry can be read. */
function addressesUnreadable (): void {
  h.sim.faults.setAnswerHook((answer, incoming) => {
    if (!incoming.path.startsWith('/v1/deployment/network/prefix/') || answer.status !== 200) return answer
    const body = answer.body as { ip_addrs?: Array<Record<string, unknown>> }
    return { ...answer, body: { ...body, ip_addrs: body.ip_addrs?.map(({ ip, ...rest }) => ({ ...rest, address: ip })) } }
  })
}

async function allocated (): Promise<{ tenant: ReturnType<typeof tenantA>, server: Awaited<ReturnType<typeof provisioned>>['server'], serverId: string, ip: AllocatedIp, addressId: number }> {
  const tenant = tenantA()
  const { server, serverId } = await provisioned(h, tenant)
  const answer = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))
  expect(answer.status).toBe(200)
  const ip = answer.body.data as AllocatedIp
  return { tenant, server, serverId, ip, addressId: ipIdCodec.decode(ip.ip_id)?.ipId ?? -1 }
}

function stillAllocated (addressId: number): boolean {
  return [...h.sim.state.prefixes.values()].some((prefix) => prefix.addresses.has(addressId))
}

describe('release', () => {
  test('the address\'s entry unreadable: not-ready, and the address is not taken for released', async () => {
    const { tenant, server, serverId, ip, addressId } = await allocated()
    addressesUnreadable()
    const refused = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))
    expect(refused.status).toBe(503)
    expect(refused.body.error?.code).toBe('503.not-ready')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    expect(stillAllocated(addressId)).toBe(true)
    // once OpenMetal answers readably, the retry releases it
    h.sim.faults.setAnswerHook(undefined)
    expect((await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))).body).toEqual({ data: true })
    expect(stillAllocated(addressId)).toBe(false)
  })

  test('the block\'s entry unreadable in the list of blocks: not-ready, not "not this server\'s block"', async () => {
    const { tenant, server, serverId, ip, addressId } = await allocated()
    const prefixId = ipIdCodec.decode(ip.ip_id)?.prefixId
    h.sim.faults.setAnswerHook((answer, incoming) => incoming.path === '/v1/prefixes' && Array.isArray(answer.body)
      ? { ...answer, body: (answer.body as Array<{ id: string }>).map((block) => block.id === prefixId ? { id: block.id, label: 'unreadable' } : block) }
      : answer)
    const refused = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))
    expect([refused.status, refused.body.error?.code]).toEqual([503, '503.not-ready'])
    expect(stillAllocated(addressId)).toBe(true)
  })

  test('an unreadable block of another cloud (no ID at all) holds nothing up: it cannot be the server\'s block', async () => {
    const { tenant, server, serverId, ip, addressId } = await allocated()
    h.sim.faults.setAnswerHook((answer, incoming) => incoming.path === '/v1/prefixes' && Array.isArray(answer.body)
      ? { ...answer, body: [...answer.body as unknown[], { label: 'elsewhere', fields: { cloud_id: 'another-cloud', cidr: null } }] }
      : answer)
    const released = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))
    expect(released.body).toEqual({ data: true })
    expect(stillAllocated(addressId)).toBe(false)
  })
})
