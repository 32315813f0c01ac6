/**
 * The whole lifecycle against an OpenMetal that is not its spec: the simulator's drift mode
 * answers with nulls, unknown enum values, numeric strings, extra fields and odd list items,
 * addresses with their prefix length, and lists split into pages (Link headers or
 * `{data, meta, links}` wrappers) behind a history of older orders. Under each drift, and
 * all of them at once, Cycle's lifecycle must pass with one order bought and no address
 * left behind; and where a list cannot be read whole, nothing is bought.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Answer, type Harness } from '../helpers/harness.ts'
import { provisioned, stockedModel, untilProvisioned } from '../helpers/lifecycle.ts'
import { allocateBody, cycleServer, provisionBody, releaseBody, serverActionBody, type AllocatedIp } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { DRIFTS, type Drift } from '@cycle-ial-openmetal/openmetal-simulator'
import { MAX_PAGES } from '../../src/openmetal/pagination.ts'
import { serverIdCodec } from '../../src/mapping/identifiers.ts'

const ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/

function data<T> (answer: Answer): T {
  expect(answer.status, JSON.stringify(answer.body.error)).toBe(200)
  return answer.body.data as T
}

/** Addresses that carry a Cycle tag, anywhere in the simulator: what Cycle was given and never released. */
function taggedAddresses (h: Harness): string[] {
  return [...h.sim.state.prefixes.values()].flatMap((prefix) => [...prefix.addresses.values()].filter((address) => address.label.startsWith('cycle:')).map((address) => address.label))
}

const cases: Array<[string, Drift[]]> = [...DRIFTS.map((drift): [string, Drift[]] => [drift, [drift]]), ['every drift at once', [...DRIFTS]]]

describe.each(cases)('the lifecycle under %s', (_name, drift) => {
  let h: Harness
  beforeAll(async () => { h = await startHarness({ sim: { drift } }) })
  afterAll(async () => { await h.close() })

  test('verify, catalog, provision twice, status to provisioned, restart, allocate, release, decommission: one order, no address left', async () => {
    const tenant = tenantA()
    expect(data(await h.call('POST', '/v1/auth/verify', { auth: tenant, request: null }))).toEqual({ valid: true })

    const locations = data<{ locations: Array<{ provider: { location_id: string }, compatible: boolean }> }>(await h.call('GET', '/v1/infrastructure/provider/locations', { auth: tenant, request: null }))
    // the simulator's four pods, however the answer is dressed; an odd entry is not a pod
    expect(locations.locations.map((location) => [location.provider.location_id, location.compatible])).toEqual([['pod_1', true], ['pod_2', true], ['pod_3', true], ['pod_5', false]])

    const { modelId, locationId } = await stockedModel(h)
    const server = cycleServer(modelId, locationId)
    const before = h.ordersCreated()
    const first = data<{ server_id: string, extra: Record<string, unknown> }>(await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server)))
    // Cycle's Go type has location_modified without omitempty: it is sent, as false
    expect(first).toMatchObject({ location_modified: false })
    const again = data<{ server_id: string }>(await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server)))
    // the same order (once its cloud is known, the token carries it too)
    expect(serverIdCodec.decode(again.server_id)?.orderId).toBe(serverIdCodec.decode(first.server_id)?.orderId)
    expect(h.ordersCreated() - before).toBe(1)

    const status = await untilProvisioned(h, tenant, server, first.server_id, first.extra)
    const auth = status.auth as { uuid: string, initial_ips: string[], mac_addr: string }
    expect(auth.uuid).toMatch(/^[0-9a-f-]{36}$/)
    expect(auth.initial_ips).toHaveLength(1)
    expect(auth.initial_ips[0]).toMatch(ADDRESS)
    expect(auth.mac_addr).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
    const extra = status.extra as Record<string, unknown>

    expect(data(await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, first.server_id, extra)))).toBe(true)

    const ips: AllocatedIp[] = []
    for (let n = 0; n < 2; n++) {
      const ip = data<AllocatedIp & { gateway: string, network: string }>(await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, first.server_id)))
      expect(ip.cidr).toMatch(/^\d{1,3}(\.\d{1,3}){3}\/28$/)
      expect(ip.gateway).toMatch(ADDRESS)
      ips.push(ip)
    }
    expect(new Set(ips.map((ip) => ip.cidr)).size).toBe(2)
    expect(taggedAddresses(h)).toHaveLength(2)
    for (const ip of ips) expect(data(await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, first.server_id, ip)))).toBe(true)
    expect(taggedAddresses(h)).toEqual([])

    expect(data(await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, first.server_id, extra)))).toBe(true)
    expect(h.sim.state.cloudsDeleted).toBe(1)
    expect(h.ordersCreated() - before).toBe(1)
    expect(h.sim.state.ipsCreated).toBe(h.sim.state.ipsDeleted)
  })
})

