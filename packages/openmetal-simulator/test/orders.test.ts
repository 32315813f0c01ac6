import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Value } from 'typebox/value'
import { Cloud, CloudStats, GetOrder } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { OrderCollection } from '../src/schemas.ts'
import { API_KEY_A, API_KEY_B, SSH_KEY, call, deployedCloud, idOf, orderBody, untilStatus } from './client.ts'

let sim: Simulator
let configurationA: string
let configurationB: string
let keyA: string
beforeAll(async () => {
  sim = await startSimulator({ provisioningStepMs: 20 })
  const ramdisk = { label: 'CycleOS', fields: { image_ramdisk_kernel: 'https://images.example.com/k', image_ramdisk_ramdisk: 'https://images.example.com/r' } }
  configurationA = idOf(await call(sim, 'POST', '/v1/configurations', ramdisk))
  configurationB = idOf(await call(sim, 'POST', '/v1/configurations', ramdisk, API_KEY_B))
  keyA = idOf(await call(sim, 'POST', '/v1/public-keys', { label: 'k', fields: { key_data: SSH_KEY } }))
})
afterAll(async () => { await sim.close() })

async function stockOf (pod: string, sku: string): Promise<number> {
  const reply = await call(sim, 'GET', `/v2/inventory/${pod}/availability`, undefined, null)
  return (reply.body as Record<string, { count: number }>)[sku]?.count ?? -1
}

describe('order validation', () => {
  test.each([
    ['no SSH key', () => orderBody({}, {})],
    ['an empty public_key and no ids', () => orderBody({}, { public_key: ' ', public_key_ids: [] })],
    ['an unknown public key id', () => orderBody({}, { public_key_ids: ['nope'] })],
    ['no modifications', () => orderBody({ modifications: undefined })],
    ['neither OS nor deployment configuration', () => orderBody({ modifications: {} })],
    ['an OS without a version', () => orderBody({ modifications: { operating_system: { os_key: 'Ubuntu' } } })],
    ['an unknown deployment configuration', () => orderBody({ modifications: { deployment_configuration: 'nope' } })],
    ['another organisation\'s deployment configuration', () => orderBody({ modifications: { deployment_configuration: configurationB } })],
    ['an unknown SKU', () => orderBody({ hardware_sku: 'huge_v9' })],
    ['an unknown pod', () => orderBody({ location: 'pod_77' })],
    ['quantity 0', () => orderBody({ quantity: 0 })],
    ['a fractional quantity', () => orderBody({ quantity: 1.5 })],
    ['a quantity over max_size', () => orderBody({ quantity: 11 })],
    ['a SKU sold out everywhere', () => orderBody({ hardware_sku: 'xxl_v4' })],
    ['a SKU out of stock in that pod', () => orderBody({ hardware_sku: 'xl_v4', location: 'pod_2' })],
    ['an unknown item type', () => orderBody({ type: 'vm' })],
    ['adding to an existing cloud', () => orderBody({ cloud_id: 'abc' })],
    ['no items', () => ({ label: 'x', fields: { items: [], config_options: { public_key: SSH_KEY } } })],
    ['no items field', () => ({ label: 'x', fields: {} })],
    ['no label', () => ({ fields: (orderBody() as { fields: unknown }).fields })],
    ['no body', () => undefined]
  ])('refuses an order with %s (400, nothing bought)', async (_name, body) => {
    const before = sim.state.ordersCreated
    const reply = await call(sim, 'POST', '/v1/orders', body())
    expect(reply.status).toBe(400)
    expect(reply.body).toMatchObject({ status: 400, message: expect.any(String) })
    expect(sim.state.ordersCreated).toBe(before)
  })

  test('items in two pods cannot make one cloud', async () => {
    const body = orderBody()
    const fields = body.fields as { items: Array<Record<string, unknown>> }
    fields.items.push({ ...fields.items[0], location: 'pod_3' })
    expect((await call(sim, 'POST', '/v1/orders', body)).status).toBe(400)
  })
})

