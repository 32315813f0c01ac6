/** VLANs, and the life of a bought IP block: bought, assigned to a VLAN, used, unassigned, deleted. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { request } from 'undici'
import { Value } from 'typebox/value'
import { IpAddress, PrefixResource, type CloudStats } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { VlanResource } from '../src/schemas.ts'
import { API_KEY_A, API_KEY_B, call, deployedCloud } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator({ provisioningStepMs: 20 }) })
afterEach(() => { sim.faults.setDrift([]) })
afterAll(async () => { await sim.close() })

async function vlans (authorization = API_KEY_A, query = ''): Promise<VlanResource[]> {
  const reply = await call(sim, 'GET', `/v1/vlans${query}`, undefined, authorization)
  expect(reply.status).toBe(200)
  return reply.body as VlanResource[]
}

/** The cloud's VLANs as the adapter finds them: the whole list, filtered on fields.cloud_id. */
async function vlansOf (cloudId: string, authorization = API_KEY_A): Promise<{ inventory: VlanResource, provider: VlanResource }> {
  const mine = (await vlans(authorization)).filter((vlan) => vlan.fields.cloud_id === cloudId)
  expect(mine.map((vlan) => vlan.label)).toEqual(['Inventory', 'Provider'])
  const [inventory, provider] = mine
  if (inventory === undefined || provider === undefined) throw new Error(`cloud ${cloudId} has no VLANs`)
  return { inventory, provider }
}

async function blocksOf (cloudId: string): Promise<PrefixResource[]> {
  return ((await call(sim, 'GET', '/v1/prefixes')).body as PrefixResource[]).filter((prefix) => prefix.fields.cloud_id === cloudId)
}

async function buy (cloudId: string, fields: Record<string, unknown> = {}, label = 'cycle block'): Promise<PrefixResource> {
  const reply = await call(sim, 'POST', '/v1/prefixes', { label, description: 'bought by a test', fields: { pod_location: 'pod_1', prefix_type: 'routed', product_addon: 'ipv4_block_28', cloud_id: cloudId, ...fields } })
  expect(reply.status).toBe(200)
  return reply.body as PrefixResource
}

const assign = (vlanId: string, prefixId: string, authorization?: string) => call(sim, 'POST', `/v1/vlans/${vlanId}/prefixes/${prefixId}`, undefined, authorization)
const unassign = (vlanId: string, prefixId: string, authorization?: string) => call(sim, 'DELETE', `/v1/vlans/${vlanId}/prefixes/${prefixId}`, undefined, authorization)
const remove = (prefixId: string, authorization?: string) => call(sim, 'DELETE', `/v1/prefixes/${prefixId}`, undefined, authorization)
const newIp = (prefixId: string, body: unknown = {}) => call(sim, 'POST', `/v1/deployment/network/prefixes/${prefixId}/ip`, body)

/** A refusal in the shape of the spec's paths files, inside the simulator's envelope. */
function validationFailure (message: RegExp): unknown {
  return { status: 400, error: 'Bad Request', message: expect.stringMatching(message), errors: [{ name: 'validation_failure', message: expect.stringMatching(message) }] }
}

async function cidrsOnVlans (cloudId: string): Promise<Array<string | undefined>> {
  const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
  return stats.vlans?.flatMap((vlan) => vlan.prefixes?.map((prefix) => prefix.cidr) ?? []) ?? []
}

