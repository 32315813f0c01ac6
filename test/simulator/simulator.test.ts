import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { request } from 'undici'
import { Value } from 'typebox/value'
import { GetOrder, CloudStats, Cloud, ProductCatalog, Locations, InventoryAvailability } from '../../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../../src/simulator/index.ts'

let sim: Simulator
let configuration: string
beforeAll(async () => {
  sim = await startSimulator({ provisioningStepMs: 15 })
  configuration = ((await api('POST', '/v1/configurations', { label: 'k', fields: { image_ramdisk_kernel: 'https://x/k', image_ramdisk_ramdisk: 'https://x/r' } })).body as { id: string }).id
})
afterAll(async () => { await sim.close() })

async function api (method: string, path: string, body?: unknown, authorization = 'Bearer sim-api-key'): Promise<{ status: number, body: unknown }> {
  const response = await request(`${sim.url}${path}`, { method: method as 'GET', headers: { authorization, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.body.text()
  return { status: response.statusCode, body: text === '' ? null : JSON.parse(text) as unknown }
}

const order = (overrides: Record<string, unknown> = {}, options: Record<string, unknown> = { public_key: 'ssh-ed25519 AAAA k' }) => ({
  label: 'test',
  fields: { items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { deployment_configuration: configuration }, ...overrides }], config_options: options }
})

describe('OpenMetal simulator', () => {
  test('public catalog answers in the spec\'s shapes', async () => {
    expect(Value.Check(Locations, (await api('GET', '/v2/inventory/locations', undefined, '')).body)).toBe(true)
    expect(Value.Check(ProductCatalog, (await api('GET', '/v1/products', undefined, '')).body)).toBe(true)
    expect(Value.Check(InventoryAvailability, (await api('GET', '/v2/inventory/pod_1/availability', undefined, '')).body)).toBe(true)
    expect((await api('GET', '/v2/inventory/pod_99/availability', undefined, '')).status).toBe(400)
  })

  test('OAuth client credentials: a token for good credentials, 401 for bad, 400 for another grant', async () => {
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
    const good = await api('GET', '/v1/oauth2/token?grant_type=client_credentials', undefined, basic('sim-client', 'sim-secret'))
    expect(good.body).toMatchObject({ token_type: 'bearer', expires_in: 14_400 })
    expect((await api('GET', '/v1/oauth2/token?grant_type=client_credentials', undefined, basic('sim-client', 'nope'))).status).toBe(401)
    expect((await api('GET', '/v1/oauth2/token?grant_type=password', undefined, basic('sim-client', 'sim-secret'))).status).toBe(400)
    const token = (good.body as { access_token: string }).access_token
    expect((await api('GET', '/v1/clouds', undefined, `Bearer ${token}`)).status).toBe(200)
    sim.faults.expireTokens()
    expect((await api('GET', '/v1/clouds', undefined, `Bearer ${token}`)).status).toBe(401)
  })

  test.each([
    ['no SSH key', order({}, {})],
    ['neither OS nor deployment configuration', order({ modifications: {} })],
    ['an unknown deployment configuration', order({ modifications: { deployment_configuration: 'nope' } })],
    ['an unknown SKU', order({ hardware_sku: 'huge_v9' })],
    ['an unknown pod', order({ location: 'pod_77' })],
    ['quantity 0', order({ quantity: 0 })],
    ['a sold-out SKU', order({ hardware_sku: 'xxl_v4' })],
    ['no items field', { label: 'x', fields: {} }]
  ])('refuses an order with %s', async (_name, body) => {
    const answer = await api('POST', '/v1/orders', body)
    expect(answer.status).toBe(400)
  })

  test('an order deploys one cloud through pending, in_progress, awaiting_setup to complete, with a node that has uuid, IP and MAC', async () => {
    const created = await api('POST', '/v1/orders', order())
    expect(Value.Check(GetOrder, created.body)).toBe(true)
    const id = (created.body as { id: string }).id
    const seen = new Set<string>()
    let cloudId = ''
    for (let i = 0; i < 100 && !seen.has('complete'); i++) {
      const current = (await api('GET', `/v1/orders/${id}`)).body as GetOrder
      const deployed = current.fields.clouds_deployed?.[0]
      if (deployed !== undefined) { seen.add(deployed.provision_status ?? ''); cloudId = deployed.id }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect([...seen]).toEqual(expect.arrayContaining(['pending', 'in_progress', 'awaiting_setup', 'complete']))
    expect(Value.Check(Cloud, (await api('GET', `/v1/clouds/${cloudId}`)).body)).toBe(true)
    const stats = (await api('GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
    expect(Value.Check(CloudStats, stats)).toBe(true)
    expect(stats.nodes?.[0]).toMatchObject({ uuid: expect.any(String), ipaddress: expect.stringMatching(/^198\.1[89]\./), networks: [{ mac_address: expect.any(String) }] })
  })

  test('another organisation sees none of it', async () => {
    const created = await api('POST', '/v1/orders', order())
    const id = (created.body as { id: string }).id
    expect((await api('GET', `/v1/orders/${id}`, undefined, 'Bearer sim-api-key-b')).status).toBe(404)
    expect((await api('GET', '/v1/orders', undefined, 'Bearer sim-api-key-b')).body).toEqual([])
  })

  test('a routed /28 gives 11 addresses, the node holds one, then 409', async () => {
    const created = await api('POST', '/v1/orders', order())
    sim.faults.setOrderStatus((created.body as { id: string }).id, 'complete')
    const cloudId = ((await api('GET', `/v1/orders/${(created.body as { id: string }).id}`)).body as GetOrder).fields.clouds_deployed?.[0]?.id
    const prefixes = ((await api('GET', '/v1/prefixes')).body as Array<{ id: string, fields: { cloud_id: string } }>).filter((prefix) => prefix.fields.cloud_id === cloudId)
    expect(prefixes).toHaveLength(2)
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await api('POST', `/v1/deployment/network/prefixes/${prefixes[0]?.id ?? ''}/ip`, {})).status)
    expect(statuses.filter((status) => status === 200)).toHaveLength(10)
    expect(statuses.at(-1)).toBe(409)
  })

  test('faults: an injected status with Retry-After, a dropped answer after acting, malformed JSON', async () => {
    sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 429, retryAfter: 3 })
    const limited = await request(`${sim.url}/v1/orders/x`, { headers: { authorization: 'Bearer sim-api-key' } })
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBe('3')
    await limited.body.dump()
    const before = sim.state.ordersCreated
    sim.faults.add({ method: 'POST', path: '/v1/orders', drop: 'after' })
    await expect(api('POST', '/v1/orders', order())).rejects.toThrow()
    expect(sim.state.ordersCreated).toBe(before + 1)
    sim.faults.add({ path: '/v1/clouds', malformed: true })
    const broken = await request(`${sim.url}/v1/clouds`, { headers: { authorization: 'Bearer sim-api-key' } })
    await expect(broken.body.json()).rejects.toThrow()
  })
})
