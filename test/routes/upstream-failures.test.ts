/**
 * What Cycle sees when OpenMetal fails under a route: the status and Cycle error code,
 * OpenMetal's reason when it refused (4xx) and never the body of a failure (5xx: every fault
 * body carries MARKER), nothing billable created or deleted behind Cycle's back, and the
 * same call working once OpenMetal recovers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Answer, type Harness } from '../helpers/harness.ts'
import { allocateBody, configureBody, releaseBody, serverActionBody, type AllocatedIp } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { provisioned } from '../helpers/lifecycle.ts'
import { ipIdCodec } from '../../src/mapping/identifiers.ts'
import type { FaultRule } from '@cycle-ial-openmetal/openmetal-simulator'

const MARKER = 'om-upstream-body-5c1e9'

let h: Harness
// the catalog is not cached, so every call reaches the faults
beforeAll(async () => { h = await startHarness({ env: { CATALOG_TTL_MS: '0' } }) })
afterAll(async () => { await h.close() })
afterEach(() => { h.sim.faults.clear() })

/** a persistent fault unless `times` says otherwise, whose body must never reach Cycle */
function fault (rule: FaultRule): void {
  h.sim.faults.add({ times: Infinity, body: { error: MARKER, detail: `${MARKER}: stack trace`, request_id: MARKER }, ...rule })
}

/** `refused`: OpenMetal answered 4xx, and its reason (the fault body's `detail`) reaches Cycle's detail */
function expectError (answer: Answer, status: number, code: string, upstream: 'failed' | 'refused' = 'failed'): void {
  expect(answer.status).toBe(status)
  expect(answer.body).toMatchObject({ data: null, error: { status, code, title: expect.any(String) } })
  if (upstream === 'failed') expect(JSON.stringify(answer.body)).not.toContain(MARKER)
  else expect(answer.body.error?.detail).toContain(`${MARKER}: stack trace`)
  if (status === 503 || status === 429) expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0)
}

/** how many requests the adapter made to OpenMetal matching method and path since `from` */
function sent (from: number, method: string, path: RegExp): number {
  return h.sim.state.requests.slice(from).filter((entry) => entry.method === method && path.test(entry.path)).length
}

type Model = { provider: { model_id: string, locations: string[] } }
const serverModels = () => h.call('GET', '/v1/infrastructure/provider/server-models')
const modelsOf = (answer: Answer): Model[] => (answer.body.data as { models: Model[] }).models

describe('server-models when the catalog fails', () => {
  test('GET /v1/products answering 500 is 503.not-ready, then the full catalog once OpenMetal recovers', async () => {
    fault({ method: 'GET', path: '/v1/products', status: 500 })
    expectError(await serverModels(), 503, '503.not-ready')
    h.sim.faults.clear()
    const recovered = await serverModels()
    expect(recovered.status).toBe(200)
    expect(modelsOf(recovered).length).toBeGreaterThan(0)
  })

  test('a 429 from GET /v1/products asking for 30 s is 429.rate-limiting passing that Retry-After on to Cycle', async () => {
    fault({ method: 'GET', path: '/v1/products', status: 429, retryAfter: 30 })
    const answer = await serverModels()
    expectError(answer, 429, '429.rate-limiting', 'refused')
    expect(answer.headers['retry-after']).toBe('30')
  })

  test('a single 503 from GET /v1/products is retried: Cycle gets the same catalog as without it', async () => {
    const baseline = modelsOf(await serverModels())
    fault({ method: 'GET', path: '/v1/products', status: 503, times: 1 })
    const answer = await serverModels()
    expect(answer.status).toBe(200)
    expect(modelsOf(answer)).toEqual(baseline)
  })

  test('GET /v2/inventory/locations answering 500 is 503.not-ready, not an empty list', async () => {
    fault({ method: 'GET', path: '/v2/inventory/locations', status: 500 })
    expectError(await serverModels(), 503, '503.not-ready')
  })

  test('one pod\'s availability answering 500 is 503.not-ready, not a catalog silently missing that pod\'s stock', async () => {
    fault({ method: 'GET', path: '/v2/inventory/pod_1/availability', status: 500 })
    expectError(await serverModels(), 503, '503.not-ready')
    h.sim.faults.clear()
    const recovered = await serverModels()
    expect(modelsOf(recovered).some((model) => model.provider.locations.includes('pod_1'))).toBe(true)
  })

  test('the public catalog refused (400, 401, 403, 404) is OpenMetal\'s trouble: 503.not-ready, never bad credentials, a bad request or a missing server', async () => {
    for (const [path, status] of [['/v1/products', 401], ['/v1/products', 403], ['/v2/inventory/locations', 404], ['/v1/products', 400]] as const) {
      fault({ method: 'GET', path, status })
      expectError(await serverModels(), 503, '503.not-ready', 'refused')
      h.sim.faults.clear()
    }
  })

  test('one pod\'s stock refused (404) leaves that pod out, not the whole list', async () => {
    fault({ method: 'GET', path: '/v2/inventory/pod_1/availability', status: 404 })
    const answer = await serverModels()
    expect(answer.status).toBe(200)
    const models = (answer.body.data as { models: Array<{ provider: { locations: string[] } }> }).models
    expect(models.flatMap((model) => model.provider.locations)).not.toContain('pod_1')
    expect(models.some((model) => model.provider.locations.length > 0)).toBe(true)
  })

  test('every pod\'s availability answering 504 is 504.not-available', async () => {
    fault({ method: 'GET', path: '/v2/inventory/*/availability', status: 504 })
    expectError(await serverModels(), 504, '504.not-available')
  })
})

