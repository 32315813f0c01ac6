/**
 * Input no honest Cycle sends, closed for good: keys that name inherited properties,
 * strings of any length, credentials that could never be sent as an HTTP header, an IP
 * of another server's block, bodies nested deeper than any Cycle sends, and bodies that are
 * not JSON. Each is refused before OpenMetal sees a write.
 */
import fc from 'fast-check'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { objectId, startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { provisioned, stockedModel } from '../helpers/lifecycle.ts'
import { allocateBody, configureBody, cycleServer, listBody, provisionBody, releaseBody, statusBody, verifyBody, type AllocatedIp } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { ipIdCodec } from '../../src/mapping/identifiers.ts'
import { JSON_DEPTH_MAX, nestsDeeperThan } from '../../src/edge/request-bodies.ts'
import { IAL_ENDPOINTS } from '../helpers/fixtures.ts'

let h: Harness
beforeAll(async () => { h = await startHarness({ env: { CATALOG_TTL_MS: '60000' } }) })
afterAll(async () => { await h.close() })

/** every name an object inherits, and the ones JSON and prototypes make special */
const INHERITED = [...new Set([...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertyNames(Function.prototype), '__proto__', 'prototype', 'constructor'])]

function writes (from: number): string[] {
  return h.sim.state.requests.slice(from).filter((entry) => entry.method !== 'GET').map((entry) => `${entry.method} ${entry.path}`)
}

describe('keys that name inherited properties', () => {
  test('as model_id or location_id of a provision, or configure\'s location_id (the keys looked up in OpenMetal\'s catalog): never an order, never a 200 or a 500', async () => {
    const { modelId, locationId } = await stockedModel(h)
    await fc.assert(fc.asyncProperty(fc.constantFrom(...INHERITED), fc.constantFrom('model_id', 'location_id', 'configure'), async (name, field) => {
      const from = h.sim.state.requests.length
      const tenant = tenantA()
      const server = cycleServer(field === 'model_id' ? name : modelId, field === 'location_id' ? name : locationId)
      const answer = field === 'configure'
        ? await h.call('POST', '/v1/location/configure', configureBody(tenant, name))
        : await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server))
      expect(answer.status, `${field}=${name}: ${JSON.stringify(answer.body)}`).toBeGreaterThanOrEqual(400)
      expect(answer.status).toBeLessThan(500)
      expect(writes(from)).toEqual([])
    }), { numRuns: 60 })
  })

  test('as a server_id or ip_id token, or a key in extra: refused, nothing touched', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    for (const name of INHERITED) {
      const from = h.sim.state.requests.length
      const status = await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, name, { [name]: 'x', cloud_id: name }))
      // a JSON key __proto__ is refused by the body parser itself (400), every other name by the token codec (422)
      expect([400, 422], JSON.stringify(status.body)).toContain(status.status)
      expect(status.body.error?.code).toMatch(/^4\d\d\./)
      const release = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, { ip_id: name, ip_assignment_id: name, cidr: '198.51.100.5/28' }))
      expect(release.status).toBe(422)
      expect(writes(from)).toEqual([])
    }
  })
})

describe('string lengths', () => {
  test.each([
    ['/request/cycle/pool_id', (tenant: ReturnType<typeof tenantA>, body: ReturnType<typeof allocateBody>) => ({ ...body, request: { ...body.request, cycle: { ...body.request.cycle, pool_id: 'p'.repeat(100_000) } } })],
    ['/request/server_id', (_tenant: ReturnType<typeof tenantA>, body: ReturnType<typeof allocateBody>) => ({ ...body, request: { ...body.request, server_id: 'om1.'.padEnd(300, 'x') } })],
    ['/auth/cycle/hub_name', (tenant: ReturnType<typeof tenantA>, body: ReturnType<typeof allocateBody>) => ({ ...body, auth: { ...tenant, cycle: { ...tenant.cycle, hub_name: 'n'.repeat(257) } } })],
    ['/auth/config', (tenant: ReturnType<typeof tenantA>, body: ReturnType<typeof allocateBody>) => ({ ...body, auth: { ...tenant, config: 'A'.repeat(65_537) } })]
  ])('%s over its cap is 422.invalid-argument naming it, before any OpenMetal call', async (source, mutate) => {
    const tenant = tenantA()
    const server = cycleServer('medium_v4', 'pod_1')
    const from = h.sim.state.requests.length
    const answer = await h.call('POST', '/v1/infrastructure/ip/allocate', mutate(tenant, allocateBody(tenant, server, 'om1.ORDER1.pod_1')))
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.invalid-argument', source })
    expect(answer.body.error?.detail).toMatch(/is longer than \d+ characters/)
    expect(h.sim.state.requests.length).toBe(from)
  })

  test('strings at their caps pass validation', async () => {
    const tenant = { ...tenantA(), cycle: { hub_id: objectId(), hub_name: 'n'.repeat(256) } }
    expect((await h.call('POST', '/v1/auth/verify', { auth: tenant, request: null })).body).toEqual({ data: { valid: true } })
  })
})