describe('GET /v1/vlans', () => {
  test('each cloud has a routed Inventory and Provider VLAN, as the spec\'s VlanResource, matching its blocks and stats', async () => {
    const { cloudId } = await deployedCloud(sim)
    const { inventory, provider } = await vlansOf(cloudId)
    const [inventoryBlock, providerBlock] = await blocksOf(cloudId)
    const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
    for (const [vlan, block, statsVlan] of [[inventory, inventoryBlock, stats.vlans?.[0]], [provider, providerBlock, stats.vlans?.[1]]] as const) {
      expect(Value.Check(VlanResource, vlan)).toBe(true)
      expect(vlan).toMatchObject({ type: 'vlans', is_active: true, created_by: expect.any(String), created_at: expect.any(String), updated_at: expect.any(String) })
      expect(vlan.fields).toEqual({ created_from: 'central', pod_location: 'pod_1', vlan_id: expect.any(Number), vlan_uuid: expect.any(String), vlan_type: 'routed', alterable: false, cloud_id: cloudId })
      // one VLAN, three views: its Central ID, its 802.1Q number and UUID agree everywhere
      expect(block?.fields).toMatchObject({ central_vlan_id: vlan.id, vlan_id: vlan.fields.vlan_id, vlan_uuid: vlan.fields.vlan_uuid })
      expect(statsVlan).toMatchObject({ id: vlan.fields.vlan_id, uuid: vlan.fields.vlan_uuid, label: vlan.label, vlan_type: 'routed' })
      expect((await call(sim, 'GET', `/v1/vlans/${vlan.id}`)).body).toEqual(vlan)
    }
    expect(inventory.fields.vlan_id).not.toBe(provider.fields.vlan_id)
  })

  test('per organisation: another organisation\'s VLANs are not listed and answer 404; unknown is 404', async () => {
    const mine = await deployedCloud(sim)
    const theirs = await deployedCloud(sim, API_KEY_B)
    const { provider } = await vlansOf(mine.cloudId)
    const { provider: theirProvider } = await vlansOf(theirs.cloudId, API_KEY_B)
    expect((await vlans()).some((vlan) => vlan.fields.cloud_id === theirs.cloudId)).toBe(false)
    expect((await vlans(API_KEY_B)).some((vlan) => vlan.fields.cloud_id === mine.cloudId)).toBe(false)
    expect((await call(sim, 'GET', `/v1/vlans/${provider.id}`, undefined, API_KEY_B)).status).toBe(404)
    expect((await call(sim, 'GET', `/v1/vlans/${theirProvider.id}`)).status).toBe(404)
    expect((await call(sim, 'GET', '/v1/vlans/nope')).body).toMatchObject({ status: 404, message: 'VLAN nope not found' })
    expect((await call(sim, 'GET', '/v1/vlans', undefined, null)).status).toBe(401)
  })

  test('the spec documents no filter: a cloud_id query is ignored like any unknown parameter, so callers filter on fields.cloud_id', async () => {
    const { cloudId } = await deployedCloud(sim)
    const all = await vlans()
    expect(new Set(all.map((vlan) => vlan.fields.cloud_id)).size).toBeGreaterThan(1)
    expect(await vlans(API_KEY_A, `?cloud_id=${cloudId}`)).toEqual(all)
    expect(all.filter((vlan) => vlan.fields.cloud_id === cloudId)).toHaveLength(2)
  })

  test('a cloud pending delete keeps its VLANs listed', async () => {
    const { cloudId } = await deployedCloud(sim)
    expect((await call(sim, 'DELETE', `/v1/clouds/${cloudId}`)).status).toBe(200)
    await vlansOf(cloudId)
  })
})

