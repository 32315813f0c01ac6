/**
 * What an operator relies on, against the real app and the OpenMetal simulator over real
 * sockets: probes, Prometheus metrics, one redacted JSON log line per request, request IDs,
 * the served API description, the hardening knobs, and a graceful stop on real signals.
 */
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { cycleServer, listBody, provisionBody, serverActionBody, statusBody, verifyBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { startHarness, tenantA, withHarness, type Harness } from '../helpers/harness.ts'
import { provisioned, stockedModel } from '../helpers/lifecycle.ts'
import { freePort, root, runNode, startServerProcess } from './support.ts'

const IAL_PATHS = [
  '/v1/auth/verify',
  '/v1/infrastructure/provider/locations',
  '/v1/infrastructure/provider/server-models',
  '/v1/location/configure',
  '/v1/infrastructure/server/provision',
  '/v1/infrastructure/server/provision-status',
  // the same route under the name Cycle's IAL documentation uses
  '/v1/infrastructure/server/provision-check',
  '/v1/infrastructure/server/decommission',
  '/v1/infrastructure/server/restart',
  '/v1/infrastructure/ip/allocate',
  '/v1/infrastructure/ip/release'
]

const logs = new PassThrough()
let logText = ''
logs.on('data', (chunk: Buffer) => { logText += chunk.toString() })

/** The parsed log lines written so far (after letting the stream flush). */
async function logLines (): Promise<Array<Record<string, unknown>>> {
  await new Promise((resolve) => setTimeout(resolve, 30))
  return logText.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
}

async function scrape (url: string): Promise<{ contentType: string, text: string }> {
  const response = await request(`${url}/metrics`)
  return { contentType: String(response.headers['content-type']), text: await response.body.text() }
}

function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

let h: Harness
beforeAll(async () => { h = await startHarness({ env: { LOG_LEVEL: 'info' }, deps: { logStream: logs } }) })
afterAll(async () => { await h.close() })

describe('probes', () => {
  test('/healthz answers 200 without calling OpenMetal', async () => {
    const before = h.sim.state.requests.length
    const answer = await h.call('GET', '/healthz')
    expect(answer.status).toBe(200)
    expect(h.sim.state.requests.length).toBe(before)
  })

  test('/readyz is 200 while OpenMetal answers, and probes in quick succession ask OpenMetal once', async () => {
    const before = h.sim.state.requests.length
    const answers = await Promise.all([1, 2, 3, 4, 5].map(async () => await h.call('GET', '/readyz')))
    for (const answer of answers) expect(answer).toMatchObject({ status: 200, body: { status: 'ready' } })
    expect(h.sim.state.requests.length - before).toBeLessThanOrEqual(1)
  })

  test('/readyz is 503 with a reason when OpenMetal cannot be reached; /healthz stays 200', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    await withHarness({ env: { OPENMETAL_API_URL: closed } }, async (lonely) => {
      const ready = await lonely.call('GET', '/readyz')
      expect(ready.status).toBe(503)
      expect(ready.body).toMatchObject({ status: 'not-ready', reason: expect.stringMatching(/\S/) })
      expect((await lonely.call('GET', '/healthz')).status).toBe(200)
    })
  })
})

