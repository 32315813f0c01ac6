/** Drift mode: the real API's deviations from the spec, paged lists, the seeded history, the answer hook, the CLI. */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { request } from 'undici'
import { DRIFTS, startSimulator, type Drift, type Simulator } from '../src/index.ts'
import { API_KEY_B, SSH_KEY, basic, call, deployedCloud, idOf, orderBody } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator({ provisioningStepMs: 20 }) })
afterEach(() => {
  sim.faults.setDrift([])
  sim.faults.setAnswerHook(undefined)
})
afterAll(async () => { await sim.close() })

type Json = Record<string, unknown>

/** The value at a path of keys and indexes inside a parsed answer. */
function dig (value: unknown, ...path: Array<string | number>): unknown {
  let current = value
  for (const key of path) current = typeof current === 'object' && current !== null ? (current as Record<string | number, unknown>)[key] : undefined
  return current
}

const list = (value: unknown, ...path: Array<string | number>): Json[] => dig(value, ...path) as Json[]

/** GET with the API key, the body parsed. */
async function get (path: string, authorization?: string): Promise<unknown> {
  const reply = await call(sim, 'GET', path, undefined, authorization)
  expect(reply.status).toBe(200)
  return reply.body
}

/** A complete cloud with its inventory block, an address without a host, and a configuration. */
async function world (): Promise<{ orderId: string, cloudId: string, blockId: string, configurationId: string }> {
  const { orderId, cloudId } = await deployedCloud(sim)
  const prefixes = (await call(sim, 'GET', '/v1/prefixes')).body as Array<{ id: string, fields: { cloud_id?: string } }>
  const blockId = prefixes.find((prefix) => prefix.fields.cloud_id === cloudId)?.id ?? ''
  expect((await call(sim, 'POST', `/v1/deployment/network/prefixes/${blockId}/ip`, { label: 'spare' })).status).toBe(200)
  const configurationId = idOf(await call(sim, 'POST', '/v1/configurations', { label: 'disk', fields: { image_source: 'https://img.test/a.qcow2', image_os_hash_algo: 'sha256', image_os_hash_value: 'ab' } }))
  return { orderId, cloudId, blockId, configurationId }
}

describe('no drift', () => {
  test('answers the spec\'s shapes: bare lists, no Link header, no history, nothing added', async () => {
    expect(sim.faults.drift()).toEqual([])
    expect((await call(sim, 'GET', '/_sim/drift', undefined, null)).body).toEqual({ drift: [] })
    const { orderId } = await deployedCloud(sim)
    const orders = await call(sim, 'GET', '/v1/orders')
    expect(orders.headers.link).toBeUndefined()
    expect(Array.isArray(orders.body)).toBe(true)
    expect((orders.body as Json[]).every((order) => order.is_active === true && order.type === 'orders')).toBe(true)
    const order = await get(`/v1/orders/${orderId}`) as Json
    expect(order).not.toHaveProperty('description')
    expect(order).not.toHaveProperty('x_internal_ref')
    expect(dig(order, 'access', 'role')).toBe('owner')
  })
})