describe('the VLAN list under drift', () => {
  async function pageOf (url: string): Promise<{ body: unknown, link: string | undefined }> {
    const response = await request(url, { headers: { authorization: API_KEY_A } })
    expect(response.statusCode).toBe(200)
    const link = response.headers.link
    return { body: await response.body.json(), link: typeof link === 'string' ? link : undefined }
  }
  const next = (link: string | undefined): string | undefined => /<([^>]+)>; rel="next"/.exec(link ?? '')?.[1]

  test('link-pages: at most 5 a page, following rel="next" gives every VLAN once', async () => {
    for (let index = 0; index < 3; index++) await deployedCloud(sim)
    const expected = (await vlans()).map((vlan) => vlan.id)
    expect(expected.length).toBeGreaterThan(5)
    sim.faults.setDrift(['link-pages'])
    const seen: string[] = []
    for (let url: string | undefined = `${sim.url}/v1/vlans`, pages = 0; url !== undefined; pages++) {
      expect(pages).toBeLessThan(50)
      const page = await pageOf(url)
      expect((page.body as unknown[]).length).toBeLessThanOrEqual(5)
      seen.push(...(page.body as VlanResource[]).map((vlan) => vlan.id))
      url = next(page.link)
    }
    expect(seen).toEqual(expected)
    expect((await pageOf(`${sim.url}/v1/vlans?per_page=2&page=2`)).link).toContain(`${sim.url}/v1/vlans?page=3&per_page=2`)
    // a single VLAN is never paged
    expect(((await pageOf(`${sim.url}/v1/vlans/${expected[0] ?? ''}`)).body as VlanResource).id).toBe(expected[0])
  })

  test('wrapped-pages: { data, meta, links }, following links.next gives every VLAN once', async () => {
    const expected = (await vlans()).map((vlan) => vlan.id)
    sim.faults.setDrift(['wrapped-pages'])
    const first = (await pageOf(`${sim.url}/v1/vlans`)).body as { data: VlanResource[], meta: Record<string, number>, links: Record<string, string | null> }
    expect(first.meta).toEqual({ current_page: 1, last_page: Math.ceil(expected.length / 5), per_page: 5, total: expected.length })
    const seen: string[] = []
    for (let url: string | null | undefined = `${sim.url}/v1/vlans`, pages = 0; typeof url === 'string'; pages++) {
      expect(pages).toBeLessThan(50)
      const page = (await pageOf(url)).body as typeof first
      seen.push(...page.data.map((vlan) => vlan.id))
      url = page.links.next
    }
    expect(seen).toEqual(expected)
  })

  test('nulls, strings, extras: a null description, the 802.1Q number as a string, an internal VLAN of no cloud listed first; vlan_type stays', async () => {
    const { cloudId } = await deployedCloud(sim)
    const { provider } = await vlansOf(cloudId)
    sim.faults.setDrift(['nulls', 'strings', 'extras'])
    const listed = (await call(sim, 'GET', '/v1/vlans')).body as Array<Record<string, unknown> & { fields: Record<string, unknown> }>
    expect(listed[0]).toMatchObject({ type: 'vlans', label: 'Legacy internal VLAN', fields: { created_from: 'omapi', vlan_type: 'internal' } })
    expect(listed[0]?.fields).not.toHaveProperty('cloud_id')
    expect(listed.find((vlan) => vlan.id === provider.id)).toMatchObject({ description: null, x_internal_ref: expect.any(String), fields: { vlan_id: String(provider.fields.vlan_id), vlan_type: 'routed', cloud_id: cloudId } })
    expect((await call(sim, 'GET', `/v1/vlans/${provider.id}`)).body).toMatchObject({ description: null, fields: { vlan_id: String(provider.fields.vlan_id), vlan_type: 'routed' } })
  })
})