describe('metrics', () => {
  test('Prometheus text: IAL requests by route pattern, OpenMetal calls, latency buckets, token cache, in-flight, process metrics', async () => {
    const tenant = tenantA()
    const { server, serverId } = await provisioned(h, tenant)
    await h.call('GET', '/v1/infrastructure/provider/locations', listBody(tenant))
    const strayPath = `/v1/infrastructure/server/${serverId}/details`
    expect((await h.call('GET', strayPath)).status).toBe(404)
    const { contentType, text } = await scrape(h.url)
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(text).toMatch(/^ial_requests_total\{route="\/v1\/infrastructure\/provider\/locations",method="GET",status="200"\} [1-9]/m)
    expect(text).toMatch(/^ial_requests_total\{route="\/v1\/infrastructure\/server\/provision-status",method="GET",status="200"\} [1-9]/m)
    expect(text).toMatch(/^ial_request_duration_seconds_bucket\{le="[\d.+Inf]+",route="\/v1\/infrastructure\/server\/provision",method="POST"\} \d+/m)
    expect(text).toMatch(/^openmetal_calls_total\{operation="getLocations",status="200"\} [1-9]/m)
    expect(text).toMatch(/^openmetal_call_duration_seconds_bucket\{le="[\d.+Inf]+",operation="getLocations"\} \d+/m)
    expect(text).toMatch(/^openmetal_token_cache_events_total\{event="exchange"\} [1-9]/m)
    expect(text).toMatch(/^openmetal_token_cache_events_total\{event="hit"\} [1-9]/m)
    expect(text).toMatch(/^ial_requests_in_flight \d+/m)
    expect(text).toMatch(/^(process_cpu_user_seconds_total|nodejs_heap_size_total_bytes) /m)
    // labels are route patterns: no identifier, raw URL or unmatched path ever becomes a series
    expect(text).toMatch(/^ial_requests_total\{route="unmatched",method="GET",status="404"\} [1-9]/m)
    for (const needle of [serverId, server.cycleServerId, strayPath, tenant.cycle.hub_id]) expect(text).not.toContain(needle)
  })

  test('OpenMetal retries are counted by operation and reason', async () => {
    await withHarness({ env: { CATALOG_TTL_MS: '0' } }, async (fresh) => {
      fresh.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', status: 503, times: 1 })
      expect((await fresh.call('GET', '/v1/infrastructure/provider/locations', listBody(tenantA()))).status).toBe(200)
      expect((await scrape(fresh.url)).text).toMatch(/^openmetal_retries_total\{operation="getLocations",reason="503"\} 1$/m)
    })
  })

  test('a request the client abandons still leaves ial_requests_in_flight and still writes its log line', async () => {
    const lines = new PassThrough()
    let written = ''
    lines.on('data', (chunk: Buffer) => { written += chunk.toString() })
    await withHarness({ env: { CATALOG_TTL_MS: '0', LOG_LEVEL: 'info' }, deps: { logStream: lines } }, async (fresh) => {
      // idle, the gauge counts only the scrape itself
      const idle = sample((await scrape(fresh.url)).text, 'ial_requests_in_flight')
      fresh.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', delayMs: 400, times: 3 })
      const client = new Agent()
      for (let i = 0; i < 3; i++) {
        const controller = new AbortController()
        const call = request(`${fresh.url}/v1/infrastructure/provider/locations`, { dispatcher: client, signal: controller.signal, headers: { 'x-request-id': `abandoned-${i}` } })
        setTimeout(() => controller.abort(), 100)
        await expect(call).rejects.toThrow()
      }
      await client.destroy()
      await new Promise((resolve) => setTimeout(resolve, 800))
      expect(sample((await scrape(fresh.url)).text, 'ial_requests_in_flight')).toBe(idle)
      expect(written).toContain('"reqId":"abandoned-0"')
    })
  })
})