describe('each drift', () => {
  test('nulls: null for optional and string fields, the values the adapter needs stay', async () => {
    const { orderId, cloudId, blockId, configurationId } = await world()
    const pending = idOf(await call(sim, 'POST', '/v1/orders', orderBody({}, undefined, 'pending one')))
    sim.faults.setOrderStatus(pending, 'pending')
    sim.faults.setDrift(['nulls'])

    const listed = list(await get('/v1/orders')).find((order) => order.id === orderId)
    expect(listed).toMatchObject({ description: null, label: 'test order', fields: { config_options: null, items: [{ hardware_sku: 'medium_v4' }] } })
    expect(await get(`/v1/orders/${orderId}`)).toMatchObject({ description: null, fields: { config_options: { public_key: expect.any(String) } } })

    const complete = await get(`/v1/clouds/${cloudId}`)
    expect(complete).toMatchObject({ id: cloudId, description: null, fields: { hostname: null, provision_status: 'complete', provision_completion_time: expect.any(String) } })
    const pendingCloud = list(await get('/v1/clouds')).find((cloud) => dig(cloud, 'fields', 'order_id') === pending)
    expect(pendingCloud).toMatchObject({ description: null, fields: { hostname: null, provision_status: 'pending', provision_completion_time: null } })

    const sku = dig(await get('/v1/products'), 'hardware', 'medium_v4')
    expect(sku).toMatchObject({ variant_label: null, display_name: null, publishedAt: null, name: 'medium_v4' })

    expect(list(await get('/v1/prefixes')).every((prefix) => prefix.description === null && typeof dig(prefix, 'fields', 'cidr') === 'string')).toBe(true)
    const detail = await get(`/v1/deployment/network/prefix/${blockId}`)
    expect(detail).toMatchObject({ description: null })
    const addresses = list(detail, 'ip_addrs')
    expect(addresses.find((address) => address.label === 'spare')).toMatchObject({ assigned_host: null })
    expect(addresses.find((address) => address.label !== 'spare')?.assigned_host).toMatch(/^[0-9a-f-]{36}$/)

    const node = list(await get(`/v1/clouds/${cloudId}/stats`), 'nodes')[0]
    expect(node).toMatchObject({ hostname: null, rack: null, maintenance: null, uuid: expect.any(String), ipaddress: expect.any(String), networks: [{ mac_address: expect.any(String) }] })

    expect(await get(`/v1/configurations/${configurationId}`)).toMatchObject({ description: null, label: 'disk' })
    expect(list(await get('/v1/configurations')).every((configuration) => configuration.description === null)).toBe(true)
  })

  test('enums: values the spec\'s enums do not list; item types, deleted states and IDs stay', async () => {
    const { orderId, cloudId, blockId } = await world()
    const deleted = await deployedCloud(sim)
    expect((await call(sim, 'DELETE', `/v1/clouds/${deleted.cloudId}`)).status).toBe(200)
    sim.faults.setDrift(['enums'])

    expect(await get(`/v1/orders/${orderId}`)).toMatchObject({ id: orderId, type: 'subscription', access: { role: 'billing' }, fields: { items: [{ type: 'baremetal' }] } })
    expect(list(await get('/v1/orders')).every((order) => order.type === 'subscription')).toBe(true)

    const catalog = await get('/v1/products')
    for (const sku of Object.values(dig(catalog, 'hardware') as Record<string, Json>)) {
      expect(list(sku, 'products').map((product) => product.type)).toEqual(['server_v2'])
    }
    expect(list(catalog, 'addons', 'memory').map((addon) => addon.type)).toEqual(['memory_v2'])
    expect(list(catalog, 'addons', 'ip_block')[0]).toMatchObject({ add_on_code: 'ipv4_block_28', type: 'ip_block' })

    expect(await get(`/v1/deployment/network/prefix/${blockId}`)).toMatchObject({ usage: 'customer', status: 'RESERVED', managed_addressing: 'dhcp', prefix_type: 'routed' })
    expect(list(await get('/v1/prefixes')).every((prefix) => dig(prefix, 'fields', 'managed_addressing') === 'dhcp')).toBe(true)

    const stats = await get(`/v1/clouds/${cloudId}/stats`)
    expect(stats).toMatchObject({ cloud_state: 'HEALTHY', nodes: [{ state: 'provisioned_v2', power_state: 'power on' }] })
    expect(list(stats, 'vlans').map((vlan) => vlan.vlan_type)).toEqual(['evpn', 'evpn'])
    expect(await get(`/v1/clouds/${deleted.cloudId}/stats`)).toMatchObject({ cloud_state: 'PENDING-DELETE', nodes: [{ state: 'deleting' }] })
  })

  test('strings: numbers as numeric strings', async () => {
    const { cloudId, blockId } = await world()
    sim.faults.setDrift(['strings'])

    const token = await call(sim, 'GET', '/v1/oauth2/token?grant_type=client_credentials', undefined, basic('sim-client', 'sim-secret'))
    expect(token.body).toMatchObject({ expires_in: '14400', token_type: 'bearer' })

    const availability = await get('/v2/inventory/pod_1/availability')
    expect(dig(availability, 'medium_v4')).toEqual({ count: expect.stringMatching(/^\d+$/), max_size: '10' })
    expect(dig(availability, 'xxl_v4')).toEqual({ count: '0', max_size: '0' })

    const sku = dig(await get('/v1/products'), 'hardware', 'large_v4')
    expect(sku).toMatchObject({
      id: 18,
      processor: { cpuCount: '2', raw_cores: '32', raw_threads: '64' },
      network: { speed: '10', count: '2' },
      storage: { nvme_ssd: { drives: [{ count: '2' }] }, boot: { drives: [{ count: '2' }] } },
      products: [{ hourly_cost_mils: '2160', '30_day_cost_mils': '1101600', hourly_cost: 2.16 }]
    })

    const created = await call(sim, 'POST', `/v1/deployment/network/prefixes/${blockId}/ip`, { label: 'string id' })
    expect(dig(created.body, 'id')).toMatch(/^\d+$/)
    expect(list(await get(`/v1/deployment/network/prefix/${blockId}`), 'ip_addrs').every((address) => typeof address.id === 'string')).toBe(true)
    // the string ID works in the path like the number did
    expect((await call(sim, 'DELETE', `/v1/deployment/network/prefixes/${blockId}/ip/${String(dig(created.body, 'id'))}`)).status).toBe(200)

    expect(dig(await get(`/v1/prefixes/${blockId}`), 'fields')).toMatchObject({ length: '28', prefix_id: expect.stringMatching(/^\d+$/) })
    expect(list(await get(`/v1/clouds/${cloudId}/stats`), 'nodes')[0]).toMatchObject({ cpu: '48' })
  })

  test('extras: unknown fields at every level and entries the spec does not describe', async () => {
    const { orderId, cloudId, blockId } = await world()
    sim.faults.setDrift(['extras'])

    const orders = list(await get('/v1/orders'))
    expect(orders[0]).toMatchObject({ type: 'addon', label: null, fields: { organization_id: 'org_sim_a' }, is_active: true })
    expect(orders[0]).not.toHaveProperty('fields.items')
    const mine = orders.find((order) => order.id === orderId)
    expect(mine).toMatchObject({ x_internal_ref: expect.any(String), tags: [], _links: { self: `${sim.url}/v1/orders/${orderId}` }, fields: { x_internal_ref: expect.any(String), items: [{ hardware_sku: 'medium_v4', tags: [] }] } })
    // the odd entry is the same on every call (pages must not shift)
    expect(list(await get('/v1/orders'))[0]?.id).toBe(orders[0]?.id)

    expect(await get(`/v1/orders/${orderId}`)).toMatchObject({ _links: { self: `${sim.url}/v1/orders/${orderId}` }, access: { role: 'owner', tags: [] } })

    const prefixes = list(await get('/v1/prefixes'))
    expect(prefixes[0]).toMatchObject({ fields: { prefix_type: 'private' } })
    expect(prefixes[0]).not.toHaveProperty('fields.cidr')
    expect(prefixes[0]).not.toHaveProperty('fields.cloud_id')
    expect(prefixes.filter((prefix) => dig(prefix, 'fields', 'cloud_id') === cloudId)).toHaveLength(2)

    const clouds = list(await get('/v1/clouds'))
    expect(clouds[0]).toMatchObject({ label: null, id: expect.any(String) })
    expect(clouds[0]).not.toHaveProperty('fields')

    const catalog = await get('/v1/products')
    expect(dig(catalog, 'hardware', 'legacy_v1')).toMatchObject({ id: 999, name: 'legacy_v1', products: null })
    expect(dig(catalog, 'hardware', 'medium_v4', 'processor', 'x_internal_ref')).toEqual(expect.any(String))
    // maps keyed by name get no unknown keys: every other hardware entry is still a SKU
    expect(Object.keys(dig(catalog, 'hardware') as Json).sort()).toEqual(['large_v4', 'legacy_v1', 'medium_v4', 'xl_v4', 'xl_v4_gpu', 'xxl_v4'])
    expect(Object.keys(dig(catalog, 'hardware', 'medium_v4', 'locations') as Json)).toEqual(['pod_1', 'pod_2', 'pod_3', 'pod_5'])

    const locations = dig(await get('/v2/inventory/locations'), 'locations') as Json
    expect(locations.pod_99).toBe('decommissioned')
    expect(locations.pod_1).toMatchObject({ displayName: 'Ashburn, VA', tags: [] })
    expect(Object.keys(locations)).toEqual(['pod_1', 'pod_2', 'pod_3', 'pod_5', 'pod_99'])
    // the catalog itself was not touched
    sim.faults.setDrift([])
    expect(dig(await get('/v2/inventory/locations'), 'locations', 'pod_1')).not.toHaveProperty('tags')
    sim.faults.setDrift(['extras'])

    const availability = await get('/v2/inventory/pod_1/availability')
    expect(availability).toMatchObject({ note: 'stock refreshed hourly', medium_v4: { count: expect.any(Number), max_size: 10, tags: [] }, pod_location: 'pod_1' })
    expect(availability).not.toHaveProperty('tags')

    const nodes = list(await get(`/v1/clouds/${cloudId}/stats`), 'nodes')
    expect(nodes).toHaveLength(2)
    expect(nodes[0]).toMatchObject({ uuid: expect.any(String), networks: [{ mac_address: expect.any(String), tags: [] }] })
    expect(nodes[1]).toMatchObject({ type: 'switch', hostname: 'sw-a1' })
    expect(nodes[1]).not.toHaveProperty('uuid')

    const detail = await get(`/v1/deployment/network/prefix/${blockId}`)
    const network = String(dig(detail, 'cidr')).split('/')[0] ?? ''
    const gateway = network.replace(/\d+$/, (last) => String(Number(last) + 1))
    expect(list(detail, 'ip_addrs')[0]).toMatchObject({ ip: gateway, label: 'gateway (reserved)' })
    expect(list(detail, 'ip_addrs')[0]).not.toHaveProperty('id')
    expect(list(detail, 'ip_addrs').slice(1).every((address) => typeof address.id === 'number')).toBe(true)
  })

  test('cidr-ip: addresses with their prefix length', async () => {
    const { cloudId, blockId } = await world()
    sim.faults.setDrift(['cidr-ip'])
    const created = await call(sim, 'POST', `/v1/deployment/network/prefixes/${blockId}/ip`, { label: 'cidr' })
    expect(dig(created.body, 'ip')).toMatch(/^\d+\.\d+\.\d+\.\d+\/28$/)
    expect(list(await get(`/v1/deployment/network/prefix/${blockId}`), 'ip_addrs').every((address) => /\/28$/.test(String(address.ip)))).toBe(true)
    const stats = await get(`/v1/clouds/${cloudId}/stats`)
    expect(list(stats, 'nodes')[0]?.ipaddress).toMatch(/\/28$/)
    const ips = list(stats, 'vlans').flatMap((vlan) => list(vlan, 'prefixes').flatMap((prefix) => list(prefix, 'ip_addrs').map((address) => address.ip)))
    expect(ips.length).toBeGreaterThan(0)
    expect(ips.every((ip) => /^\d+\.\d+\.\d+\.\d+\/28$/.test(String(ip)))).toBe(true)
  })

  test('combined: every drift at once', async () => {
    const { orderId, cloudId, blockId } = await world()
    sim.faults.setDrift([...DRIFTS])
    expect(sim.faults.drift()).toEqual([...DRIFTS])
    expect(await get(`/v1/orders/${orderId}`)).toMatchObject({ type: 'subscription', access: { role: 'billing' }, tags: [] })
    const detail = await get(`/v1/deployment/network/prefix/${blockId}`)
    expect(list(detail, 'ip_addrs')[0]).toMatchObject({ ip: expect.stringMatching(/\/28$/), label: 'gateway (reserved)' })
    expect(list(detail, 'ip_addrs')[1]).toMatchObject({ id: expect.stringMatching(/^\d+$/), ip: expect.stringMatching(/\/28$/) })
    const nodes = list(await get(`/v1/clouds/${cloudId}/stats`), 'nodes')
    expect(nodes[0]).toMatchObject({ cpu: '48', hostname: null, state: 'provisioned_v2', ipaddress: expect.stringMatching(/\/28$/) })
    // a wrapped page with a Link header too; the order is in there on some page
    const first = await call(sim, 'GET', '/v1/orders')
    expect(first.headers.link).toContain('rel="next"')
    expect(dig(first.body, 'meta', 'per_page')).toBe(5)
    const all = await followWrapped(`${sim.url}/v1/orders`)
    expect(all.filter((order) => order.id === orderId)).toHaveLength(1)
    expect(all.find((order) => order.id === orderId)).toMatchObject({ description: null, fields: { config_options: null } })
  })
})

