/** The contract checks of ial-check: what Cycle's Go client accepts as an answer. */
import { describe, expect, test } from 'vitest'
import { checkError, checkGo, checkSuccess, GO_SHAPES, type Endpoint, type Problem } from '../src/contract.ts'
import {
  allocateBody, configureBody, cycleServer, listBody, objectId, provisionBody, releaseBody, serverActionBody, statusBody, verifyBody, type Tenant
} from '../src/cycle-requests.ts'
import { checkAllocation, masked, pollState, redactor } from '../src/lifecycle.ts'

const model = {
  name: 'Baremetal - medium v4',
  description: 'd',
  drivers: null,
  specs: {
    cpu: { count: 2, cores: 12, threads: 24, type: 'Intel Xeon', shared: false, extra: { generation: 'v4' } },
    gpu: null,
    memory: { size_gb: 256, type: 'DDR5' },
    storage: [{ count: 1, size_gb: 6400, type: 'nvme' }],
    network: [{ scope: 'public', type: 'ethernet', throughput: '20 Gbps' }],
    features: { raid: null, hypervisor: true, extra: {} }
  },
  provider: { category: 'bare-metal', class: null, model_id: 'medium_v4', locations: ['pod_1'], availability_zones: null },
  pricing: { hourly: 1380, monthly: 792000 },
  compatible: true
}

const location = {
  name: 'Ashburn',
  geographic: { latitude: 39.04, longitude: -77.48, city: 'Ashburn', state: 'VA', country: 'US', region: 'us-east' },
  provider: { location_id: 'pod_1', code: 'IAD', availability_zones: [] },
  features: { available: ['bare-metal'], supported: null },
  annotations: {},
  compatible: true,
  abbreviation: 'IAD'
}

const GOOD: Record<Endpoint, unknown> = {
  verify: { valid: true },
  locations: { locations: [location], extra: {} },
  'server-models': { models: [model], extra: {} },
  configure: { configured: true, version: '1', configuration_latest: {} },
  provision: { server_id: 'om1.a.pod_1', extra: { order: 'x' }, location_modified: false },
  status: { server_id: 'om1.a.pod_1', provisioned: true, auth: { uuid: '8d3c1b0e-5a7f-4c1e-9a0b-2f6e4d8c1a3b', initial_ips: ['198.51.100.114'], mac_addr: '0c:c4:7a:12:34:56' }, extra: {} },
  decommission: true,
  restart: true,
  allocate: { ip_id: 'a', ip_assignment_id: 'b', cidr: '198.51.100.115/28', gateway: '198.51.100.113', netmask: '255.255.255.240', network: '198.51.100.112/28', nat_private_ip: null },
  release: true
}

const paths = (problems: Problem[]): string[] => problems.map((problem) => problem.path)
const text = (problems: Problem[]): string => problems.map((problem) => problem.message).join('\n')

function withModel (change: (copy: typeof model & Record<string, unknown>) => void): unknown {
  const copy = structuredClone(model) as typeof model & Record<string, unknown>
  change(copy)
  return { data: { models: [model, copy], extra: {} } }
}

describe('answers Cycle accepts', () => {
  test.each(Object.keys(GOOD) as Endpoint[])('a correct %s answer passes', (endpoint) => {
    expect(checkSuccess(endpoint, 200, { data: GOOD[endpoint] })).toEqual([])
  })

  test('nulls and missing optional fields decode (Go zero values)', () => {
    expect(checkSuccess('status', 200, { data: { server_id: 's', provisioned: false, auth: { uuid: null, initial_ips: null, mac_addr: null } } })).toEqual([])
    expect(checkSuccess('locations', 200, { data: { locations: null, extra: null } })).toEqual([])
  })

  test('unknown fields are ignored, as Go does', () => {
    expect(checkSuccess('verify', 200, { data: { valid: true, note: 'x' }, meta: {} })).toEqual([])
  })
})