describe('credentials that could never be sent to OpenMetal', () => {
  test.each([
    ['a secret with a line break', { client_id: 'sim-client', secret: 'sim-secret\r\nX-Evil: 1' }, '/auth/secret'],
    ['a secret with a NUL', { client_id: 'sim-client', secret: 'sim\u0000secret' }, '/auth/secret'],
    ['a non-Latin-1 secret', { client_id: 'sim-client', secret: 'sim-sécret-☃' }, '/auth/secret'],
    ['a secret of kilobytes', { client_id: 'sim-client', secret: 's'.repeat(2048) }, '/auth/secret'],
    ['a client_id with ":"', { client_id: 'sim:client', secret: 'sim-secret' }, '/auth/client_id'],
    ['an API key with a line break', { api_key: 'sim-api-key\nfoo' }, '/auth/api_key']
  ])('%s: 401.auth-invalid at once, OpenMetal never called, never retried', async (_name, credentials, source) => {
    const from = h.sim.state.requests.length
    const answer = await h.call('POST', '/v1/auth/verify', { auth: { ...credentials, cycle: tenantA().cycle }, request: null })
    expect(answer.status).toBe(401)
    expect(answer.body.error).toMatchObject({ code: '401.auth-invalid', source })
    expect(h.sim.state.requests.length).toBe(from)
  })
})

describe('an IP of another server\'s block', () => {
  test('release with an ip_id naming a block of another cloud of the same organisation: 404, nothing deleted', async () => {
    const tenant = tenantA()
    const mine = await provisioned(h, tenant)
    const theirs = await provisioned(h, tenant)
    const answer = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, theirs.server, theirs.serverId))
    const ip = answer.body.data as AllocatedIp
    const ref = ipIdCodec.decode(ip.ip_id)
    if (ref === undefined) throw new Error('an ip_id the adapter issued decodes')
    // the other server's address, presented under this server's server_id
    const from = h.sim.state.requests.length
    const release = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, mine.server, mine.serverId, ip))
    expect(release.status).toBe(404)
    expect(release.body.error).toMatchObject({ code: '404.infrastructure.server', source: '/request/ip_id' })
    expect(writes(from)).toEqual([])
    expect([...h.sim.state.prefixes.get(ref.prefixId)?.addresses.keys() ?? []]).toContain(ref.ipId)
  })
})