describe('lists that cannot be read whole: nothing is bought', () => {
  let h: Harness
  beforeAll(async () => { h = await startHarness({ sim: { drift: ['link-pages'] } }) })
  afterAll(async () => { await h.close() })

  /** the orders list answered through `rewrite`; every other answer as the simulator gives it */
  function ordersAnswered (rewrite: (answer: { status: number, body: unknown, headers: Record<string, string> }, query: URLSearchParams) => { status: number, body: unknown, headers: Record<string, string> }): void {
    h.sim.faults.setAnswerHook((answer, request) => request.method === 'GET' && request.path === '/v1/orders' ? rewrite(answer, request.query) : answer)
  }

  async function refusedProvision (reason: RegExp): Promise<void> {
    const { modelId, locationId } = await stockedModel(h)
    const before = h.ordersCreated()
    const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenantA(), cycleServer(modelId, locationId)))
    h.sim.faults.setAnswerHook(undefined)
    expect(answer.status).toBe(503)
    expect(answer.body.error).toMatchObject({ code: '503.not-ready' })
    expect(answer.body.error?.detail).toMatch(reason)
    expect(answer.body.error?.detail).toMatch(/nothing is bought/)
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0)
    expect(h.ordersCreated() - before).toBe(0)
  }

  test('a next page on another origin is not followed (it would carry the credentials there)', async () => {
    ordersAnswered((answer) => ({ ...answer, headers: { ...answer.headers, link: '<https://elsewhere.example/v1/orders?page=2>; rel="next"' } }))
    await refusedProvision(/another origin/)
  })

  test(`a list that runs past ${MAX_PAGES} pages`, async () => {
    ordersAnswered((_answer, query) => {
      const page = Number(query.get('page') ?? '1')
      return { status: 200, body: [], headers: { 'content-type': 'application/json', link: `</v1/orders?page=${page + 1}>; rel="next"` } }
    })
    await refusedProvision(new RegExp(`past ${MAX_PAGES} pages`))
  })

  test('a next link back at a page already read', async () => {
    ordersAnswered((answer) => ({ ...answer, headers: { ...answer.headers, link: '</v1/orders?page=1&per_page=5>; rel="next"' } }))
    await refusedProvision(/already read/)
  })

  test('pages that hold fewer orders than the total OpenMetal announced', async () => {
    ordersAnswered(() => ({ status: 200, body: { data: [], meta: { current_page: 1, last_page: 1, total: 40 } }, headers: { 'content-type': 'application/json' } }))
    await refusedProvision(/announced 40/)
  })

  test('pages are followed to the end: the tagged order on the last page is found, not bought again', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    const orders = h.sim.state.requests.filter((entry) => entry.method === 'GET' && entry.path === '/v1/orders').length
    const before = h.ordersCreated()
    const again = data<{ server_id: string }>(await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server)))
    expect(serverIdCodec.decode(again.server_id)?.orderId).toBe(serverIdCodec.decode(serverId)?.orderId)
    expect(h.ordersCreated()).toBe(before)
    // the history pushes the new order past the first page: more than one page was read
    expect(h.sim.state.requests.filter((entry) => entry.method === 'GET' && entry.path === '/v1/orders').length - orders).toBeGreaterThan(1)
  })
})

describe('the catalog when a pod\'s stock cannot be had', () => {
  let h: Harness
  beforeAll(async () => { h = await startHarness({ env: { CATALOG_TTL_MS: '0' } }) })
  afterAll(async () => { await h.close() })

  /** OpenMetal listing an extra pod (which the simulator stocks nowhere: its availability answers 400). */
  function withPod (pod: string, releaseStatus: string): void {
    h.sim.faults.setAnswerHook((answer, incoming) => {
      if (incoming.path !== '/v2/inventory/locations' || answer.status !== 200) return answer
      const body = answer.body as { locations: Record<string, unknown> }
      return { ...answer, body: { locations: { ...body.locations, [pod]: { label: pod, displayName: 'Somewhere, XX', code: 'SMW', release_status: releaseStatus } } } }
    })
  }

  function models (answer: Answer): Array<{ provider: { model_id: string, locations: string[] } }> {
    return data<{ models: Array<{ provider: { model_id: string, locations: string[] } }> }>(answer).models
  }

  test('a new pod in a release state the adapter does not offer is not asked for stock', async () => {
    withPod('pod_90', 'early-access')
    try {
      const since = h.sim.state.requests.length
      expect(models(await h.call('GET', '/v1/infrastructure/provider/server-models')).length).toBeGreaterThan(0)
      expect(h.sim.state.requests.slice(since).filter((entry) => entry.path === '/v2/inventory/pod_90/availability')).toEqual([])
    } finally {
      h.sim.faults.setAnswerHook(undefined)
    }
  })

  test('an offered pod whose stock OpenMetal refuses (4xx) is left out; the others are listed', async () => {
    withPod('pod_91', 'released')
    try {
      const listed = models(await h.call('GET', '/v1/infrastructure/provider/server-models'))
      expect(listed.some((model) => model.provider.locations.length > 0)).toBe(true)
      expect(listed.flatMap((model) => model.provider.locations)).not.toContain('pod_91')
      const metrics = await h.call('GET', '/metrics')
      expect(String(metrics.body.raw)).toMatch(/openmetal_answer_parts_skipped_total\{operation="getAvailability"\} [1-9]/)
    } finally {
      h.sim.faults.setAnswerHook(undefined)
    }
  })

  test('a pod whose stock call fails (5xx) fails the list, so Cycle retries rather than losing the pod', async () => {
    h.sim.faults.add({ method: 'GET', path: '/v2/inventory/pod_1/availability', status: 503, times: Infinity })
    try {
      const failed = await h.call('GET', '/v1/infrastructure/provider/server-models')
      expect(failed.status).toBe(503)
      expect(failed.body.error?.code).toBe('503.not-ready')
    } finally {
      h.sim.faults.clear()
    }
  })
})