describe('a valid order', () => {
  test('answers GetOrder with no cloud yet, takes stock, accepts saved key IDs and a deployment configuration', async () => {
    const before = await stockOf('pod_3', 'large_v4')
    const reply = await call(sim, 'POST', '/v1/orders', orderBody({ hardware_sku: 'large_v4', location: 'pod_3', quantity: 2, modifications: { deployment_configuration: configurationA } }, { public_key_ids: [keyA] }, 'two nodes'))
    expect(reply.status).toBe(200)
    expect(Value.Check(GetOrder, reply.body)).toBe(true)
    expect(reply.body).toMatchObject({ type: 'orders', label: 'two nodes', is_active: true, access: { role: 'owner' }, fields: { organization_id: 'org_sim_a', clouds_deployed: [] } })
    expect(await stockOf('pod_3', 'large_v4')).toBe(before - 2)
  })

  test('deploys one cloud through pending, in_progress, awaiting_setup, complete; nodes get UUID, IP and MAC from in_progress', async () => {
    // a slower clock of its own, so a busy machine cannot skip a state between two polls
    const slow = await startSimulator({ provisioningStepMs: 60 })
    try {
      await progression(slow)
    } finally {
      await slow.close()
    }
  })

  async function progression (sim: Simulator): Promise<void> {
    const orderId = idOf(await call(sim, 'POST', '/v1/orders', orderBody({ quantity: 2 }, { public_key: SSH_KEY }, 'progress')))
    const seen: string[] = []
    let cloudId = ''
    for (let attempt = 0; attempt < 400 && seen.at(-1) !== 'complete'; attempt++) {
      const order = (await call(sim, 'GET', `/v1/orders/${orderId}`)).body as GetOrder
      expect(Value.Check(GetOrder, order)).toBe(true)
      const deployed = order.fields.clouds_deployed ?? []
      expect(deployed.length).toBeLessThanOrEqual(1)
      const status = deployed[0]?.provision_status
      if (status !== undefined && seen.at(-1) !== status) {
        seen.push(status)
        cloudId = deployed[0]?.id ?? ''
        const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
        expect(stats.nodes?.length).toBe(status === 'pending' ? 0 : 2)
      }
      await new Promise((resolve) => setTimeout(resolve, 3))
    }
    expect(seen).toEqual(['pending', 'in_progress', 'awaiting_setup', 'complete'])

    const cloud = (await call(sim, 'GET', `/v1/clouds/${cloudId}`)).body as Cloud
    expect(Value.Check(Cloud, cloud)).toBe(true)
    expect(cloud).toMatchObject({ id: cloudId, label: 'progress', fields: { order_id: orderId, pod_location: 'pod_1', provision_status: 'complete', pending_delete: false, cloud_uuid: expect.any(String), hostname: expect.any(String) } })

    const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
    expect(Value.Check(CloudStats, stats)).toBe(true)
    expect(stats.cloud_state).toBe('RUNNING')
    expect(stats.nodes).toHaveLength(2)
    for (const node of stats.nodes ?? []) {
      expect(node).toMatchObject({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), power_state: 'power on', ipaddress: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), networks: [{ mac_address: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) }] })
    }
    expect(stats.vlans?.map((vlan) => vlan.prefixes?.[0]?.usage)).toEqual(['inventory', 'provider'])
    const inventoryCidr = stats.vlans?.[0]?.prefixes?.[0]?.cidr ?? ''
    expect(inventoryCidr).toMatch(/\/28$/)
    const ips = stats.vlans?.[0]?.prefixes?.[0]?.ip_addrs?.map((address) => address.ip)
    expect(ips).toEqual(stats.nodes?.map((node) => node.ipaddress))
  }

  test('GET /v1/orders lists the organisation\'s orders in the OrderCollection shape, and new clouds appear in /v1/clouds unasked', async () => {
    const orderId = idOf(await call(sim, 'POST', '/v1/orders', orderBody({}, { public_key: SSH_KEY }, 'listed')))
    const orders = (await call(sim, 'GET', '/v1/orders')).body as Array<{ id: string }>
    expect(orders.every((order) => Value.Check(OrderCollection, order))).toBe(true)
    expect(orders.map((order) => order.id)).toContain(orderId)
    await new Promise((resolve) => setTimeout(resolve, 30))
    // nobody looked at the order: the cloud exists anyway because its time has come
    const clouds = (await call(sim, 'GET', '/v1/clouds')).body as Cloud[]
    expect(clouds.every((cloud) => Value.Check(Cloud, cloud))).toBe(true)
    expect(clouds.some((cloud) => cloud.fields?.order_id === orderId)).toBe(true)
  })

  test('manual_setup holds until set back; null hands the order back to the clock', async () => {
    const orderId = idOf(await call(sim, 'POST', '/v1/orders', orderBody()))
    sim.faults.setOrderStatus(orderId, 'manual_setup')
    const cloudId = await untilStatus(sim, orderId, 'manual_setup')
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(((await call(sim, 'GET', `/v1/clouds/${cloudId}`)).body as Cloud).fields?.provision_status).toBe('manual_setup')
    const admin = await call(sim, 'POST', `/_sim/orders/${orderId}/status`, { provision_status: null }, null)
    expect(admin.status).toBe(200)
    await untilStatus(sim, orderId, 'complete')
    expect((await call(sim, 'POST', `/_sim/orders/${orderId}/status`, { provision_status: 'exploded' }, null)).status).toBe(400)
    expect((await call(sim, 'POST', '/_sim/orders/nope/status', { provision_status: 'complete' }, null)).status).toBe(404)
  })
})

