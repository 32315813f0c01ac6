import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { request } from 'undici'
import { objectId, startHarness, tenantA, tenantB, type Harness } from '../helpers/harness.ts'
import { cycleServer, provisionBody, serverActionBody, statusBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { ordered, provisioned, stockedModel, unprovisioned, untilProvisioned } from '../helpers/lifecycle.ts'
import { serverIdCodec } from '../../src/mapping/identifiers.ts'
import { HUB_SSH_PUBLIC_KEY } from '../helpers/fixtures.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

async function ordersLabelled (label: string, apiKey = 'sim-api-key'): Promise<Array<{ id: string, label: string, fields: { items: Array<{ quantity: number, type: string }> } }>> {
  const orders = (await h.openMetal('GET', '/v1/orders', undefined, apiKey)).body as Array<{ id: string, label: string, fields: { items: Array<{ quantity: number, type: string }> } }>
  return orders.filter((order) => order.label === label)
}

describe('provision', () => {
  test('orders one baremetal server, quantity 1, tagged with the hub and Cycle server', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    const answer = await provision()
    expect(answer.status).toBe(200)
    const data = answer.body.data as { server_id: string, extra: { order_id: string } }
    const ref = serverIdCodec.decode(data.server_id)
    expect(ref).toMatchObject({ orderId: data.extra.order_id, pod: server.locationId })
    const orders = await ordersLabelled(`cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`)
    expect(orders).toHaveLength(1)
    expect(orders[0]?.fields.items).toEqual([expect.objectContaining({ quantity: 1, type: 'baremetal', hardware_sku: server.modelId, location: server.locationId })])
  })

  test('a repeated provision returns the same server and buys nothing more', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    const first = await provision()
    const again = await Promise.all([1, 2, 3, 4].map(() => h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server))))
    const ids = new Set([first, ...again].map((answer) => (answer.body.data as { server_id: string }).server_id.split('.').slice(0, 3).join('.')))
    expect(ids.size).toBe(1)
    expect(await ordersLabelled(`cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`)).toHaveLength(1)
  })

  test('provisions overlapping before the order exists (Cycle timed out and retried while the first was buying) buy once', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    const before = h.ordersCreated()
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', delayMs: 300, times: 3 })
    try {
      const answers = await Promise.all([provision(), provision(), provision()])
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200])
      // one order; a later answer may carry its cloud too, once deployed (the simulator deploys in 20 ms steps)
      expect(new Set(answers.map((answer) => (answer.body.data as { server_id: string }).server_id.split('.').slice(0, 3).join('.'))).size).toBe(1)
      expect(h.ordersCreated() - before).toBe(1)
      expect(await ordersLabelled(`cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`)).toHaveLength(1)
    } finally {
      h.sim.faults.clear()
    }
  })

  test('the server_id carries the pod the adapter checked and ordered in, whatever OpenMetal calls it in its answers', async () => {
    const { server, provision } = await unprovisioned(h)
    // OpenMetal spelling the pod its own way in every order it shows (POD_1): a server_id could not carry that
    const shout = (order: unknown): unknown => {
      const fields = (order as { fields?: { items?: Array<Record<string, unknown>> } }).fields
      return { ...(order as object), fields: { ...fields, items: fields?.items?.map((item) => ({ ...item, location: String(item.location).toUpperCase() })) } }
    }
    h.sim.faults.setAnswerHook((answer, request) => request.path.startsWith('/v1/orders') && answer.status === 200
      ? { ...answer, body: Array.isArray(answer.body) ? answer.body.map(shout) : shout(answer.body) }
      : answer)
    try {
      const first = await provision()
      const again = await provision()
      for (const answer of [first, again]) {
        expect(answer.status).toBe(200)
        const data = answer.body.data as { server_id: string, extra: { pod: string } }
        expect(serverIdCodec.decode(data.server_id)?.pod).toBe(server.locationId)
        expect(data.extra.pod).toBe(server.locationId)
      }
    } finally {
      h.sim.faults.setAnswerHook(undefined)
    }
  })

  test('a hub or Cycle server ID that a tag cannot carry is refused before anything is bought', async () => {
    const { tenant, server } = await unprovisioned(h)
    const before = h.ordersCreated()
    for (const cycleServerId of ['', 'aa:bb', 'a b']) {
      const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, { ...server, cycleServerId }))
      expect(answer.status).toBe(422)
      expect(answer.body.error).toMatchObject({ code: '422.invalid-argument', source: '/request/cycle/server_id' })
    }
    const badHub = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody({ ...tenant, cycle: { ...tenant.cycle, hub_id: 'hub:one' } }, server))
    expect(badHub.body.error).toMatchObject({ code: '422.invalid-argument', source: '/auth/cycle/hub_id' })
    expect(h.ordersCreated() - before).toBe(0)
  })

  test('an unknown SKU or pod is refused before any lookup, even for a known server', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    await provision()
    const badModel = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, { ...server, modelId: 'no_such_v9' }))
    expect(badModel.status).toBe(404)
    expect(badModel.body.error).toMatchObject({ code: '404.infrastructure.model', source: '/request/model_id' })
    const badPod = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, { ...server, locationId: 'pod_404' }))
    expect(badPod.status).toBe(404)
    expect(badPod.body.error).toMatchObject({ code: '404.infrastructure.location' })
  })

  test('a pre-release pod is not offered', async () => {
    const inventory = (await h.openMetal('GET', '/v2/inventory/locations')).body as { locations: Record<string, { release_status: string }> }
    const preRelease = Object.entries(inventory.locations).find(([, pod]) => pod.release_status === 'pre-release')?.[0]
    expect(preRelease).toBeDefined()
    const { modelId } = await stockedModel(h)
    const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenantA(), cycleServer(modelId, preRelease ?? '')))
    expect(answer.body.error).toMatchObject({ code: '422.not-compatible' })
  })

  test('bad input is a 4xx envelope that names the field', async () => {
    const { modelId, locationId } = await stockedModel(h)
    const body = provisionBody(tenantA(), cycleServer(modelId, locationId))
    const wrongType = await h.call('POST', '/v1/infrastructure/server/provision', { ...body, request: { ...body.request, hostname: 42 } })
    expect(wrongType.status).toBe(422)
    expect(wrongType.body.error?.source).toBe('/request/hostname')
    const missing = await h.call('POST', '/v1/infrastructure/server/provision', { auth: body.auth })
    expect(missing.status).toBe(422)
    expect(missing.body.error).toMatchObject({ code: '422.missing-argument', source: '/request' })
    const noHub = await h.call('POST', '/v1/infrastructure/server/provision', { ...body, auth: { client_id: 'sim-client', secret: 'sim-secret' } })
    expect(noHub.body.error).toMatchObject({ code: '422.missing-argument', source: '/auth/cycle/hub_id' })
    const badConfig = await h.call('POST', '/v1/infrastructure/server/provision', { ...body, auth: { ...body.auth, config: 'not base64!' } })
    expect(badConfig.body.error).toMatchObject({ code: '422.invalid-argument', source: '/auth/config' })
    const malformed = await h.call('POST', '/v1/infrastructure/server/provision', '{"auth":')
    expect(malformed.body.error).toMatchObject({ status: 400, code: '400.invalid-syntax' })
    const huge = await h.call('POST', '/v1/infrastructure/server/provision', { ...body, request: { ...body.request, hostname: 'x'.repeat(2_000_000) } })
    expect(huge.status).toBe(413)
  })

  test('a hub\'s auth.config overrides the deployment configuration and SSH key', async () => {
    const tenant = { ...tenantA(), config: Buffer.from(JSON.stringify({ deployment_configuration: h.deploymentConfiguration, ssh_public_key: HUB_SSH_PUBLIC_KEY })).toString('base64') }
    const { modelId, locationId } = await stockedModel(h)
    const server = cycleServer(modelId, locationId)
    const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server))
    expect(answer.status).toBe(200)
    const [order] = await ordersLabelled(`cycle:${tenant.cycle.hub_id}:${server.cycleServerId}`) as unknown as Array<{ fields: { config_options: { public_key: string } } }>
    expect(order?.fields.config_options.public_key).toBe(HUB_SSH_PUBLIC_KEY)
  })
})