// Paging -----------------------------------------------------------------------------------

async function getUrl (url: string, authorization = 'Bearer sim-api-key'): Promise<{ body: unknown, link: string | undefined }> {
  const response = await request(url, { headers: { authorization } })
  expect(response.statusCode).toBe(200)
  const link = response.headers.link
  return { body: await response.body.json(), link: typeof link === 'string' ? link : undefined }
}

function rel (link: string | undefined, name: string): string | undefined {
  return link?.split(', ').map((part) => /^<([^>]+)>; rel="([^"]+)"$/.exec(part)).find((match) => match?.[2] === name)?.[1]
}

async function followLinks (url: string): Promise<Json[]> {
  const items: Json[] = []
  for (let next: string | undefined = url, pages = 0; next !== undefined; pages++) {
    expect(pages).toBeLessThan(50)
    const page = await getUrl(next)
    items.push(...page.body as Json[])
    next = rel(page.link, 'next')
  }
  return items
}

async function followWrapped (url: string): Promise<Json[]> {
  const items: Json[] = []
  for (let next: unknown = url, pages = 0; typeof next === 'string'; pages++) {
    expect(pages).toBeLessThan(50)
    const page = await getUrl(next)
    items.push(...list(page.body, 'data'))
    next = dig(page.body, 'links', 'next')
  }
  return items
}

