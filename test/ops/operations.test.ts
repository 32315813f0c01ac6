/**
 * What an operator relies on: probes, Prometheus metrics, one redacted log line per request,
 * request IDs, the served API description, and the hardening knobs.
 */
import { PassThrough } from 'node:stream'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { provisioned } from '../helpers/lifecycle.ts'
import { statusBody } from '../../src/conformance/cycle-requests.ts'
import { loadConfig } from '../../src/config.ts'

const logs = new PassThrough()
let logText = ''
logs.on('data', (chunk: Buffer) => { logText += chunk.toString() })

let h: Harness
beforeAll(async () => { h = await startHarness({ env: { LOG_LEVEL: 'info' }, deps: { logStream: logs } }) })
afterAll(async () => { await h.close() })

describe('probes', () => {
  test('/healthz answers without asking OpenMetal', async () => {
    const before = h.sim.state.requests.length
    expect((await h.call('GET', '/healthz')).status).toBe(200)
    expect(h.sim.state.requests.length).toBe(before)
  })

  test('/readyz is ready when OpenMetal answers, 503 with a reason when it does not', async () => {
    expect((await h.call('GET', '/readyz')).body).toEqual({ status: 'ready' })
    const lonely = await startHarness({ env: { OPENMETAL_API_URL: 'http://127.0.0.1:9' } })
    const answer = await lonely.call('GET', '/readyz')
    await lonely.close()
    expect(answer.status).toBe(503)
    expect(answer.body).toMatchObject({ status: 'not-ready', reason: expect.stringContaining('probe') })
  })
})

describe('metrics', () => {
  test('Prometheus text with route patterns, upstream calls, token events, in-flight and process metrics', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    await h.call('GET', '/v1/infrastructure/provider/locations')
    const response = await request(`${h.url}/metrics`)
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.body.text()
    expect(text).toContain('ial_requests_total{route="/v1/infrastructure/provider/locations",method="GET",status="200"}')
    expect(text).toMatch(/ial_request_duration_seconds_bucket\{le="0\.005",route="\/v1\/infrastructure\/server\/provision-status",method="GET"\}/)
    expect(text).toMatch(/openmetal_calls_total\{operation="getOrder",status="200"\} \d+/)
    expect(text).toMatch(/openmetal_call_duration_seconds_bucket\{le="[\d.]+",operation="getLocations"\}/)
    expect(text).toMatch(/openmetal_token_cache_events_total\{event="exchange"\} \d+/)
    expect(text).toMatch(/openmetal_token_cache_events_total\{event="hit"\} \d+/)
    expect(text).toContain('ial_requests_in_flight')
    expect(text).toContain('process_cpu_user_seconds_total')
    // labels are route patterns, never IDs
    expect(text).not.toContain(serverId)
    expect(text).not.toContain(server.cycleServerId)
  })

  test('retries are counted', async () => {
    h.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', status: 503, times: 1 })
    const fresh = await startHarness({ sim: {}, env: { CATALOG_TTL_MS: '0' } })
    fresh.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', status: 503, times: 1 })
    await fresh.call('GET', '/v1/infrastructure/provider/locations')
    const text = await (await request(`${fresh.url}/metrics`)).body.text()
    await fresh.close()
    h.sim.faults.clear()
    expect(text).toMatch(/openmetal_retries_total\{operation="getLocations",reason="503"\} 1/)
  })
})

describe('logs', () => {
  test('one JSON line per request with request ID, route, status, duration, hub and upstream calls; the ID is echoed', async () => {
    const tenant = tenantA()
    const answer = await h.call('POST', '/v1/auth/verify', { auth: tenant, request: null }, { 'x-request-id': 'trace-abc-123' })
    expect(answer.headers['x-request-id']).toBe('trace-abc-123')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const line = logText.split('\n').filter((text) => text.includes('trace-abc-123')).map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.msg === 'request')
    expect(line).toMatchObject({ reqId: 'trace-abc-123', route: '/v1/auth/verify', status: 200, ms: expect.any(Number), hub: tenant.cycle.hub_id, upstream: [expect.objectContaining({ operation: 'exchangeToken', status: 200 })] })
  })

  test('a request ID that could forge log lines is replaced', async () => {
    for (const forged of ['bad id {"level":60}', 'x'.repeat(300)]) {
      const answer = await h.call('GET', '/healthz', undefined, { 'x-request-id': forged })
      expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  test('no secret, API key, hub config or token appears in any log line or answer', async () => {
    const secret = 'S3cr3t-never-logged-1234'
    const apiKey = 'ApiKey-never-logged-5678'
    const config = Buffer.from(JSON.stringify({ ssh_public_key: 'ssh-ed25519 AAAAC3never-logged-config' })).toString('base64')
    const answers = await Promise.all([
      h.call('POST', '/v1/auth/verify', { auth: { client_id: 'sim-client', secret, cycle: tenantA().cycle }, request: null }),
      h.call('POST', '/v1/auth/verify', { auth: { api_key: apiKey, config, cycle: tenantA().cycle }, request: null }),
      h.call('POST', '/v1/infrastructure/server/provision', { auth: { api_key: apiKey, config: `${config}!` }, request: { hostname: 1 } }),
      h.call('POST', '/v1/auth/verify', { auth: { client_id: 'sim-client', secret: 'sim-secret' }, request: null })
    ])
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 500, body: { error: `upstream echoed ${secret}` }, times: 5 })
    answers.push(await h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId)))
    h.sim.faults.clear()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const tokens = [...h.sim.state.tokens.keys()]
    const everything = logText + JSON.stringify(answers.map((answer) => answer.body))
    for (const needle of [secret, apiKey, config, 'sim-secret', 'never-logged', ...tokens]) expect(everything).not.toContain(needle)
    expect(logText).toContain('"status":503')
  })
})