describe('provision-status', () => {
  test('GET with a JSON body over a real socket and POST both answer; provisioned only with uuid, IP and MAC', async () => {
    const { tenant, server, provision } = await unprovisioned(h)
    const created = await provision()
    const { server_id: serverId, extra } = created.body.data as { server_id: string, extra: Record<string, unknown> }
    const early = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(early.status).toBe(200)
    expect(early.body.data).toMatchObject({ server_id: serverId, provisioned: false, auth: { uuid: null, initial_ips: null, mac_addr: null } })
    const done = await untilProvisioned(h, tenant, server, serverId, extra)
    const auth = done.auth as { uuid: string, initial_ips: string[], mac_addr: string }
    expect(auth.uuid).toMatch(/^[0-9a-f-]{36}$/)
    expect(auth.initial_ips).toHaveLength(1)
    expect(auth.mac_addr).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
    const stats = (await h.openMetal('GET', `/v1/clouds/${String((done.extra as { cloud_id: string }).cloud_id)}/stats`)).body as { nodes: Array<{ uuid: string, ipaddress: string }> }
    expect(stats.nodes[0]).toMatchObject({ uuid: auth.uuid, ipaddress: auth.initial_ips[0] })

    // the raw socket: a GET request line with content-length and a JSON body
    const raw = await request(`${h.url}/v1/infrastructure/server/provision-status`, { method: 'GET', headers: { 'content-type': 'application/json' }, body: JSON.stringify(statusBody(tenant, server, serverId, null)) })
    expect(raw.statusCode).toBe(200)
    expect(((await raw.body.json()) as { data: { provisioned: boolean } }).data.provisioned).toBe(true)
  })

  test('provision-check (the name Cycle\'s IAL documentation uses) answers exactly as provision-status, GET with a body and POST', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    const body = statusBody(tenant, server, serverId, null)
    const status = await h.call('POST', '/v1/infrastructure/server/provision-status', body)
    const checked = await h.call('POST', '/v1/infrastructure/server/provision-check', body)
    const raw = await request(`${h.url}/v1/infrastructure/server/provision-check`, { method: 'GET', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(status.status).toBe(200)
    expect([checked.status, checked.body]).toEqual([200, status.body])
    expect([raw.statusCode, await raw.body.json()]).toEqual([200, status.body])
    const forged = await h.call('POST', '/v1/infrastructure/server/provision-check', statusBody(tenant, server, 'not-a-token'))
    expect(forged.body.error?.code).toBe('422.invalid-argument')
  })

  test.each([
    ['reservation_id', { reservation_id: 'res-123' }],
    ['encrypt_storage', { encrypt_storage: true }],
    ['attached_storage_size', { attached_storage_size: 10_000_000 }]
  ])('provision_options.%s it cannot honour: 422.not-compatible naming it, nothing bought', async (option, options) => {
    const { tenant, server } = await unprovisioned(h)
    const before = h.ordersCreated()
    const body = provisionBody(tenant, server)
    const answer = await h.call('POST', '/v1/infrastructure/server/provision', { ...body, request: { ...body.request, provision_options: options } })
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.not-compatible', source: `/request/provision_options/${option}` })
    expect(answer.body.error?.detail).toContain(option)
    expect(h.ordersCreated()).toBe(before)
  })

  test('a GET without a body says it needs the wrapper', async () => {
    const answer = await h.call('GET', '/v1/infrastructure/server/provision-status')
    expect(answer.status).toBe(422)
    expect(answer.body.error?.detail).toMatch(/wrapper/)
  })

  test('a forged token is refused; another hub\'s server is not found', async () => {
    const tenant = tenantA()
    const server = cycleServer('medium_v4', 'pod_1')
    const forged = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, '../../v1/clouds'))
    expect(forged.status).toBe(422)
    expect(forged.body.error).toMatchObject({ code: '422.invalid-argument', source: '/request/server_id' })
    const { server: owned, serverId } = await ordered(h, tenant)
    const stranger = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody({ ...tenant, cycle: { hub_id: objectId(), hub_name: 'other' } }, owned, serverId))
    expect(stranger.status).toBe(404)
    expect(stranger.body.error).toMatchObject({ code: '404.infrastructure.server' })
    const otherOrg = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenantB(tenant.cycle.hub_id), owned, serverId))
    expect(otherOrg.status).toBe(404)
  })

  test('manual setup stays unprovisioned and says why and for how long', async () => {
    const tenant = tenantA()
    const { server, serverId, orderId } = await ordered(h, tenant)
    h.sim.faults.setOrderStatus(orderId, 'manual_setup')
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId))
    expect(answer.body.data).toMatchObject({ provisioned: false, extra: { state: 'manual_setup', reason: expect.stringMatching(/OpenMetal staff/), manual_setup_minutes: expect.any(Number) } })
  })

  test('a cloud deleted while provisioning is an explicit error, not an endless poll', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    await h.openMetal('DELETE', `/v1/clouds/${String(extra.cloud_id)}`)
    const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(404)
    expect(answer.body.error?.detail).toMatch(/deleted/)
  })

  test('a cloud wiped at OpenMetal (its GET answers 404) ends the poll too', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.add({ method: 'GET', path: `/v1/clouds/${String(extra.cloud_id)}`, status: 404, body: { error: 'not found' }, times: Infinity })
    try {
      const answer = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
      expect(answer.status).toBe(404)
      expect(answer.body.error).toMatchObject({ code: '404.infrastructure.server', detail: expect.stringMatching(/no longer exists/) })
    } finally {
      h.sim.faults.clear()
    }
  })
})