describe('configure when the location list fails', () => {
  const configure = () => h.call('POST', '/v1/location/configure', configureBody(tenantA(), 'pod_1'))

  test('500 is 503.not-ready (not 404.infrastructure.location: the pod is not gone), and configure works afterwards', async () => {
    fault({ method: 'GET', path: '/v2/inventory/locations', status: 500 })
    expectError(await configure(), 503, '503.not-ready')
    h.sim.faults.clear()
    expect(await configure()).toMatchObject({ status: 200, body: { data: { configured: true } } })
  })

  test('the location list answering 404 or 401 is 503.not-ready, not a missing server or bad credentials', async () => {
    for (const status of [404, 401]) {
      fault({ method: 'GET', path: '/v2/inventory/locations', status })
      expectError(await configure(), 503, '503.not-ready', 'refused')
      h.sim.faults.clear()
    }
  })

  test('a single 503 is retried and the pod is configured', async () => {
    fault({ method: 'GET', path: '/v2/inventory/locations', status: 503, times: 1 })
    expect(await configure()).toMatchObject({ status: 200, body: { data: { configured: true } } })
  })
})

describe('decommission when OpenMetal fails', () => {
  async function server () {
    const tenant = tenantA()
    const { server, serverId, extra } = await provisioned(h, tenant)
    const cloudId = String(extra.cloud_id)
    const pendingDelete = async (): Promise<boolean> => ((await h.openMetal('GET', `/v1/clouds/${cloudId}`)).body as { fields: { pending_delete: boolean } }).fields.pending_delete
    return { cloudId, pendingDelete, decommission: () => h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra)) }
  }

  test('DELETE /v1/clouds/{id} answering 500 is 503.not-ready; the cloud still bills, and Cycle\'s retry deletes it', async () => {
    const { cloudId, pendingDelete, decommission } = await server()
    fault({ method: 'DELETE', path: `/v1/clouds/${cloudId}`, status: 500 })
    expectError(await decommission(), 503, '503.not-ready')
    expect(await pendingDelete()).toBe(false)
    h.sim.faults.clear()
    expect(await decommission()).toMatchObject({ status: 200, body: { data: true } })
    expect(await pendingDelete()).toBe(true)
  })

  test('DELETE /v1/clouds/{id} answering 403 is 403.permissions, never data:true for a cloud that still exists', async () => {
    const { cloudId, pendingDelete, decommission } = await server()
    fault({ method: 'DELETE', path: `/v1/clouds/${cloudId}`, status: 403 })
    const answer = await decommission()
    expectError(answer, 403, '403.permissions', 'refused')
    expect(answer.body.error?.detail).toMatch(/permission/)
    expect(await pendingDelete()).toBe(false)
  })

  test('GET /v1/clouds/{id} answering 500 is 503.not-ready and no DELETE is sent blind', async () => {
    const { cloudId, pendingDelete, decommission } = await server()
    fault({ method: 'GET', path: `/v1/clouds/${cloudId}`, status: 500 })
    const from = h.sim.state.requests.length
    expectError(await decommission(), 503, '503.not-ready')
    expect(sent(from, 'DELETE', /^\/v1\/clouds\//)).toBe(0)
    h.sim.faults.clear()
    expect(await pendingDelete()).toBe(false)
  })

  test('a single 503 from GET /v1/clouds/{id} is retried and the cloud is deleted', async () => {
    const { cloudId, pendingDelete, decommission } = await server()
    fault({ method: 'GET', path: `/v1/clouds/${cloudId}`, status: 503, times: 1 })
    expect(await decommission()).toMatchObject({ status: 200, body: { data: true } })
    expect(await pendingDelete()).toBe(true)
  })
})

