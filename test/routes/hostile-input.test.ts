/**
 * Input no honest Cycle sends, closed for good: keys that name inherited properties,
 * strings of any length, credentials that could never be sent as an HTTP header, and an IP
 * of another server's block. Each is refused before OpenMetal sees a write.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { objectId, startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { provisioned, stockedModel } from '../helpers/lifecycle.ts'
import { allocateBody, configureBody, cycleServer, provisionBody, releaseBody, statusBody, type AllocatedIp } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { ipIdCodec } from '../../src/mapping/identifiers.ts'

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
    ['/request/cycle/pool_id', (tenant: ReturnType<typeof tenantA>, body: ReturnType<typeof allocateBody>) => ({ ...body, request: { ...body.request, cycle: { ...body.request.cycle, pool_id: 'p'.repeat(500_000) } } })],
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