describe('restart and decommission', () => {
  test('restart reboots the node; a locked node is a retryable 409', async () => {
    const tenant = tenantA()
    const { server, serverId, status } = await provisioned(h, tenant)
    const answer = await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId))
    expect(answer.status).toBe(200)
    expect(answer.body.data).toBe(true)
    h.sim.faults.lockNode(String((status.auth as { uuid: string }).uuid), 60_000)
    const locked = await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId))
    // Cycle's catalogue has no 409 for "busy": a retryable 503.not-ready that says why
    expect(locked.status).toBe(503)
    expect(locked.body.error?.code).toBe('503.not-ready')
    expect(locked.body.error?.detail).toMatch(/locked the node/)
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0)
  })

  test('restart before the server exists is not-ready', async () => {
    const tenant = tenantA()
    const { server, serverId } = await ordered(h, tenant)
    const answer = await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId))
    expect(answer.status).toBe(503)
  })

  test('decommission deletes the cloud; again is still true; another hub touches nothing', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    const stranger = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody({ ...tenant, cycle: { hub_id: objectId(), hub_name: 'x' } }, server, serverId))
    expect(stranger.status).toBe(404)
    expect(((await h.openMetal('GET', `/v1/clouds/${String(extra.cloud_id)}`)).body as { fields: { pending_delete: boolean } }).fields.pending_delete).toBe(false)
    const answer = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra))
    expect(answer.body.data).toBe(true)
    expect(((await h.openMetal('GET', `/v1/clouds/${String(extra.cloud_id)}`)).body as { fields: { pending_delete: boolean } }).fields.pending_delete).toBe(true)
    const again = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra))
    expect(again.body.data).toBe(true)
  })
  test('decommission of a cloud whose own record names another order deletes nothing (it may be someone else\'s): 503 until OpenMetal\'s records agree', async () => {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    const cloudId = String(extra.cloud_id)
    const real = (await h.openMetal('GET', `/v1/clouds/${cloudId}`)).body as Record<string, unknown> & { fields: Record<string, unknown> }
    const before = h.sim.state.cloudsDeleted
    try {
      h.sim.faults.add({ method: 'GET', path: `/v1/clouds/${cloudId}`, status: 200, body: { ...real, fields: { ...real.fields, order_id: 'some-other-order' } }, times: Infinity })
      const refused = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra))
      expect(refused.status).toBe(503)
      expect(refused.body.error?.detail).toMatch(/belongs to order some-other-order: nothing is done with it/)
    } finally {
      h.sim.faults.clear()
    }
    // read past the fault: the cloud itself was not touched
    expect(((await h.openMetal('GET', `/v1/clouds/${cloudId}`)).body as { fields: { pending_delete: boolean } }).fields.pending_delete).toBe(false)
    expect(h.sim.state.cloudsDeleted).toBe(before)
    // once the records agree, decommission goes ahead
    const done = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra))
    expect(done).toMatchObject({ status: 200, body: { data: true } })
  })

  test('decommission before the cloud exists: not yet (retry) while the order is active, done once it is not', async () => {
    const tenant = tenantA()
    const { server, serverId, orderId } = await ordered(h, tenant)
    const order = (await h.openMetal('GET', `/v1/orders/${orderId}`)).body as Record<string, unknown> & { fields: Record<string, unknown> }
    const withoutCloud = (active: boolean) => ({ ...order, is_active: active, fields: { ...order.fields, clouds_deployed: [] } })
    try {
      h.sim.faults.add({ method: 'GET', path: `/v1/orders/${orderId}`, status: 200, body: withoutCloud(true), times: Infinity })
      const pending = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId))
      expect(pending.status).toBe(503)
      expect(pending.headers['retry-after']).toBeDefined()
      h.sim.faults.clear()
      h.sim.faults.add({ method: 'GET', path: `/v1/orders/${orderId}`, status: 200, body: withoutCloud(false), times: Infinity })
      const done = await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId))
      expect(done).toMatchObject({ status: 200, body: { data: true } })
    } finally {
      h.sim.faults.clear()
    }
  })
})

describe('provision in a pod the server_id cannot carry', () => {
  test('is refused before anything is bought, not after (a 500 on every retry while the server bills)', async () => {
    const fresh = await startHarness({ env: { CATALOG_TTL_MS: '0' } })
    try {
      const { modelId } = await stockedModel(fresh)
      const pods = ((await fresh.openMetal('GET', '/v2/inventory/locations')).body as { locations: Record<string, unknown> }).locations
      fresh.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', status: 200, body: { locations: { ...pods, 'ams-2b': pods.pod_1 } }, times: Infinity })
      const answer = await fresh.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenantA(), cycleServer(modelId, 'ams-2b')))
      expect(answer.status).toBe(422)
      expect(answer.body.error).toMatchObject({ code: '422.not-compatible', source: '/request/location_id' })
      expect(fresh.ordersCreated()).toBe(0)
    } finally {
      await fresh.close()
    }
  })
})
