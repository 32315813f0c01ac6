/** The IP routes, allocate and release (src/ial/routes/ip.ts), against the simulator. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { objectId, startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { allocateBody, releaseBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { provisioned } from '../helpers/lifecycle.ts'
import { parseCidr, contains, parseIpv4, formatIpv4 } from '../../src/mapping/cidr.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

describe('IP addresses', () => {
  test('allocate hands out addresses of the server\'s routed blocks with derived gateway, netmask and network; release frees them', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    const answer = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))
    expect(answer.status).toBe(200)
    const ip = answer.body.data as { ip_id: string, ip_assignment_id: string, cidr: string, gateway: string, netmask: string, network: string, nat_private_ip: null }
    expect(ip.nat_private_ip).toBeNull()
    const block = parseCidr(ip.network)
    const address = parseIpv4(ip.cidr.split('/')[0] ?? '')
    expect(block).toBeDefined()
    expect(block !== undefined && address !== undefined && contains(block, address)).toBe(true)
    expect(ip.gateway).toBe(formatIpv4((block?.network ?? 0) + 1))
    expect(ip.netmask).toBe('255.255.255.240')
    const prefixes = (await h.openMetal('GET', '/v1/prefixes')).body as Array<{ fields: { cloud_id: string, cidr: string } }>
    expect(prefixes.filter((prefix) => prefix.fields.cloud_id === extra.cloud_id).map((prefix) => prefix.fields.cidr)).toContain(ip.network)

    const released = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))
    expect(released.body.data).toBe(true)
    const again = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))
    expect(again.body.data).toBe(true)
  })

  test('ipv6 is not offered by OpenMetal', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    const answer = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId, 'ipv6'))
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.not-compatible', source: '/request/kind' })
  })

  test('when the blocks are full it says so and buys nothing', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    const before = ((await h.openMetal('GET', '/v1/prefixes')).body as unknown[]).length
    let last
    for (let i = 0; i < 30; i++) {
      last = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))
      if (last.status !== 200) break
    }
    expect(last?.status).toBe(422)
    expect(last?.body.error?.detail).toMatch(/no free IPv4 address/)
    expect(((await h.openMetal('GET', '/v1/prefixes')).body as unknown[]).length).toBe(before)
  })

  test('a forged ip_id is refused and another hub cannot release', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    const forged = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, { ip_id: 'omip1.x/../y.1', ip_assignment_id: 'nope', cidr: '1.2.3.4/28' }))
    expect(forged.status).toBe(422)
    const ip = (await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId))).body.data as { ip_id: string, ip_assignment_id: string, cidr: string }
    const stranger = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody({ ...tenant, cycle: { hub_id: objectId(), hub_name: 'x' } }, server, serverId, ip))
    expect(stranger.status).toBe(404)
  })
})