describe('a bought block', () => {
  test('POST /v1/prefixes answers a PrefixResource made by the user, with the label sent, its cloud and pod, and its VLAN when given one', async () => {
    const { cloudId } = await deployedCloud(sim)
    const { provider } = await vlansOf(cloudId)
    const loose = await buy(cloudId, {}, 'cycle:hub-1:srv-1')
    expect(Value.Check(PrefixResource, loose)).toBe(true)
    expect(loose).toMatchObject({ type: 'prefixes', label: 'cycle:hub-1:srv-1', description: 'bought by a test', is_active: true })
    expect(loose.fields).toMatchObject({ created_from: 'user', cloud_id: cloudId, pod_location: 'pod_1', prefix_type: 'routed', product_addon: 'ipv4_block_28', length: 28, alterable: true, cidr: expect.stringMatching(/\/28$/) })
    for (const key of ['vlan_id', 'vlan_uuid', 'central_vlan_id']) expect(loose.fields).not.toHaveProperty(key)

    const placed = await buy(cloudId, { central_vlan_id: provider.id }, 'cycle:hub-1:srv-2')
    expect(Value.Check(PrefixResource, placed)).toBe(true)
    expect(placed).toMatchObject({ label: 'cycle:hub-1:srv-2', fields: { created_from: 'user', cloud_id: cloudId, central_vlan_id: provider.id, vlan_id: provider.fields.vlan_id, vlan_uuid: provider.fields.vlan_uuid } })
    // found again by label, as the adapter does
    expect((await blocksOf(cloudId)).filter((prefix) => prefix.label.startsWith('cycle:hub-1:')).map((prefix) => prefix.id)).toEqual([loose.id, placed.id])
    expect((await blocksOf(cloudId)).filter((prefix) => prefix.fields.created_from === 'central')).toHaveLength(2)
  })

  test('routes nowhere until assigned: creating an address in it is 400, then 200 once it is on a VLAN', async () => {
    const { cloudId } = await deployedCloud(sim)
    const { provider } = await vlansOf(cloudId)
    const block = await buy(cloudId)
    const created = sim.state.ipsCreated
    const [a, b, c, d] = (block.fields.cidr ?? '').split('/')[0]?.split('.').map(Number) ?? []
    for (const body of [{}, undefined, { ip: `${a}.${b}.${c}.${(d ?? 0) + 4}` }]) {
      expect((await newIp(block.id, body)).body).toMatchObject({ status: 400, message: expect.stringContaining('the IP block is not assigned to a VLAN') })
    }
    expect(sim.state.ipsCreated).toBe(created)
    expect(await cidrsOnVlans(cloudId)).not.toContain(block.fields.cidr)
    expect((await assign(provider.id, block.id)).body).toEqual({ status: 'success' })
    expect(await cidrsOnVlans(cloudId)).toContain(block.fields.cidr)
    expect(Value.Check(IpAddress, (await newIp(block.id)).body)).toBe(true)
    expect(sim.state.ipsCreated).toBe(created + 1)
  })

  test('assign: 404 for an unknown or foreign VLAN or block; 400 when already on a VLAN or in another pod; another cloud\'s VLAN in the pod is fine (cloud_id is billing)', async () => {
    const { cloudId } = await deployedCloud(sim)
    const other = await deployedCloud(sim)
    const away = await deployedCloud(sim, API_KEY_A, { location: 'pod_2' })
    const theirs = await deployedCloud(sim, API_KEY_B)
    const { inventory, provider } = await vlansOf(cloudId)
    const block = await buy(cloudId)
    expect((await assign('nope', block.id)).status).toBe(404)
    expect((await assign(provider.id, 'nope')).status).toBe(404)
    expect((await assign((await vlansOf(theirs.cloudId, API_KEY_B)).provider.id, block.id)).status).toBe(404)
    expect((await assign(provider.id, block.id, API_KEY_B)).status).toBe(404)
    expect((await assign((await vlansOf(away.cloudId)).provider.id, block.id)).body).toEqual(validationFailure(/is in pod_1 and VLAN \w+ in pod_2/))
    expect((await call(sim, 'POST', '/v1/prefixes', { label: 'x', fields: { pod_location: 'pod_1', prefix_type: 'routed', product_addon: 'ipv4_block_28', cloud_id: cloudId, central_vlan_id: (await vlansOf(away.cloudId)).provider.id } })).status).toBe(400)

    expect((await assign(provider.id, block.id)).status).toBe(200)
    expect((await assign(provider.id, block.id)).body).toEqual(validationFailure(new RegExp(`already assigned to VLAN ${provider.id}`)))
    expect((await assign(inventory.id, block.id)).status).toBe(400)
    const [delivered] = await blocksOf(cloudId)
    expect((await assign(provider.id, delivered?.id ?? '')).status).toBe(400)

    // billed to this cloud, routed on the other one's Provider VLAN
    const elsewhere = await buy(cloudId)
    const otherProvider = (await vlansOf(other.cloudId)).provider
    expect((await assign(otherProvider.id, elsewhere.id)).status).toBe(200)
    expect(await cidrsOnVlans(other.cloudId)).toContain(elsewhere.fields.cidr)
    expect(await cidrsOnVlans(cloudId)).not.toContain(elsewhere.fields.cidr)
    expect((await call(sim, 'GET', `/v1/prefixes/${elsewhere.id}`)).body).toMatchObject({ fields: { cloud_id: cloudId, central_vlan_id: otherProvider.id } })
  })

  test('unassign: 404 unknown; 400 when not on that VLAN; a cloud\'s own block cannot be unassigned; afterwards it routes nowhere', async () => {
    const { cloudId } = await deployedCloud(sim)
    const { inventory, provider } = await vlansOf(cloudId)
    const block = await buy(cloudId, { central_vlan_id: provider.id })
    expect((await unassign('nope', block.id)).status).toBe(404)
    expect((await unassign(provider.id, 'nope')).status).toBe(404)
    expect((await unassign(provider.id, block.id, API_KEY_B)).status).toBe(404)
    expect((await unassign(inventory.id, block.id)).body).toEqual(validationFailure(new RegExp(`${block.id} is not assigned to VLAN ${inventory.id}`)))
    const [inventoryBlock, providerBlock] = await blocksOf(cloudId)
    expect((await unassign(inventory.id, inventoryBlock?.id ?? '')).body).toEqual(validationFailure(/created_from central.*only a user-created block can be unassigned/))
    expect((await unassign(provider.id, providerBlock?.id ?? '')).status).toBe(400)
    expect((await call(sim, 'GET', `/v1/prefixes/${providerBlock?.id ?? ''}`)).body).toMatchObject({ fields: { central_vlan_id: provider.id } })

    const address = (await newIp(block.id, { label: 'lb' })).body as IpAddress
    expect((await unassign(provider.id, block.id)).body).toEqual({ status: 'success' })
    const after = (await call(sim, 'GET', `/v1/prefixes/${block.id}`)).body as PrefixResource
    for (const key of ['vlan_id', 'vlan_uuid', 'central_vlan_id']) expect(after.fields).not.toHaveProperty(key)
    expect(await cidrsOnVlans(cloudId)).not.toContain(block.fields.cidr)
    expect((await call(sim, 'GET', `/v1/deployment/network/prefix/${block.id}`)).body).toMatchObject({ usage: 'unused', status: 'ACTIVE' })
    expect((await unassign(provider.id, block.id)).status).toBe(400)
    expect((await newIp(block.id)).status).toBe(400)
    // what it held can still be released; it can go back on a VLAN
    expect((await call(sim, 'DELETE', `/v1/deployment/network/prefixes/${block.id}/ip/${address.id ?? 0}`)).status).toBe(200)
    expect((await assign(provider.id, block.id)).status).toBe(200)
  })
})