describe('paging', () => {
  let paged: Simulator
  let created: string[]
  beforeAll(async () => {
    paged = await startSimulator({ drift: ['link-pages'], provisioningStepMs: 60_000 })
    created = []
    for (let index = 0; index < 5; index++) {
      const reply = await request(`${paged.url}/v1/orders`, { method: 'POST', headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' }, body: JSON.stringify(orderBody({}, undefined, `new ${index}`)) })
      created.push(idOf({ status: reply.statusCode, headers: {}, body: await reply.body.json() }))
    }
  })
  afterEach(() => { paged.faults.setDrift(['link-pages']) })
  afterAll(async () => { await paged.close() })

  test('link-pages: at most 5 a page, a Link header on the simulator\'s origin, following next gives every order once', async () => {
    const first = await getUrl(`${paged.url}/v1/orders`)
    expect(first.body).toHaveLength(5)
    expect(first.link).toBe(`<${paged.url}/v1/orders?page=2&per_page=5>; rel="next", <${paged.url}/v1/orders?page=4&per_page=5>; rel="last"`)
    const second = await getUrl(`${paged.url}/v1/orders?page=2`)
    expect(second.link).toBe(`<${paged.url}/v1/orders?page=1&per_page=5>; rel="prev", <${paged.url}/v1/orders?page=3&per_page=5>; rel="next", <${paged.url}/v1/orders?page=4&per_page=5>; rel="last", <${paged.url}/v1/orders?page=1&per_page=5>; rel="first"`)
    const last = await getUrl(`${paged.url}/v1/orders?page=4`)
    expect(last.body).toHaveLength(2)
    expect(rel(last.link, 'next')).toBeUndefined()
    expect(rel(last.link, 'prev')).toBe(`${paged.url}/v1/orders?page=3&per_page=5`)

    const all = await followLinks(`${paged.url}/v1/orders`)
    expect(all).toHaveLength(17)
    expect(new Set(all.map((order) => order.id)).size).toBe(17)
    // the history first, the new orders last: they land on later pages
    expect(all.slice(0, 12).every((order) => order.is_active === false)).toBe(true)
    expect(all.slice(12).map((order) => order.id)).toEqual(created)
  })

  test('per_page is honoured up to the page size; a page past the end is empty', async () => {
    const small = await getUrl(`${paged.url}/v1/orders?per_page=2&page=3`)
    expect(small.body).toHaveLength(2)
    expect(rel(small.link, 'last')).toBe(`${paged.url}/v1/orders?page=9&per_page=2`)
    const capped = await getUrl(`${paged.url}/v1/orders?per_page=100`)
    expect(capped.body).toHaveLength(5)
    expect(rel(capped.link, 'next')).toBe(`${paged.url}/v1/orders?page=2&per_page=5`)
    const beyond = await getUrl(`${paged.url}/v1/orders?page=9`)
    expect(beyond.body).toEqual([])
    expect(rel(beyond.link, 'next')).toBeUndefined()
  })

  test('the other list endpoints page too; a list that fits one page has no Link header', async () => {
    for (let index = 0; index < 7; index++) {
      await request(`${paged.url}/v1/public-keys`, { method: 'POST', headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' }, body: JSON.stringify({ label: `k${index}`, fields: { key_data: SSH_KEY } }) }).then((reply) => reply.body.dump())
    }
    expect(await followLinks(`${paged.url}/v1/public-keys`)).toHaveLength(7)
    for (const path of ['/v1/clouds', '/v1/prefixes', '/v1/vlans', '/v1/configurations']) {
      const page = await getUrl(`${paged.url}${path}`)
      expect(page.body).toEqual([])
      expect(page.link).toBeUndefined()
    }
  })

  test('wrapped-pages: { data, meta, links }, following links.next gives every order once', async () => {
    paged.faults.setDrift(['wrapped-pages'])
    const second = await getUrl(`${paged.url}/v1/orders?page=2`)
    expect(second.link).toBeUndefined()
    expect(second.body).toEqual({
      data: expect.any(Array),
      meta: { current_page: 2, last_page: 4, per_page: 5, total: 17 },
      links: { first: `${paged.url}/v1/orders?page=1&per_page=5`, last: `${paged.url}/v1/orders?page=4&per_page=5`, prev: `${paged.url}/v1/orders?page=1&per_page=5`, next: `${paged.url}/v1/orders?page=3&per_page=5` }
    })
    expect(dig(await getUrl(`${paged.url}/v1/orders?page=4`), 'body', 'links', 'next')).toBeNull()
    const all = await followWrapped(`${paged.url}/v1/orders`)
    expect(all.map((order) => order.id).slice(12)).toEqual(created)
    expect(new Set(all.map((order) => order.id)).size).toBe(17)
    // single resources are never wrapped
    expect(dig((await getUrl(`${paged.url}/v1/orders/${created[0] ?? ''}`)).body, 'id')).toBe(created[0])
  })
})

describe('seeded history', () => {
  test('12 older orders per organisation under paging: inactive, no cloud, in a catalog pod, not counted, taking no stock', async () => {
    const history = await startSimulator({ drift: ['wrapped-pages'] })
    try {
      const stock = await request(`${history.url}/v2/inventory/pod_1/availability`).then((reply) => reply.body.json())
      expect(history.state.ordersCreated).toBe(0)
      expect(history.state.requests).toHaveLength(1)
      const orders = await followWrapped(`${history.url}/v1/orders`)
      expect(orders).toHaveLength(12)
      for (const order of orders) {
        expect(order).toMatchObject({ is_active: false, label: expect.stringMatching(/^Private cloud \d{4}-\d{2}$/), fields: { clouds_deployed: [], organization_id: 'org_sim_a' } })
        expect(['pod_1', 'pod_2', 'pod_3']).toContain(dig(order, 'fields', 'items', 0, 'location'))
        expect(Date.parse(String(order.created_at))).toBeLessThan(Date.now() - 86_400_000)
      }
      expect(new Set(orders.map((order) => order.label)).size).toBe(12)
      const created = orders.map((order) => Date.parse(String(order.created_at)))
      expect(created).toEqual([...created].sort((a, b) => a - b))
      expect(dig(await getUrl(`${history.url}/v1/orders`, API_KEY_B), 'body', 'meta', 'total')).toBe(12)
      expect(await request(`${history.url}/v2/inventory/pod_1/availability`).then((reply) => reply.body.json())).toEqual({ ...stock as Json, timestamp: expect.any(String) })
      expect((await getUrl(`${history.url}/v1/clouds`)).body).toMatchObject({ meta: { total: 0 } })

      history.state.reset()
      const again = await followWrapped(`${history.url}/v1/orders`)
      expect(again).toHaveLength(12)
      expect(again.map((order) => order.id)).not.toEqual(orders.map((order) => order.id))
    } finally {
      await history.close()
    }
  })

  test('historyOrders sets the count with or without paging; setDrift seeds it before the orders that exist', async () => {
    const three = await startSimulator({ historyOrders: 3 })
    const none = await startSimulator({ drift: ['link-pages'], historyOrders: 0 })
    try {
      expect((await getUrl(`${three.url}/v1/orders`)).body).toHaveLength(3)
      expect((await getUrl(`${none.url}/v1/orders`)).body).toEqual([])
    } finally {
      await Promise.all([three.close(), none.close()])
    }
    const { orderId } = await deployedCloud(sim)
    const before = (await get('/v1/orders') as Json[]).length
    sim.faults.setDrift(['link-pages'])
    const all = await followLinks(`${sim.url}/v1/orders`)
    expect(all).toHaveLength(before + 12)
    expect(all.slice(0, 12).every((order) => order.is_active === false)).toBe(true)
    expect(all.at(-1)?.id).toBe(orderId)
    sim.faults.setDrift([])
    expect(await get('/v1/orders')).toHaveLength(before)
  })
})

describe('controls', () => {
  test('setDrift and the admin routes; unknown names are refused; reset keeps the drift chosen at start', async () => {
    const started = await startSimulator({ drift: ['nulls', 'strings'] })
    try {
      const admin = (method: string, body?: unknown) => request(`${started.url}/_sim/drift`, { method: method as 'GET', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
        .then(async (reply) => ({ status: reply.statusCode, body: await reply.body.json() }))
      expect(await admin('GET')).toEqual({ status: 200, body: { drift: ['nulls', 'strings'] } })
      expect(await admin('POST', { drift: ['extras', 'enums', 'enums'] })).toEqual({ status: 200, body: { ok: true, drift: ['enums', 'extras'] } })
      expect(started.faults.drift()).toEqual(['enums', 'extras'])
      const refused = await admin('POST', { drift: ['nulls', 'bogus'] })
      expect(refused.status).toBe(400)
      expect(JSON.stringify(refused.body)).toContain('bogus')
      expect(started.faults.drift()).toEqual(['enums', 'extras'])
      expect(() => { started.faults.setDrift(['sideways' as Drift]) }).toThrow(/sideways/)
      expect((await admin('POST', { drift: ['all'] })).body).toEqual({ ok: true, drift: [...DRIFTS] })
      await request(`${started.url}/_sim/reset`, { method: 'POST' }).then((reply) => reply.body.dump())
      expect(started.faults.drift()).toEqual(['nulls', 'strings'])
      expect(await admin('GET')).toEqual({ status: 200, body: { drift: ['nulls', 'strings'] } })
    } finally {
      await started.close()
    }
    await expect(startSimulator({ drift: ['nope' as Drift] })).rejects.toThrow(/nope/)
    await expect(startSimulator({ pageSize: 0 })).rejects.toThrow(/pageSize/)
  })

  test('the answer hook sees every answer after drift and paging, and what it returns is sent', async () => {
    sim.faults.setDrift(['link-pages'])
    const seen: Array<{ status: number, path: string, page: string | null, link: string | undefined }> = []
    sim.faults.setAnswerHook((answer, { path, query }) => {
      seen.push({ status: answer.status, path, page: query.get('page'), link: answer.headers.link })
      // a next link to another origin, on every page: endless and foreign
      if (path === '/v1/orders') return { ...answer, headers: { ...answer.headers, link: '<http://evil.test/v1/orders?page=2>; rel="next"' } }
      if (path === '/v2/inventory/locations') return { status: 200, body: { locations: { pod_1: { label: 'mutated' } } }, headers: {} }
      return answer
    })
    const orders = await getUrl(`${sim.url}/v1/orders?page=2`)
    expect(orders.link).toBe('<http://evil.test/v1/orders?page=2>; rel="next"')
    expect(seen.at(-1)).toMatchObject({ status: 200, path: '/v1/orders', page: '2', link: expect.stringContaining(`<${sim.url}/v1/orders?page=1&per_page=5>; rel="prev"`) })
    expect(await call(sim, 'GET', '/v2/inventory/locations', undefined, null)).toMatchObject({ status: 200, body: { locations: { pod_1: { label: 'mutated' } } } })
    expect((await call(sim, 'GET', '/v1/orders/nope')).status).toBe(404)
    expect(seen.at(-1)).toMatchObject({ status: 404, path: '/v1/orders/nope' })

    sim.faults.setAnswerHook(undefined)
    expect(dig((await call(sim, 'GET', '/v2/inventory/locations', undefined, null)).body, 'locations', 'pod_1', 'label')).toBe('US-East')
  })
})

describe('npm run simulator', () => {
  function simulatorCli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '../src/cli/simulator.ts'), ...args], { env: { PATH: process.env.PATH ?? '', SIM_PORT: '0', SIM_LOG: '0' } })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })
  }

  test('--help prints the usage and exits 0 without starting', async () => {
    const result = await simulatorCli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('--drift')
    expect(result.stdout).toContain(DRIFTS.join(', '))
    expect(result.stdout).not.toContain('listening')
  })

  test('an unknown drift is one line on stderr and exit 2', async () => {
    const result = await simulatorCli(['--drift', 'nulls,bogus'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining('unknown drift "bogus"')])
    expect(result.stdout).toBe('')
  })
})