describe('logs', () => {
  test('one JSON line per request: reqId, route, status, ms, hub and the OpenMetal calls it made', async () => {
    const tenant = tenantA()
    const answer = await h.call('POST', '/v1/auth/verify', verifyBody(tenant), { 'x-request-id': 'abc-123' })
    expect(answer.status).toBe(200)
    expect(answer.headers['x-request-id']).toBe('abc-123')
    const mine = (await logLines()).filter((line) => line.reqId === 'abc-123')
    expect(mine.filter((line) => line.msg === 'request')).toHaveLength(1)
    expect(mine.find((line) => line.msg === 'request')).toMatchObject({
      level: 30,
      reqId: 'abc-123',
      route: '/v1/auth/verify',
      status: 200,
      ms: expect.any(Number),
      hub: tenant.cycle.hub_id,
      upstream: [expect.objectContaining({ operation: 'exchangeToken', status: 200 })]
    })
  })

  test('OpenMetal refusing a call is logged for the operator and told to Cycle: operation, status, request ID and OpenMetal\'s reason, cleaned', async () => {
    const { modelId, locationId } = await stockedModel(h)
    const reason = 'deployment configuration cfg-unknown-7 not found\n\u0000for client sim-client:sim-secret (Bearer abc.def)'
    h.sim.faults.add({ method: 'POST', path: '/v1/orders', status: 400, body: { error: reason }, times: 1 })
    const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenantA(), cycleServer(modelId, locationId)), { 'x-request-id': 'refused-1' })
    expect(answer.body.error).toMatchObject({ code: '422.invalid-argument', title: 'OpenMetal refused the request' })
    expect(answer.body.error?.detail).toContain('OpenMetal answered 400 to createOrder: deployment configuration cfg-unknown-7 not found for client')
    const mine = (await logLines()).filter((line) => line.reqId === 'refused-1')
    const warned = mine.find((line) => line.level === 40)
    expect(warned).toMatchObject({ msg: 'OpenMetal refused createOrder', code: '422.invalid-argument', reason: 'OPENMETAL_HTTP_STATUS', operation: 'createOrder', upstreamStatus: 400 })
    expect(String(warned?.upstreamMessage)).toContain('cfg-unknown-7 not found')
    // no control character, no credential of the call, no bearer token
    for (const text of [JSON.stringify(mine), JSON.stringify(answer.body)]) {
      expect(text).not.toContain('sim-secret')
      expect(text).not.toContain('abc.def')
      expect(text).not.toMatch(/\\u0000|\\n/)
    }
  })

  test('probes that succeed are logged at debug, not at info: a probe every few seconds is not news', async () => {
    await h.call('GET', '/healthz', undefined, { 'x-request-id': 'probe-1' })
    await h.call('GET', '/readyz', undefined, { 'x-request-id': 'probe-2' })
    await h.call('GET', '/metrics', undefined, { 'x-request-id': 'probe-3' })
    const lines = await logLines()
    expect(lines.filter((line) => line.reqId === 'probe-1' || line.reqId === 'probe-2')).toEqual([])
    expect(lines.filter((line) => line.reqId === 'probe-3')).toHaveLength(1)
  })

  test('a tenant refused by its bulkhead is a warn line (the adapter did nothing wrong), with the 503 and Retry-After', async () => {
    const lines = new PassThrough()
    let text = ''
    lines.on('data', (chunk: Buffer) => { text += chunk.toString() })
    await withHarness({ env: { LOG_LEVEL: 'info', OPENMETAL_TENANT_CONCURRENCY: '1', OPENMETAL_TENANT_QUEUE: '0' }, deps: { logStream: lines } }, async (tight) => {
      tight.sim.faults.add({ method: 'GET', path: '/v1/clouds', delayMs: 300, times: 1 })
      const verify = { auth: { api_key: 'sim-api-key', cycle: tenantA().cycle }, request: null }
      // the first holds the tenant's one slot (OpenMetal slow); the second finds no room and no queue
      const first = tight.call('POST', '/v1/auth/verify', verify)
      await new Promise((resolve) => setTimeout(resolve, 100))
      const second = await tight.call('POST', '/v1/auth/verify', verify, { 'x-request-id': 'busy-1' })
      expect([(await first).status, second.status]).toEqual([200, 503])
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(0)
      await new Promise((resolve) => setTimeout(resolve, 30))
      const refused = text.split('\n').filter((line) => line.includes('"busy-1"')).map((line) => JSON.parse(line) as { level: number, code?: string, reason?: string })
      expect(refused.find((line) => line.code === '503.not-ready')).toMatchObject({ level: 40, reason: 'OPENMETAL_TENANT_BUSY' })
    })
  })

  test('without an X-Request-Id, or with one that could forge a log line, the request gets a fresh UUID', async () => {
    const variants: Array<Record<string, string>> = [{}, { 'x-request-id': 'bad id {"level":60}' }, { 'x-request-id': 'x'.repeat(300) }]
    for (const headers of variants) {
      const answer = await h.call('GET', '/healthz', undefined, headers)
      expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    }
  })

  test('no secret, API key, hub config or OAuth token appears in any log line or any answer', async () => {
    const secret = 'S3cr3t-never-logged-1234'
    const apiKey = 'ApiKey-never-logged-5678'
    const config = Buffer.from(JSON.stringify({ ssh_public_key: 'ssh-ed25519 AAAAC3NeverLoggedConfig ops@example' })).toString('base64')
    const tenant = tenantA()
    const answers = await Promise.all([
      // a wrong secret: OpenMetal refuses the exchange
      h.call('POST', '/v1/auth/verify', verifyBody({ client_id: 'sim-client', secret, cycle: tenant.cycle })),
      // an unknown API key with a hub config, and a real API key
      h.call('POST', '/v1/auth/verify', verifyBody({ api_key: apiKey, config, cycle: tenant.cycle })),
      h.call('POST', '/v1/auth/verify', verifyBody({ api_key: 'sim-api-key', config, cycle: tenant.cycle })),
      // a broken config, and a body that fails validation, both carrying credentials
      h.call('POST', '/v1/infrastructure/server/provision', { auth: { api_key: apiKey, config: `${config}!`, cycle: tenant.cycle }, request: { hostname: 1 } }),
      // a body that is not JSON around a secret, and credentials in an Authorization header
      h.call('POST', '/v1/auth/verify', `{"auth":{"client_id":"sim-client","secret":"${secret}" }} trailing`, { 'content-type': 'application/json' }),
      h.call('POST', '/v1/auth/verify', verifyBody(tenant), { authorization: `Bearer ${apiKey}` })
    ])
    // an expired token: the adapter's cached token is refused, it exchanges again and retries
    const { server, serverId, extra } = await provisioned(h, tenant)
    h.sim.faults.expireTokens()
    answers.push(await h.call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra)))
    // OpenMetal failing, with an error body that echoes the secret
    h.sim.faults.add({ method: 'GET', path: '/v1/orders/*', status: 500, body: { error: `upstream echoed ${secret} and sim-secret` }, times: 10 })
    answers.push(await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId, extra)))
    h.sim.faults.clear()
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 422, 400, 200, 200, 503])
    expect(answers.slice(0, 3).map((answer) => answer.body.data)).toEqual([{ valid: false }, { valid: false }, { valid: true }])

    await logLines()
    const tokens = [...h.sim.state.tokens.keys()]
    expect(tokens.length).toBeGreaterThanOrEqual(2)
    const basic = (id: string, key: string): string => Buffer.from(`${id}:${key}`).toString('base64')
    const needles = [secret, apiKey, config, 'sim-secret', 'sim-api-key', 'NeverLoggedConfig', basic('sim-client', secret), basic('sim-client', 'sim-secret'), ...tokens]
    const everything = `${logText}\n${JSON.stringify(answers.map((answer) => answer.body))}\n${JSON.stringify(answers.map((answer) => answer.headers))}`
    for (const needle of needles) expect(everything, `"${needle.slice(0, 12)}..." leaked`).not.toContain(needle)
    // the failures were logged, just without the credentials
    expect(logText).toContain('"status":503')
    expect(logText).toContain('"status":400')
  })
})