describe('DELETE /v1/prefixes/{id}', () => {
  test('only a user-created block, on no VLAN, holding no address; then 200, counted, gone', async () => {
    const { cloudId } = await deployedCloud(sim)
    const { provider } = await vlansOf(cloudId)
    const bought = sim.state.prefixesBought
    const deleted = sim.state.prefixesDeleted
    const block = await buy(cloudId, { central_vlan_id: provider.id })
    for (const delivered of await blocksOf(cloudId)) {
      if (delivered.fields.created_from !== 'central') continue
      expect((await remove(delivered.id)).body).toEqual(validationFailure(/created_from central.*only a user-created block can be deleted/))
    }
    expect((await remove(block.id)).body).toEqual(validationFailure(new RegExp(`assigned to VLAN ${provider.id}: unassign it first`)))
    const address = (await newIp(block.id, { label: 'in use' })).body as IpAddress
    expect((await unassign(provider.id, block.id)).status).toBe(200)
    expect((await remove(block.id)).body).toEqual(validationFailure(new RegExp(`IP addresses in use \\(${(address.ip ?? '').replace(/\./g, '\\.')}\\)`)))
    expect((await remove(block.id, API_KEY_B)).status).toBe(404)
    expect((await remove('nope')).status).toBe(404)
    expect(sim.state.prefixesDeleted).toBe(deleted)

    expect((await call(sim, 'DELETE', `/v1/deployment/network/prefixes/${block.id}/ip/${address.id ?? 0}`)).status).toBe(200)
    expect((await remove(block.id)).body).toEqual({ status: 'success' })
    expect(sim.state.prefixesDeleted).toBe(deleted + 1)
    expect(sim.state.prefixesBought).toBe(bought + 1)
    expect((await call(sim, 'GET', `/v1/prefixes/${block.id}`)).status).toBe(404)
    expect((await blocksOf(cloudId)).map((prefix) => prefix.id)).not.toContain(block.id)
    expect((await remove(block.id)).status).toBe(404)
    expect((await call(sim, 'GET', '/_sim/state', undefined, null)).body).toMatchObject({ prefixesBought: bought + 1, prefixesDeleted: deleted + 1 })
  })

  test('a block bought and never assigned is deleted at once; reset forgets VLANs and the counter', async () => {
    const { cloudId } = await deployedCloud(sim)
    expect((await remove((await buy(cloudId)).id)).status).toBe(200)
    expect(sim.state.prefixesDeleted).toBeGreaterThan(0)
    sim.state.reset()
    expect(sim.state.counters()).toMatchObject({ prefixesBought: 0, prefixesDeleted: 0 })
    expect(await vlans()).toEqual([])
  })
})