describe('clouds', () => {
  test('DELETE marks pending delete (200), again is 200, unknown is 404', async () => {
    const { cloudId } = await deployedCloud(sim)
    expect((await call(sim, 'DELETE', `/v1/clouds/${cloudId}`)).status).toBe(200)
    const cloud = (await call(sim, 'GET', `/v1/clouds/${cloudId}`)).body as Cloud
    expect(cloud.fields?.pending_delete).toBe(true)
    expect(((await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats).cloud_state).toBe('PENDING-DELETE')
    expect((await call(sim, 'DELETE', `/v1/clouds/${cloudId}`)).status).toBe(200)
    expect(sim.state.cloudsDeleted).toBeGreaterThanOrEqual(1)
    expect((await call(sim, 'DELETE', '/v1/clouds/nope')).status).toBe(404)
    expect((await call(sim, 'GET', '/v1/clouds/nope')).status).toBe(404)
    expect((await call(sim, 'GET', '/v1/orders/nope')).status).toBe(404)
  })
})

describe('a deleted cloud is wiped', () => {
  test('after wipeAfterMs it is gone from every list, with its VLANs and delivered blocks, and its order is no longer active', async () => {
    const quick = await startSimulator({ provisioningStepMs: 20, wipeAfterMs: 150 })
    try {
      const { orderId, cloudId } = await deployedCloud(quick)
      expect((await call(quick, 'DELETE', `/v1/clouds/${cloudId}`)).status).toBe(200)
      expect(((await call(quick, 'GET', `/v1/clouds/${cloudId}`)).body as Cloud).fields?.pending_delete).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect((await call(quick, 'GET', `/v1/clouds/${cloudId}`)).status).toBe(404)
      expect(((await call(quick, 'GET', '/v1/clouds')).body as Cloud[]).map((cloud) => cloud.id)).not.toContain(cloudId)
      expect(((await call(quick, 'GET', '/v1/prefixes')).body as Array<{ fields: { cloud_id?: string } }>).filter((prefix) => prefix.fields.cloud_id === cloudId)).toEqual([])
      expect(((await call(quick, 'GET', `/v1/orders/${orderId}`)).body as { is_active: boolean }).is_active).toBe(false)
    } finally {
      await quick.close()
    }
  })
})

describe('tenant isolation', () => {
  test('organisation B sees none of A\'s orders, clouds or prefixes, and cannot act on them', async () => {
    const { orderId, cloudId } = await deployedCloud(sim)
    const stats = (await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats
    const node = stats.nodes?.[0]?.uuid ?? ''
    const prefixes = ((await call(sim, 'GET', '/v1/prefixes')).body as Array<{ id: string, fields: { cloud_id: string } }>).filter((prefix) => prefix.fields.cloud_id === cloudId)
    for (const path of [`/v1/orders/${orderId}`, `/v1/clouds/${cloudId}`, `/v1/clouds/${cloudId}/stats`, `/v1/prefixes/${prefixes[0]?.id ?? ''}`, `/v1/deployment/network/prefix/${prefixes[0]?.id ?? ''}`]) {
      expect((await call(sim, 'GET', path, undefined, API_KEY_B)).status).toBe(404)
    }
    expect((await call(sim, 'DELETE', `/v1/clouds/${cloudId}`, undefined, API_KEY_B)).status).toBe(404)
    expect((await call(sim, 'POST', `/v1/deployment/cloud/${cloudId}/node/${node}/power`, { power_state: 'power off' }, API_KEY_B)).status).toBe(404)
    expect((await call(sim, 'POST', `/v1/deployment/network/prefixes/${prefixes[0]?.id ?? ''}/ip`, {}, API_KEY_B)).status).toBe(404)
    for (const path of ['/v1/orders', '/v1/clouds', '/v1/prefixes']) {
      const mine = (await call(sim, 'GET', path, undefined, API_KEY_B)).body as Array<{ id: string }>
      expect(mine.map((item) => item.id)).not.toContain(path === '/v1/orders' ? orderId : cloudId)
    }
    expect(((await call(sim, 'GET', `/v1/clouds/${cloudId}`, undefined, API_KEY_A)).body as Cloud).fields?.pending_delete).toBe(false)
  })
})