describe('IP allocate and release when OpenMetal fails', () => {
  const tenant = tenantA()
  let ctx: Awaited<ReturnType<typeof provisioned>>
  beforeAll(async () => { ctx = await provisioned(h, tenant) })
  const allocate = () => h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, ctx.server, ctx.serverId))
  const release = (ip: AllocatedIp) => h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, ctx.server, ctx.serverId, ip))
  const CREATE_IP = /^\/v1\/deployment\/network\/prefixes\/[^/]+\/ip$/

  /** hubAddresses, with the faults of the test set aside and put back */
  async function hubAddressesUnfaulted (): Promise<string[]> {
    const active = h.sim.faults.list().map((entry) => entry.rule)
    h.sim.faults.clear()
    try {
      return await hubAddresses()
    } finally {
      for (const rule of active) h.sim.faults.add(rule)
    }
  }

  /** the addresses of the server's cloud labelled for this hub, as OpenMetal has them */
  async function hubAddresses (): Promise<string[]> {
    const prefixes = (await h.openMetal('GET', '/v1/prefixes')).body as Array<{ id: string, fields: { cloud_id: string } }>
    const mine = prefixes.filter((prefix) => prefix.fields.cloud_id === ctx.extra.cloud_id)
    const details = await Promise.all(mine.map(async (prefix) => (await h.openMetal('GET', `/v1/deployment/network/prefix/${prefix.id}`)).body as { ip_addrs: Array<{ ip: string, label: string }> }))
    return details.flatMap((detail) => detail.ip_addrs.filter((ip) => ip.label.startsWith(`cycle:${tenant.cycle.hub_id}:`)).map((ip) => ip.ip))
  }

  async function allocated (): Promise<AllocatedIp & { address: string }> {
    const answer = await allocate()
    expect(answer.status).toBe(200)
    const ip = answer.body.data as AllocatedIp
    return { ...ip, address: ip.cidr.split('/')[0] ?? '' }
  }

  test('an IP block in a shape the adapter cannot read is skipped, of another cloud or of this one; the readable blocks still serve', async () => {
    const prefixes = (await h.openMetal('GET', '/v1/prefixes')).body as Array<Record<string, unknown>>
    for (const odd of [{ id: 'odd1', fields: { cloud_id: 'someone-elses-cloud', cidr: 42 } }, { id: 'odd2', fields: { cloud_id: ctx.extra.cloud_id, cidr: { v4: true } } }]) {
      fault({ method: 'GET', path: '/v1/prefixes', status: 200, body: [...prefixes, odd] })
      const before = await hubAddressesUnfaulted()
      const ip = await allocated()
      expect(ipIdCodec.decode(ip.ip_id)?.prefixId).not.toBe(odd.id)
      expect(await hubAddressesUnfaulted()).toEqual([...before, ip.address])
      h.sim.faults.clear()
    }
  })

  test('GET /v1/prefixes answering 500 is 503.not-ready and no address is created', async () => {
    const before = await hubAddresses()
    fault({ method: 'GET', path: '/v1/prefixes', status: 500 })
    const from = h.sim.state.requests.length
    expectError(await allocate(), 503, '503.not-ready')
    expect(sent(from, 'POST', CREATE_IP)).toBe(0)
    h.sim.faults.clear()
    expect(await hubAddresses()).toEqual(before)
  })

  test('GET /v1/prefixes or the create answering 404 is 503.not-ready: the server is not gone', async () => {
    for (const rule of [{ method: 'GET', path: '/v1/prefixes', status: 404 }, { method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', status: 404 }]) {
      fault(rule)
      expectError(await allocate(), 503, '503.not-ready', 'refused')
      h.sim.faults.clear()
    }
  })

  test('a single 503 from GET /v1/prefixes is retried and one address is handed out', async () => {
    const before = await hubAddresses()
    fault({ method: 'GET', path: '/v1/prefixes', status: 503, times: 1 })
    const ip = await allocated()
    expect(await hubAddresses()).toEqual([...before, ip.address])
  })

  test('the create-IP POST answering 500 is 503.not-ready, is not blindly repeated, and Cycle\'s retry gets exactly one address', async () => {
    const before = await hubAddresses()
    fault({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', status: 500, times: 1 })
    const from = h.sim.state.requests.length
    expectError(await allocate(), 503, '503.not-ready')
    expect(sent(from, 'POST', CREATE_IP)).toBe(1)
    expect(await hubAddresses()).toEqual(before)
    const ip = await allocated()
    expect(await hubAddresses()).toEqual([...before, ip.address])
  })

  test('the create-IP POST answering 403 is 403.permissions and no address is created', async () => {
    const before = await hubAddresses()
    fault({ method: 'POST', path: '/v1/deployment/network/prefixes/*/ip', status: 403 })
    expectError(await allocate(), 403, '403.permissions', 'refused')
    expect(await hubAddresses()).toEqual(before)
  })

  test('the DELETE of the IP answering 500 is 503.not-ready; the address stays until Cycle\'s retry releases it', async () => {
    const ip = await allocated()
    const ref = ipIdCodec.decode(ip.ip_id)
    fault({ method: 'DELETE', path: `/v1/deployment/network/prefixes/${ref?.prefixId ?? ''}/ip/${ref?.ipId ?? ''}`, status: 500 })
    expectError(await release(ip), 503, '503.not-ready')
    expect(await hubAddresses()).toContain(ip.address)
    h.sim.faults.clear()
    expect(await release(ip)).toMatchObject({ status: 200, body: { data: true } })
    expect(await hubAddresses()).not.toContain(ip.address)
  })

  test('the DELETE of the IP answering 403 is 403.permissions, never data:true for an address that still exists', async () => {
    const ip = await allocated()
    fault({ method: 'DELETE', path: '/v1/deployment/network/prefixes/*/ip/*', status: 403 })
    expectError(await release(ip), 403, '403.permissions', 'refused')
    expect(await hubAddresses()).toContain(ip.address)
  })
})
