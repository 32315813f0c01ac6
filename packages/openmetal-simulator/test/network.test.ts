import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Value } from 'typebox/value'
import { IpAddress, PrefixDetailed, PrefixResource, type CloudStats } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { API_KEY_B, call, deployedCloud } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator({ provisioningStepMs: 20 }) })
afterAll(async () => { await sim.close() })

async function prefixesOf (cloudId: string): Promise<PrefixResource[]> {
  const all = (await call(sim, 'GET', '/v1/prefixes')).body as PrefixResource[]
  return all.filter((prefix) => prefix.fields.cloud_id === cloudId)
}

function toNumber (ip: string): number {
  return ip.split('.').reduce((value, part) => value * 256 + Number(part), 0)
}

describe('routed prefixes', () => {
  test('every cloud gets an inventory and a provider /28 of its own, from documentation ranges first', async () => {
    const first = await deployedCloud(sim)
    const second = await deployedCloud(sim)
    const blocks = [...await prefixesOf(first.cloudId), ...await prefixesOf(second.cloudId)]
    expect(blocks).toHaveLength(4)
    for (const prefix of blocks) {
      expect(Value.Check(PrefixResource, prefix)).toBe(true)
      expect(prefix.fields).toMatchObject({ pod_location: 'pod_1', prefix_type: 'routed', length: 28, managed_addressing: 'off', product_addon: 'ipv4_block_28', created_from: 'central', vlan_id: expect.any(Number) })
      expect(prefix.fields.cidr).toMatch(/^(203\.0\.113|198\.51\.100|192\.0\.2)\.\d+\/28$/)
      expect(toNumber(prefix.fields.cidr?.split('/')[0] ?? '') % 16).toBe(0)
      expect(Value.Check(PrefixResource, (await call(sim, 'GET', `/v1/prefixes/${prefix.id}`)).body)).toBe(true)
    }
    expect(new Set(blocks.map((prefix) => prefix.fields.cidr)).size).toBe(4)
    const detail = (await call(sim, 'GET', `/v1/deployment/network/prefix/${blocks[0]?.id ?? ''}`)).body as PrefixDetailed
    expect(Value.Check(PrefixDetailed, detail)).toBe(true)
    expect(detail).toMatchObject({ prefix_type: 'routed', usage: 'inventory', status: 'ROUTED', cidr: blocks[0]?.fields.cidr })
    expect(detail.ip_addrs).toHaveLength(1)
  })

  test('a /28 gives 11 addresses: network, gateway, two switches and broadcast are never handed out; the node holds one; then 409', async () => {
    const { cloudId } = await deployedCloud(sim)
    const [inventory] = await prefixesOf(cloudId)
    const network = toNumber(inventory?.fields.cidr?.split('/')[0] ?? '')
    const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
    const taken = [toNumber(stats.nodes?.[0]?.ipaddress ?? '')]
    const before = sim.state.ipsCreated
    const replies = []
    for (let index = 0; index < 11; index++) replies.push(await call(sim, 'POST', `/v1/deployment/network/prefixes/${inventory?.id ?? ''}/ip`, index === 0 ? undefined : { label: `cycle-${index}` }))
    expect(replies.slice(0, 10).map((reply) => reply.status)).toEqual(Array(10).fill(200))
    for (const reply of replies.slice(0, 10)) {
      expect(Value.Check(IpAddress, reply.body)).toBe(true)
      expect(Number.isInteger((reply.body as IpAddress).id)).toBe(true)
      taken.push(toNumber((reply.body as IpAddress).ip ?? ''))
    }
    expect(replies[10]?.status).toBe(409)
    expect(sim.state.ipsCreated).toBe(before + 10)
    expect(taken.map((ip) => ip - network).sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    const detail = (await call(sim, 'GET', `/v1/deployment/network/prefix/${inventory?.id ?? ''}`)).body as PrefixDetailed
    expect(detail.ip_addrs?.map((address) => address.label)).toContain('cycle-3')
  })

  test('an explicit address must be usable, inside the block and free', async () => {
    const { cloudId } = await deployedCloud(sim)
    const [, provider] = await prefixesOf(cloudId)
    const path = `/v1/deployment/network/prefixes/${provider?.id ?? ''}/ip`
    const base = toNumber(provider?.fields.cidr?.split('/')[0] ?? '')
    const ip = (offset: number): string => [24, 16, 8, 0].map((shift) => Math.floor((base + offset) / 2 ** shift) % 256).join('.')
    for (const offset of [0, 1, 2, 3, 15, 16, -1]) expect((await call(sim, 'POST', path, { ip: ip(offset) })).status).toBe(400)
    expect((await call(sim, 'POST', path, { ip: 'not-an-ip' })).status).toBe(400)
    expect((await call(sim, 'POST', path, { ip: ip(9), label: 'chosen', assigned_host: 'node-x' })).body).toMatchObject({ ip: ip(9), label: 'chosen', assigned_host: 'node-x' })
    expect((await call(sim, 'POST', path, { ip: ip(9) })).status).toBe(400)
    expect((await call(sim, 'POST', path, { label: 7 })).status).toBe(400)
  })

  test('PATCH relabels and reassigns; DELETE releases; the node\'s main IP can be relabelled but not moved or deleted', async () => {
    const { cloudId } = await deployedCloud(sim)
    const [inventory] = await prefixesOf(cloudId)
    const base = `/v1/deployment/network/prefixes/${inventory?.id ?? ''}/ip`
    const created = (await call(sim, 'POST', base, { label: 'a' })).body as IpAddress
    const patched = await call(sim, 'PATCH', `${base}/${created.id ?? 0}`, { label: 'b', assigned_host: 'host-1' })
    expect(patched.body).toMatchObject({ id: created.id, ip: created.ip, label: 'b', assigned_host: 'host-1' })
    expect((await call(sim, 'PATCH', `${base}/${created.id ?? 0}`, { assigned_host: '' })).body).toMatchObject({ assigned_host: '' })

    const deletedBefore = sim.state.ipsDeleted
    expect((await call(sim, 'DELETE', `${base}/${created.id ?? 0}`)).status).toBe(200)
    expect(sim.state.ipsDeleted).toBe(deletedBefore + 1)
    expect((await call(sim, 'DELETE', `${base}/${created.id ?? 0}`)).status).toBe(404)
    expect((await call(sim, 'PATCH', `${base}/${created.id ?? 0}`, { label: 'x' })).status).toBe(404)
    expect((await call(sim, 'DELETE', `${base}/not-a-number`)).status).toBe(404)

    const detail = (await call(sim, 'GET', `/v1/deployment/network/prefix/${inventory?.id ?? ''}`)).body as PrefixDetailed
    const primary = detail.ip_addrs?.[0]
    expect((await call(sim, 'DELETE', `${base}/${primary?.id ?? 0}`)).status).toBe(400)
    expect((await call(sim, 'PATCH', `${base}/${primary?.id ?? 0}`, { assigned_host: 'elsewhere' })).status).toBe(400)
    expect((await call(sim, 'PATCH', `${base}/${primary?.id ?? 0}`, { label: 'main' })).status).toBe(200)
    expect((await call(sim, 'DELETE', '/v1/deployment/network/prefixes/nope/ip/1')).status).toBe(404)
  })

  test('buying a routed /28 is validated, counted as billable, and the block can join a VLAN of the cloud', async () => {
    const { cloudId } = await deployedCloud(sim)
    const buy = (fields: Record<string, unknown>, authorization?: string) => call(sim, 'POST', '/v1/prefixes', { label: 'more', fields: { pod_location: 'pod_1', prefix_type: 'routed', product_addon: 'ipv4_block_28', cloud_id: cloudId, ...fields } }, authorization)
    const before = sim.state.prefixesBought
    for (const wrong of [{ product_addon: undefined }, { cloud_id: undefined }, { cloud_id: 'nope' }, { pod_location: 'pod_2' }, { product_addon: 'ipv4_block_8' }, { prefix_type: 'private' }, { cidr: '10.0.0.0/28' }, { central_vlan_id: 'nope' }, { prefix_type: 'wide' }]) {
      expect((await buy(wrong)).status).toBe(400)
    }
    expect((await buy({}, API_KEY_B)).status).toBe(400)
    expect(sim.state.prefixesBought).toBe(before)

    const bought = await buy({})
    expect(bought.status).toBe(200)
    expect(Value.Check(PrefixResource, bought.body)).toBe(true)
    expect(sim.state.prefixesBought).toBe(before + 1)
    const prefix = bought.body as PrefixResource
    expect(prefix.fields).toMatchObject({ cloud_id: cloudId, length: 28, alterable: true, created_from: 'user' })
    expect(prefix.fields.vlan_id).toBeUndefined()

    const [, provider] = await prefixesOf(cloudId)
    const vlan = provider?.fields.central_vlan_id ?? ''
    expect((await call(sim, 'POST', `/v1/vlans/${vlan}/prefixes/${prefix.id}`)).body).toEqual({ status: 'success' })
    expect((await call(sim, 'POST', `/v1/vlans/${vlan}/prefixes/${prefix.id}`)).status).toBe(400)
    const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
    expect(stats.vlans?.[1]?.prefixes?.map((block) => block.cidr)).toContain(prefix.fields.cidr)
    expect((await call(sim, 'POST', `/v1/deployment/network/prefixes/${prefix.id}/ip`, {})).status).toBe(200)
    expect((await call(sim, 'PATCH', `/v1/prefixes/${prefix.id}`, { label: 'renamed' })).body).toMatchObject({ label: 'renamed' })

    const withVlan = await buy({ central_vlan_id: vlan })
    expect((withVlan.body as PrefixResource).fields.central_vlan_id).toBe(vlan)
    expect(sim.state.prefixesBought).toBe(before + 2)
  })
})