describe('the API description', () => {
  test('/openapi.json is OpenAPI 3.1 with the ten IAL endpoints, and equals the committed export', async () => {
    const document = (await h.call('GET', '/openapi.json')).body as { openapi: string, paths: Record<string, unknown> }
    expect(document.openapi).toBe('3.1.0')
    expect(Object.keys(document.paths)).toHaveLength(10)
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../openapi/adapter.openapi.json'), 'utf8')) as unknown
    expect(document).toEqual(committed)
  })

  test('/docs is a readable page', async () => {
    const response = await request(`${h.url}/docs/`, { method: 'GET' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/text\/html/)
    await response.body.dump()
  })
})

describe('hardening', () => {
  test('security headers', async () => {
    const answer = await h.call('GET', '/healthz')
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
    expect(answer.headers['x-frame-options']).toBeDefined()
  })

  test('a body over the limit is a 413 envelope', async () => {
    const small = await startHarness({ env: { BODY_LIMIT_BYTES: '2048' } })
    const answer = await small.call('POST', '/v1/auth/verify', { auth: { api_key: 'x'.repeat(4096) }, request: null })
    await small.close()
    expect(answer.status).toBe(413)
    expect(answer.body).toMatchObject({ error: { code: '413.payload-too-large' }, data: null })
  })

  test('the per-address rate limit answers 429.rate-limiting with Retry-After; probes are not limited', async () => {
    const limited = await startHarness({ env: { RATE_LIMIT_PER_MINUTE: '3' } })
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push(await limited.call('GET', '/v1/infrastructure/provider/locations'))
    const probes = await Promise.all([1, 2, 3, 4, 5].map(() => limited.call('GET', '/healthz')))
    await limited.close()
    expect(statuses.map((answer) => answer.status)).toEqual([200, 200, 200, 429])
    expect(statuses[3]?.body.error?.code).toBe('429.rate-limiting')
    expect(Number(statuses[3]?.headers['retry-after'])).toBeGreaterThan(0)
    expect(probes.every((answer) => answer.status === 200)).toBe(true)
  })

  test('an allow-list of hubs refuses every other hub with 403.permissions', async () => {
    const hub = tenantA()
    const strict = await startHarness({ env: { IAL_ALLOWED_HUB_IDS: hub.cycle.hub_id } })
    const allowed = await strict.call('POST', '/v1/auth/verify', { auth: hub, request: null })
    const refused = await strict.call('POST', '/v1/auth/verify', { auth: tenantA(), request: null })
    await strict.close()
    expect(allowed.status).toBe(200)
    expect(refused.status).toBe(403)
    expect(refused.body.error).toMatchObject({ code: '403.permissions', source: '/auth/cycle/hub_id' })
  })

  test('a request cannot choose where the adapter sends credentials', async () => {
    const before = h.sim.state.requests.length
    const answer = await h.call('POST', '/v1/auth/verify', { auth: { ...tenantA(), openmetal_api_url: 'http://127.0.0.1:9', base_url: 'http://127.0.0.1:9' }, request: null, openmetal_api_url: 'http://127.0.0.1:9' }, { 'x-forwarded-host': '127.0.0.1:9', 'x-openmetal-api-url': 'http://127.0.0.1:9' })
    expect(answer.body).toEqual({ data: { valid: true } })
    expect(h.sim.state.requests.length).toBeGreaterThan(before)
  })

  test('native TLS with a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    const secure = await startHarness({ env: { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') } })
    const port = (secure.app.server.address() as { port: number }).port
    const agent = new Agent({ connect: { rejectUnauthorized: false } })
    const response = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: agent })
    expect(response.statusCode).toBe(200)
    expect(response.headers['strict-transport-security']).toBeDefined()
    await response.body.dump()
    await agent.close()
    await secure.close()
    expect(() => loadConfig({ TLS_CERT_FILE: join(dir, 'cert.pem') })).toThrow(/^TLS_KEY_FILE/)
  })
})