describe('Go decoding', () => {
  test('a float price fails naming pricing.monthly', () => {
    const problems = checkSuccess('server-models', 200, withModel((copy) => { copy.pricing.monthly = 792000.5 }))
    expect(paths(problems)).toEqual(['data.models[1].pricing.monthly'])
    expect(text(problems)).toContain('data.models[1].pricing.monthly is 792000.5, not an integer')
  })

  test('a float hourly price fails naming pricing.hourly', () => {
    expect(text(checkSuccess('server-models', 200, withModel((copy) => { copy.pricing.hourly = 1.5 })))).toContain('data.models[1].pricing.hourly is 1.5, not an integer')
  })

  test('a numeric string fails naming the field', () => {
    const problems = checkSuccess('server-models', 200, withModel((copy) => { (copy.specs.memory as { size_gb: unknown }).size_gb = '256' }))
    expect(paths(problems)).toEqual(['data.models[1].specs.memory.size_gb'])
    expect(problems[0]?.message).toContain('data.models[1].specs.memory.size_gb is "256", not an integer')
    expect(problems[0]?.rule).toBe('go')
  })

  test.each<[string, (copy: typeof model & Record<string, unknown>) => void, string, string]>([
    ['storage size_gb as a string', (copy) => { (copy.specs.storage[0] as { size_gb: unknown }).size_gb = '6400' }, 'data.models[1].specs.storage[0].size_gb', 'not an integer'],
    ['cpu threads as a float', (copy) => { copy.specs.cpu.threads = 2.5 }, 'data.models[1].specs.cpu.threads', 'not an integer'],
    ['a negative core count', (copy) => { copy.specs.cpu.cores = -1 }, 'data.models[1].specs.cpu.cores', 'not an unsigned integer'],
    ['gpu vram as a string', (copy) => { (copy.specs as Record<string, unknown>).gpu = { count: 1, vram_gb: '24', type: 'A100' } }, 'data.models[1].specs.gpu.vram_gb', 'not an integer'],
    ['compatible as a string', (copy) => { (copy as Record<string, unknown>).compatible = 'true' }, 'data.models[1].compatible', 'not a boolean'],
    ['a map as an array', (copy) => { (copy.specs.cpu as Record<string, unknown>).extra = ['v4'] }, 'data.models[1].specs.cpu.extra', 'not an object'],
    ['a string map with a number', (copy) => { (copy.specs.cpu as Record<string, unknown>).extra = { generation: 4 } }, 'data.models[1].specs.cpu.extra.generation', 'not a string'],
    ['locations as a string', (copy) => { (copy.provider as Record<string, unknown>).locations = 'pod_1' }, 'data.models[1].provider.locations', 'not an array']
  ])('%s fails naming the field', (_name, change, path, what) => {
    const problems = checkSuccess('server-models', 200, withModel(change))
    expect(paths(problems)).toContain(path)
    expect(text(problems)).toContain(what)
  })

  test('one problem per field, even though the schema finds it too', () => {
    const problems = checkSuccess('server-models', 200, withModel((copy) => { copy.pricing.monthly = 1.5 }))
    expect(problems).toHaveLength(1)
  })

  test('a boolean answer must be a boolean', () => {
    expect(text(checkSuccess('release', 200, { data: 'true' }))).toContain('data is "true", not a boolean')
  })

  test('every endpoint has a Go shape, and the good answers fit it', () => {
    for (const endpoint of Object.keys(GOOD) as Endpoint[]) expect(checkGo(GOOD[endpoint], GO_SHAPES[endpoint])).toEqual([])
  })
})

describe('envelope and schema', () => {
  test('a bare payload without the {data} envelope fails', () => {
    expect(checkSuccess('verify', 200, { valid: true })).toEqual([expect.objectContaining({ rule: 'envelope', message: expect.stringContaining('{"data": ...} envelope') as unknown })])
    expect(checkSuccess('release', 200, true)[0]?.rule).toBe('envelope')
    expect(checkSuccess('locations', 200, GOOD.locations)[0]?.rule).toBe('envelope')
  })

  test('a status other than 200 fails', () => {
    expect(text(checkSuccess('verify', 201, { data: { valid: true } }))).toContain('HTTP 201, expected 200')
  })

  test('a missing required field fails naming it', () => {
    const { netmask: _netmask, ...allocation } = GOOD.allocate as Record<string, unknown>
    const problems = checkSuccess('allocate', 200, { data: allocation })
    expect(paths(problems)).toEqual(['data.netmask'])
    expect(text(problems)).toContain('data.netmask is required')
  })

  test('data: null where the spec wants an object fails', () => {
    expect(checkSuccess('verify', 200, { data: null }).length).toBeGreaterThan(0)
  })
})

describe('error envelopes', () => {
  test('a proper one passes', () => {
    expect(checkError(404, { error: { status: 404, code: '404.infrastructure.server', title: 'Server not found', detail: 'd', source: '/request/server_id' }, data: null })).toEqual([])
  })

  test.each([
    ['a code that does not match the status', { error: { status: 422, code: '400.invalid-input', title: 't' }, data: null }, 'does not start with the HTTP status 422'],
    ['a code that is not <status>.<slug>', { error: { status: 422, code: 'invalid', title: 't' }, data: null }, 'is not "<status>.<slug>"'],
    ['an upper-case slug', { error: { status: 422, code: '422.Invalid', title: 't' }, data: null }, 'is not "<status>.<slug>"'],
    ['a status that is not the HTTP status', { error: { status: 500, code: '422.x', title: 't' }, data: null }, 'but the HTTP status is 422'],
    ['a status as a string', { error: { status: '422', code: '422.x', title: 't' }, data: null }, 'error.status is "422"'],
    ['no title', { error: { status: 422, code: '422.x' }, data: null }, 'error.title'],
    ['a detail that is not a string', { error: { status: 422, code: '422.x', title: 't', detail: { a: 1 } }, data: null }, 'error.detail'],
    ['no data: null', { error: { status: 422, code: '422.x', title: 't' } }, '"data": null'],
    ['no error object', { message: 'bad' }, 'no "error" object'],
    ['a text body', 'Internal Server Error', 'not a JSON object']
  ])('%s fails', (_name, body, message) => {
    expect(text(checkError(422, body))).toContain(message)
  })
})