describe('the API description', () => {
  test('/openapi.json is OpenAPI 3.1 with the ten IAL endpoints, and equals the committed openapi/adapter.openapi.json', async () => {
    const answer = await h.call('GET', '/openapi.json')
    expect(answer.status).toBe(200)
    const document = answer.body as unknown as { openapi: string, info: { version: string }, paths: Record<string, unknown> }
    expect(document.openapi).toMatch(/^3\.1\./)
    // one version everywhere: package.json's
    expect(document.info.version).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version)
    expect(Object.keys(document.paths).sort()).toEqual([...IAL_PATHS].sort())
    const committed = JSON.parse(readFileSync(join(root, 'openapi/adapter.openapi.json'), 'utf8')) as unknown
    expect(document).toEqual(committed)
  })

  test('/docs serves an HTML page', async () => {
    const response = await request(`${h.url}/docs`)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/html/)
    expect(await response.body.text()).toMatch(/<html/i)
  })
})

describe('hardening', () => {
  test('security headers on every answer, errors included', async () => {
    for (const answer of [await h.call('GET', '/healthz'), await h.call('GET', '/nowhere'), await h.call('POST', '/v1/auth/verify', 'not json', { 'content-type': 'application/json' })]) {
      expect(answer.headers['x-content-type-options']).toBe('nosniff')
      expect(answer.headers['x-frame-options']).toBe('DENY')
      expect(answer.headers['x-request-id']).toEqual(expect.any(String))
    }
  })

  test('a body over BODY_LIMIT_BYTES is a 413 envelope', async () => {
    await withHarness({ env: { BODY_LIMIT_BYTES: '2048' } }, async (small) => {
      const answer = await small.call('POST', '/v1/auth/verify', { auth: { api_key: 'x'.repeat(4096) }, request: null })
      expect(answer.status).toBe(413)
      expect(answer.body).toEqual({ error: expect.objectContaining({ status: 413, code: '413.payload-too-large' }), data: null })
    })
  })

  test('RATE_LIMIT_PER_MINUTE: the call over the limit is 429.rate-limiting with Retry-After; a forged X-Forwarded-For does not escape it; probes and metrics are not limited', async () => {
    await withHarness({ env: { RATE_LIMIT_PER_MINUTE: '3' } }, async (limited) => {
      const tenant = tenantA()
      const answers = []
      for (let i = 0; i < 4; i++) answers.push(await limited.call('GET', '/v1/infrastructure/provider/locations', listBody(tenant)))
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429])
      expect(answers[3]?.body).toMatchObject({ error: { status: 429, code: '429.rate-limiting' }, data: null })
      expect(Number(answers[3]?.headers['retry-after'])).toBeGreaterThan(0)
      expect(answers[3]?.headers['x-content-type-options']).toBe('nosniff')
      const forged = await limited.call('GET', '/v1/infrastructure/provider/locations', listBody(tenant), { 'x-forwarded-for': '203.0.113.77' })
      expect(forged.status).toBe(429)
      for (const path of ['/healthz', '/readyz', '/metrics', '/healthz', '/readyz', '/metrics']) {
        expect((await request(`${limited.url}${path}`)).statusCode, path).toBe(200)
      }
    })
  })

  test('IAL_ALLOWED_HUB_IDS: the listed hub passes, another hub is 403.permissions, the probes still answer', async () => {
    const allowed = tenantA()
    await withHarness({ env: { IAL_ALLOWED_HUB_IDS: allowed.cycle.hub_id } }, async (strict) => {
      const before = strict.sim.state.requests.length
      const refused = await strict.call('POST', '/v1/auth/verify', verifyBody(tenantA()))
      expect(refused.status).toBe(403)
      expect(refused.body).toMatchObject({ error: { code: '403.permissions', source: '/auth/cycle/hub_id' }, data: null })
      // refused before OpenMetal is asked anything
      expect(strict.sim.state.requests.length).toBe(before)
      expect(await strict.call('POST', '/v1/auth/verify', verifyBody(allowed))).toMatchObject({ status: 200, body: { data: { valid: true } } })
      expect((await strict.call('GET', '/healthz')).status).toBe(200)
      expect((await strict.call('GET', '/readyz')).status).toBe(200)
    })
  })

  test('nothing in a request can choose where credentials are sent', async () => {
    const seen: string[] = []
    const decoy: Server = createHttpServer((incoming, response) => {
      seen.push(`${incoming.method} ${incoming.url}`)
      response.end('{}')
    })
    await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve))
    const decoyUrl = `http://127.0.0.1:${(decoy.address() as { port: number }).port}`
    try {
      const decoyHost = decoyUrl.slice('http://'.length)
      // headers: the Host the request was sent to, proxies' forwarded hosts, a made-up override
      const before = h.sim.state.requests.length
      const viaHeaders = await h.call('POST', '/v1/auth/verify', verifyBody(tenantA()), { host: decoyHost, 'x-forwarded-host': decoyHost, forwarded: `host=${decoyHost}`, 'x-openmetal-api-url': decoyUrl })
      expect(viaHeaders).toMatchObject({ status: 200, body: { data: { valid: true } } })
      expect(h.sim.state.requests.slice(before).map((entry) => `${entry.method} ${entry.path}`)).toContain('GET /v1/oauth2/token')
      // body fields: refused by the schema or ignored, never followed
      const viaBody = await h.call('POST', '/v1/auth/verify', { auth: { ...tenantA(), openmetal_api_url: decoyUrl, base_url: decoyUrl }, request: null, openmetal_api_url: decoyUrl })
      expect([200, 422]).toContain(viaBody.status)
      const viaConfig = await h.call('POST', '/v1/auth/verify', verifyBody({ ...tenantA(), config: Buffer.from(JSON.stringify({ api_url: decoyUrl })).toString('base64') }))
      expect(viaConfig.body.error).toMatchObject({ code: '422.invalid-argument', source: '/auth/config' })
      expect(seen).toEqual([])
    } finally {
      await new Promise<void>((resolve) => decoy.close(() => resolve()))
    }
  })

  test.skipIf(!hasOpenssl)('native TLS from TLS_CERT_FILE and TLS_KEY_FILE (needs openssl; skipped without it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ial-tls-'))
    try {
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
      expect(made.status).toBe(0)
      await withHarness({ env: { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') } }, async (secure) => {
        const port = (secure.app.server.address() as { port: number }).port
        const agent = new Agent({ connect: { rejectUnauthorized: false } })
        try {
          const response = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: agent })
          expect(response.statusCode).toBe(200)
          expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/)
          await response.body.dump()
          // plain HTTP on the TLS port gets nothing
          await expect(request(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
        } finally {
          await agent.close()
        }
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a half TLS configuration is refused, naming the missing variable', () => {
    expect(() => loadConfig({ TLS_CERT_FILE: '/etc/tls/cert.pem' })).toThrow(/^TLS_KEY_FILE /)
    expect(() => loadConfig({ TLS_KEY_FILE: '/etc/tls/key.pem' })).toThrow(/^TLS_CERT_FILE /)
  })
})