/** An object nesting `levels` objects: {"a":{"a":...{}}} */
function nestedObject (levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`
}

/** How deep a JSON value nests objects and arrays. */
function depthOf (value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf))
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf))
  return 0
}

describe('bodies nested deeper than any Cycle sends', () => {
  /** configure's body with `configuration_current` replaced by `text`, as it goes on the wire */
  const configureWith = (locationId: string, text: string): string =>
    JSON.stringify(configureBody(tenantA(), locationId)).replace('"configuration_current":{}', `"configuration_current":${text}`)

  test('configuration_current nested 10,000 deep (once a 500 and an error log line): 400.invalid-syntax naming the bound, at once, OpenMetal never asked', async () => {
    const { locationId } = await stockedModel(h)
    for (const text of [nestedObject(10_000), `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`]) {
      const from = h.sim.state.requests.length
      const started = performance.now()
      const answer = await h.call('POST', '/v1/location/configure', configureWith(locationId, text))
      expect(performance.now() - started).toBeLessThan(500)
      expect(answer.status).toBe(400)
      expect(answer.body).toEqual({ error: { status: 400, code: '400.invalid-syntax', title: 'The request body nests too deeply', detail: `objects and arrays nest deeper than ${JSON_DEPTH_MAX} levels` }, data: null })
      expect(h.sim.state.requests.length).toBe(from)
    }
  })

  test.each(IAL_ENDPOINTS)('%s %s: a body nested 10,000 deep is 400.invalid-syntax', async (method, path) => {
    for (const text of [nestedObject(10_000), `${'['.repeat(10_000)}${']'.repeat(10_000)}`]) {
      const answer = await h.call(method, path, text)
      expect(answer.status).toBe(400)
      expect(answer.body.error?.title).toBe('The request body nests too deeply')
    }
  })

  test(`a configuration nesting the body ${JSON_DEPTH_MAX} levels deep is accepted and echoed back whole (the echo is what overflowed the stack); one level more is refused`, async () => {
    const { locationId } = await stockedModel(h)
    // the body, request and configuration_current are the first three levels
    const deepest = configureWith(locationId, nestedObject(JSON_DEPTH_MAX - 2))
    expect(depthOf(JSON.parse(deepest))).toBe(JSON_DEPTH_MAX)
    const answer = await h.call('POST', '/v1/location/configure', deepest)
    expect(answer.status).toBe(200)
    expect((answer.body.data as { configuration_latest: unknown }).configuration_latest).toEqual(JSON.parse(nestedObject(JSON_DEPTH_MAX - 2)))
    const deeper = await h.call('POST', '/v1/location/configure', configureWith(locationId, nestedObject(JSON_DEPTH_MAX - 1)))
    expect(deeper.status).toBe(400)
  })

  test('brackets inside strings, escaped quotes and backslashes do not count as nesting', async () => {
    const { locationId } = await stockedModel(h)
    const configuration = { note: `${'[{'.repeat(5000)}"\\"\\`, 'say \\"[': ['"]', '\\'], '{"k":[': '}' }
    const answer = await h.call('POST', '/v1/location/configure', configureWith(locationId, JSON.stringify(configuration)))
    expect(answer.status).toBe(200)
    expect((answer.body.data as { configuration_latest: unknown }).configuration_latest).toEqual(configuration)
  })

  test('the scan agrees with the parsed depth of any JSON, strings of brackets, quotes and backslashes included', () => {
    const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', 'é', '😀'), maxLength: 12 })
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tricky, fc.jsonValue({ maxDepth: 2 }), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(tricky, tie('node'), { maxKeys: 3 }))
    })).node
    fc.assert(fc.property(value, fc.integer({ min: 0, max: 8 }), (parsed, max) => {
      expect(nestsDeeperThan(JSON.stringify(parsed), max)).toBe(depthOf(parsed) > max)
    }), { numRuns: 3000 })
  })
})

describe('bodies that are not JSON', () => {
  test.each(['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'text/xml', 'application/octet-stream', 'multipart/form-data; boundary=x'])('the wrapper sent as %s is 415.invalid-content-type, OpenMetal never asked', async (contentType) => {
    const from = h.sim.state.requests.length
    for (const [method, path] of [['POST', '/v1/auth/verify'], ['GET', '/v1/infrastructure/provider/locations']] as const) {
      const answer = await h.call(method, path, JSON.stringify(verifyBody(tenantA())), { 'content-type': contentType })
      expect(answer.status, `${method} ${path}`).toBe(415)
      expect(answer.body).toEqual({ error: expect.objectContaining({ status: 415, code: '415.invalid-content-type' }), data: null })
    }
    expect(h.sim.state.requests.length).toBe(from)
  })

  test('a body without any Content-Type is 415 too; application/json with a charset is read as usual', async () => {
    const unlabelled = await request(`${h.url}/v1/auth/verify`, { method: 'POST', body: JSON.stringify(verifyBody(tenantA())) })
    expect(unlabelled.statusCode).toBe(415)
    expect((await unlabelled.body.json() as { error: { code: string } }).error.code).toBe('415.invalid-content-type')
    expect(await h.call('POST', '/v1/auth/verify', verifyBody(tenantA()), { 'content-type': 'application/json; charset=utf-8' })).toMatchObject({ status: 200, body: { data: { valid: true } } })
  })
})

describe('body size', () => {
  test('the default BODY_LIMIT_BYTES is 128 KiB: a body over it is 413.payload-too-large; one with the largest auth.config Cycle may send (64 KiB) is read', async () => {
    const tenant = tenantA()
    const over = await h.call('POST', '/v1/auth/verify', { ...verifyBody(tenant), padding: 'x'.repeat(131_072) })
    expect(over.status).toBe(413)
    expect(over.body.error).toMatchObject({ code: '413.payload-too-large', title: 'The request body is too large' })
    // a 64 KiB config that is not valid base64 JSON: read whole, then refused by what it says
    const largest = await h.call('POST', '/v1/auth/verify', { auth: { ...tenant, config: 'A'.repeat(65_536) }, request: null })
    expect(largest.status).toBe(422)
    expect(largest.body.error).toMatchObject({ source: '/auth/config' })
  })
})

describe('GET with the wrapper, where the route reads it', () => {
  test('provision-status, locations and server-models still take Cycle\'s GET with a JSON body (over a real socket)', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    const status = await h.call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId))
    expect(status.status).toBe(200)
    expect(status.body.data).toMatchObject({ server_id: serverId })
    for (const path of ['/v1/infrastructure/provider/locations', '/v1/infrastructure/provider/server-models']) {
      const answer = await h.call('GET', path, listBody(tenant))
      expect(answer.status, path).toBe(200)
      expect(answer.body.data).toEqual(expect.any(Object))
    }
  })
})