describe('requests ial-check sends', () => {
  const OBJECT_ID = /^[0-9a-f]{24}$/
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  const tenant: Tenant = { client_id: 'c', secret: 's', cycle: { hub_id: objectId(), hub_name: 'h' } }
  const server = cycleServer('medium_v4', 'pod_1')
  const ip = { ip_id: 'a', ip_assignment_id: 'b', cidr: '198.51.100.115/28' }
  const bodies: Record<string, { auth: Tenant, request: unknown }> = {
    verify: verifyBody(tenant),
    locations: listBody(tenant),
    configure: configureBody(tenant, 'pod_1'),
    provision: provisionBody(tenant, server),
    status: statusBody(tenant, server, 'om1.x', { a: 1 }),
    restart: serverActionBody(tenant, server, 'om1.x', null),
    allocate: allocateBody(tenant, server, 'om1.x'),
    release: releaseBody(tenant, server, 'om1.x', ip)
  }

  test.each(Object.keys(bodies))('%s carries Cycle object IDs (24 hex), never UUIDs', (name) => {
    const body = bodies[name]
    if (body === undefined) throw new Error(name)
    const ids = [body.auth.cycle.hub_id, ...Object.entries((body.request as { cycle?: Record<string, unknown> } | null)?.cycle ?? {})
      .filter(([key, value]) => key.endsWith('_id') && value !== null).map(([, value]) => value)]
    expect(ids.length).toBeGreaterThan(0)
    for (const id of ids) {
      expect(id).toMatch(OBJECT_ID)
      expect(id).not.toMatch(UUID)
    }
  })

  test('provision and status are in Cycle\'s shape', () => {
    expect(bodies.provision?.request).toMatchObject({
      hostname: server.hostname,
      model_id: 'medium_v4',
      location_id: 'pod_1',
      zone_id: null,
      model_features: { raid: null, hypervisor: null, extra: null },
      provision_options: {},
      location_configuration: {},
      cycle: { server_id: server.cycleServerId, model_class: 'bare-metal', model_category: 'bare-metal', model_id: server.cycleModelId, location_id: server.cycleLocationId }
    })
    expect(bodies.status?.request).toMatchObject({ server_id: 'om1.x', location_id: 'pod_1', extra: { a: 1 }, cycle: { server_id: server.cycleServerId } })
  })

  test('one server keeps the same Cycle IDs across requests', () => {
    const cycles = ['provision', 'status', 'restart'].map((name) => (bodies[name]?.request as { cycle: unknown }).cycle)
    expect(cycles[1]).toEqual(cycles[0])
    expect(cycles[2]).toEqual(cycles[0])
  })
})

describe('helpers', () => {
  test('an allocation is checked for consistent addresses', () => {
    expect(checkAllocation(GOOD.allocate as Record<string, unknown>)).toEqual([])
    expect(checkAllocation({ ...(GOOD.allocate as object), netmask: '255.255.255.0' }).join()).toContain('data.netmask is "255.255.255.0", but the /28')
    expect(checkAllocation({ ...(GOOD.allocate as object), network: '198.51.100.112' }).join()).toContain('expected 198.51.100.112/28')
    expect(checkAllocation({ ...(GOOD.allocate as object), cidr: '198.51.100.115' }).join()).toContain('data.cidr')
    expect(checkAllocation({ ...(GOOD.allocate as object), gateway: '10.0.0.1' }).join()).toContain('outside')
  })

  test('credentials are masked, and echoed secrets redacted', () => {
    expect(masked({ auth: { client_id: 'id', secret: 's', api_key: 'k', config: 'c', cycle: { hub_id: 'h' } }, request: null }))
      .toEqual({ auth: { client_id: '***', secret: '***', api_key: '***', config: '***', cycle: { hub_id: 'h' } }, request: null })
    expect(redactor(['topsecret'])({ error: { detail: 'bad secret topsecret!' }, list: ['topsecret'] })).toEqual({ error: { detail: 'bad secret ***!' }, list: ['***'] })
  })

  test('the polling state comes from extra', () => {
    expect(pollState({ state: 'in_progress' })).toBe('in_progress')
    expect(pollState({ order_status: 'pending' })).toBe('pending')
    expect(pollState({})).toBe('provisioning')
    expect(pollState(null)).toBe('provisioning')
  })
})