describe('the process', () => {
  const server = join(root, 'src/server.ts')

  test.each<[NodeJS.Signals, Record<string, string>]>([
    ['SIGTERM', {}],
    ['SIGINT', { LOG_FORMAT: 'pretty' }]
  ])('%s: new connections are refused during the drain, the request in flight is answered, then exit 0 within SHUTDOWN_GRACE_MS', async (signal, env) => {
    const running = await startServerProcess([server], root, { OPENMETAL_API_URL: h.sim.url, SHUTDOWN_GRACE_MS: '5000', LOG_LEVEL: 'info', ...env })
    h.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', delayMs: 1500, times: 1 })
    const inFlight = request(`${running.url}/v1/infrastructure/provider/locations`, { method: 'GET', headers: { 'content-type': 'application/json' }, body: JSON.stringify(listBody(tenantA())) })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answered = new AbortController()
    void inFlight.then(() => answered.abort(), () => answered.abort())
    const signalled = performance.now()
    running.child.kill(signal)
    // fresh connections (each its own pool) are refused while the request is still in flight
    let refused: unknown
    while (refused === undefined && !answered.signal.aborted) {
      const fresh = new Agent()
      try {
        const probe = await request(`${running.url}/healthz`, { dispatcher: fresh })
        await probe.body.dump()
        await new Promise((resolve) => setTimeout(resolve, 25))
      } catch (error) {
        refused = error
      } finally {
        await fresh.destroy()
      }
    }
    expect(answered.signal.aborted).toBe(false)
    // refused, or reset when the connection was still in the kernel's queue as listening stopped
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(String((refused as { code?: string } | undefined)?.code))
    const response = await inFlight
    expect(response.statusCode).toBe(200)
    // keep-alive clients are told to reconnect elsewhere
    expect(response.headers.connection).toBe('close')
    expect((await response.body.json() as { data: { locations: unknown[] } }).data.locations.length).toBeGreaterThan(0)
    expect(await running.exit).toBe(0)
    expect(performance.now() - signalled).toBeLessThan(5000)
    expect(running.output()).toContain('closing')
    if (env.LOG_FORMAT === 'pretty') expect(running.output().trimStart().startsWith('{')).toBe(false)
  })

  test('a request still running after SHUTDOWN_GRACE_MS is cut off and the process exits 1', async () => {
    const running = await startServerProcess([server], root, { OPENMETAL_API_URL: h.sim.url, SHUTDOWN_GRACE_MS: '500', LOG_LEVEL: 'silent' })
    h.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', delayMs: 3000, times: 1 })
    const inFlight = request(`${running.url}/v1/infrastructure/provider/locations`).then(async (response) => { await response.body.dump(); return response.statusCode }, () => 'cut off')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const signalled = performance.now()
    running.child.kill('SIGTERM')
    expect(await running.exit).toBe(1)
    expect(performance.now() - signalled).toBeLessThan(2500)
    expect(await inFlight).toBe('cut off')
  })

  test('an open connection that has not sent a request does not hold the shutdown open', async () => {
    const running = await startServerProcess([server], root, { OPENMETAL_API_URL: h.sim.url, SHUTDOWN_GRACE_MS: '1500', LOG_LEVEL: 'silent' })
    const silent = connect(running.port, '127.0.0.1')
    silent.on('error', () => undefined)
    await once(silent, 'connect')
    try {
      const signalled = performance.now()
      running.child.kill('SIGTERM')
      expect(await running.exit).toBe(0)
      expect(performance.now() - signalled).toBeLessThan(1000)
    } finally {
      silent.destroy()
    }
  })

  test('a bad configuration stops the process at once, exit 1, with a message naming the variable', async () => {
    const { code, output } = await runNode([server], { PORT: 'eighty' })
    expect(code).toBe(1)
    expect(output).toMatch(/PORT must be an integer/)
  })

  test('TLS files that are missing, not PEM, or a key that is not the certificate\'s stop the process naming the variable, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'))
    const garbage = join(dir, 'garbage.pem')
    writeFileSync(garbage, 'not a certificate')
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: garbage }, /TLS_CERT_FILE cannot be read \(ENOENT\)/],
      [{ TLS_CERT_FILE: garbage, TLS_KEY_FILE: garbage }, /TLS_CERT_FILE is not a PEM certificate/]
    ]
    if (hasOpenssl) {
      const cert = join(dir, 'cert.pem')
      const key = join(dir, 'key.pem')
      const other = join(dir, 'other.pem')
      spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'])
      spawnSync('openssl', ['genpkey', '-algorithm', 'RSA', '-out', other])
      cases.push([{ TLS_CERT_FILE: cert, TLS_KEY_FILE: garbage }, /TLS_KEY_FILE is not a PEM private key/])
      cases.push([{ TLS_CERT_FILE: cert, TLS_KEY_FILE: other }, /TLS_KEY_FILE does not hold the private key of the certificate/])
    }
    for (const [env, message] of cases) {
      const { code, output } = await runNode([server], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env })
      expect(code).toBe(1)
      expect(output).toMatch(message)
      expect(output).not.toMatch(/\n\s+at /)
    }
  }, 30_000)
})
