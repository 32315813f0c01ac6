/**
 * `npm run sandbox` end to end, offline: the command itself (`runSandbox`, what
 * scripts/sandbox/sandbox.ts runs) builds the adapter for https://sandbox.api.central.openmetal.io,
 * plays the steps that buy nothing through it, and prints the spec-drift report. nock stands
 * in for the sandbox at the socket and serves answers that deviate from the pinned spec; the
 * adapter itself is reached on loopback. No test reaches the internet.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { runSandbox } from '../../scripts/sandbox/sandbox.ts'
import { SANDBOX_API_URL } from '../../src/config.ts'
import type { SpecDriftReport } from '../../scripts/sandbox/spec-drift.ts'
import { PODS, productCatalog } from '@cycle-ial-openmetal/openmetal-simulator/catalog'
import { startSimulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { SSH_PUBLIC_KEY } from '../helpers/fixtures.ts'

const CLIENT_SECRET = 'sandbox-secret-0042'
const ACCESS_TOKEN = 'sandbox-access-token-7c1d'
const API_KEY = 'sandbox-api-key-31337'
const BASIC = `Basic ${Buffer.from(`sandbox-client:${CLIENT_SECRET}`).toString('base64')}`
const ENV = { LOG_LEVEL: 'silent', OPENMETAL_TIMEOUT_MS: '2000', OPENMETAL_MAX_ATTEMPTS: '1', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0' }

beforeAll(() => {
  nock.disableNetConnect()
  // the lifecycle reaches the adapter on loopback; everything else is the sandbox, served by nock
  nock.enableNetConnect('127.0.0.1')
})

afterEach(() => {
  nock.cleanAll()
})

afterAll(() => {
  nock.enableNetConnect()
})

async function sandbox (argv: string[], env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runSandbox(argv, { ...ENV, ...env }, { stdout: { write: (text: string) => { stdout += text } }, stderr: { write: (text: string) => { stderr += text } } })
  return { code, stdout, stderr }
}

/** The drift section of the output, as the command prints it. */
function driftSection (stdout: string): string {
  const at = stdout.indexOf('What the sandbox said that the spec does not')
  expect(at).toBeGreaterThan(-1)
  return stdout.slice(at)
}

/** The public catalog, with deviations the adapter tolerates: extra fields, an unlisted enum value, pagination headers. */
function tolerantCatalog (scope: nock.Scope): nock.Scope {
  const pods = ['pod_1', 'pod_2', 'pod_5'] as const
  const locations = Object.fromEntries(pods.map((pod) => [pod, { ...PODS[pod], timezone: 'UTC', ...(pod === 'pod_5' ? { release_status: 'beta' } : {}) }]))
  const catalog = productCatalog()
  const hardware = Object.fromEntries(Object.entries(catalog.hardware).map(([sku, type]) => [sku, { ...type, stock_status: 'in_stock' }]))
  scope
    .get('/v2/inventory/locations').reply(200, { locations }, {
      Link: `<${SANDBOX_API_URL}/v2/inventory/locations?page=2&per_page=3>; rel="next"`,
      'X-Total-Count': '4'
    })
    .get('/v1/products').reply(200, { ...catalog, hardware, currency: 'USD' }, { 'X-RateLimit-Limit': '120' })
  // stock is asked only of pods on general sale: pod_5's "beta" is not one
  for (const pod of pods.filter((candidate) => candidate !== 'pod_5')) {
    scope.get(`/v2/inventory/${pod}/availability`)
      .reply(200, { timestamp: '2026-05-01T00:00:00Z', pod_location: pod, medium_v4: { count: 3, max_size: 3, reserved: 1 }, large_v4: { count: 0, max_size: 0, reserved: 0 } })
  }
  return scope
}

describe('npm run sandbox reports spec drift', () => {
  test('deviations the adapter tolerates: the steps pass, and the report names each operation, path and count', async () => {
    // the client's own credentials get a token (with fields the spec does not declare); ial-check's deliberately wrong ones a 401
    const scope = nock(SANDBOX_API_URL)
      .get('/v1/oauth2/token').query({ grant_type: 'client_credentials' }).matchHeader('authorization', BASIC)
      .reply(200, { access_token: ACCESS_TOKEN, expires_in: 14400, token_type: 'Bearer', refresh_expires_in: 0, 'not-before-policy': 0 })
      .get('/v1/oauth2/token').query({ grant_type: 'client_credentials' })
      .reply(401, { error: 'invalid_client', error_description: 'Invalid client credentials' })
    tolerantCatalog(scope)

    const result = await sandbox([], { OPENMETAL_CLIENT_ID: 'sandbox-client', OPENMETAL_CLIENT_SECRET: CLIENT_SECRET })
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain(`→ ${SANDBOX_API_URL}`)
    expect(result.stdout).toContain('4 passed, 0 failed')
    expect(result.code).toBe(0)
    expect(scope.pendingMocks()).toEqual([])

    const drift = driftSection(result.stdout)
    const lines = drift.split('\n').map((text) => text.trim().replace(/\s{2,}/g, ' | '))
    expect(lines[0]).toMatch(/^What the sandbox said that the spec does not \(\d+ answers from 4 operations\):$/)
    expect(lines).toEqual(expect.arrayContaining([
      'exchangeToken (200)',
      '$.refresh_expires_in | not in the spec (an integer)',
      '$.not-before-policy | not in the spec (an integer)',
      'getLocations (200)',
      'header Link | pagination header (query page, per_page): next',
      'header X-Total-Count | pagination header: 4',
      '$.locations{}.timezone | not in the spec (a string) | ×3',
      '$.locations{}.release_status | value "beta" the spec does not list (it lists: released, pre-release)',
      'getProducts (200)',
      'header X-Ratelimit-Limit | rate-limit header',
      `$.hardware{}.stock_status | not in the spec (a string) | ×${Object.keys(productCatalog().hardware).length}`,
      '$.currency | not in the spec (a string)',
      'getAvailability (200 ×2)',
      '${}.reserved | not in the spec (an integer) | ×4',
      'error answers (not compared): exchangeToken 401'
    ]))
    // short: a title, one line per operation and per finding (nothing repeated per pod or SKU), the error line
    expect(lines.filter((text) => text !== '')).toHaveLength(16)
    expect(result.stdout).not.toMatch(new RegExp(`${CLIENT_SECRET}|${ACCESS_TOKEN}|${BASIC.slice(6)}|America|in_stock|USD`))
  })

  test('deviations the schemas refuse (a wrapped list, numeric strings, null): the report says where, and --json writes it', async () => {
    const cloud = (id: string): unknown => ({ id, label: `cloud ${id}`, fields: { cloud_type: 'baremetal', pod_location: 'pod_1', provision_status: 'complete', pending_delete: 'false' } })
    const locations = { pod_1: { ...PODS.pod_1, latitude: '39.0438', displayName: null }, pod_2: { ...PODS.pod_2, latitude: '33.9425' } }
    // persistent: how often the adapter asks again after an answer it could not read is not this test's business
    nock(SANDBOX_API_URL).persist()
      .get('/v1/clouds').matchHeader('authorization', `Bearer ${API_KEY}`)
      .reply(200, { data: [cloud('a'), cloud('b')], meta: { current_page: 1, last_page: 2, per_page: 2, total: 3 }, links: { next: `${SANDBOX_API_URL}/v1/clouds?page=2` } }, { 'X-Page': '1', 'X-Per-Page': '2' })
      .get('/v1/clouds').reply(401, { message: 'Unauthenticated.' })
      .get('/v1/products').reply(200, productCatalog())
      .get('/v2/inventory/locations').reply(200, { locations })
      .get('/v2/inventory/pod_1/availability').reply(200, { timestamp: '2026-05-01T00:00:00Z', pod_location: 'pod_1', medium_v4: { count: '2', max_size: 2 } })
      .get('/v2/inventory/pod_2/availability').reply(200, { timestamp: '2026-05-01T00:00:00Z', pod_location: 'pod_2', medium_v4: { count: '0', max_size: 0 } })
    const file = join(mkdtempSync(join(tmpdir(), 'sandbox-drift-')), 'drift.json')

    const result = await sandbox(['--json', file], { OPENMETAL_API_KEY: API_KEY })
    // whether the adapter copes with these answers is its own business (and may change); the report is printed either way
    expect(result.stdout).toMatch(/\d passed, \d failed/)
    expect(result.code).toBe(result.stdout.includes(' 0 failed') ? 0 : 1)

    const lines = driftSection(result.stdout).split('\n').map((text) => text.trim().replace(/\s{2,}/g, ' | '))
    expect(lines).toEqual(expect.arrayContaining([
      'listClouds (200)',
      '$ | a list wrapped in {data, meta, links} where a bare array is declared',
      '$.data[].fields.pending_delete | a boolean string where a boolean is declared | ×2',
      '$.meta.last_page | pagination in the body: 2',
      '$.meta.total | pagination in the body: 3',
      '$.links.next | pagination in the body: a URL',
      'header X-Page | pagination header: 1',
      'header X-Per-Page | pagination header: 2',
      'error answers (not compared): listClouds 401'
    ]))
    // two pods per answer; how many answers depends on whether the adapter could read the first one
    const text = lines.join('\n')
    expect(text).toMatch(/^\$\.locations\{\}\.latitude \| a numeric string where a number is declared \| ×(2|4|6)$/m)
    expect(text).toMatch(/^\$\.locations\{\}\.displayName \| null where the spec does not allow it \(a string is declared\)( \| ×[23])?$/m)
    expect(lines.find((text) => text.startsWith('getLocations ('))).toMatch(/^getLocations \(200( ×\d+)?\)$/)
    // availability is asked for only when the adapter could read the locations
    if (lines.some((text) => text.startsWith('getAvailability ('))) expect(lines).toContain('${}.count | a numeric string where an integer is declared | ×2')

    const written = JSON.parse(readFileSync(file, 'utf8')) as { tool: string, openMetalApiUrl: string, specDrift: SpecDriftReport }
    expect(written.tool).toBe('sandbox')
    expect(written.openMetalApiUrl).toBe(SANDBOX_API_URL)
    const listClouds = written.specDrift.operations.find((operation) => operation.operation === 'listClouds')
    expect(listClouds?.findings.find((finding) => finding.kind === 'wrapped')?.path).toBe('$')
    expect(listClouds?.errors).toEqual({ 401: 1 })
    expect(`${result.stdout}${readFileSync(file, 'utf8')}`).not.toContain(API_KEY)
  })
})

describe('against the simulator in drift mode (SANDBOX_API_URL)', () => {
  test('every kind of drift the simulator plays shows in the report, with no credential', async () => {
    const sim = await startSimulator({ drift: ['nulls', 'enums', 'strings', 'extras', 'wrapped-pages', 'link-pages'] })
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'sandbox-drift-')), 'drift.json')
      const result = await sandbox(['--json', file], { SANDBOX_API_URL: sim.url, OPENMETAL_API_KEY: 'sim-api-key' })
      expect(result.stdout).toContain(`→ ${sim.url}`)
      const report = (JSON.parse(readFileSync(file, 'utf8')) as { specDrift: SpecDriftReport }).specDrift
      const kinds = (operation: string): string[] => [...new Set(report.operations.find((entry) => entry.operation === operation)?.findings.map((finding) => finding.kind))]
      // the API-key probe lists clouds: a paged list; the public catalog: nulls, new enum values, numeric strings, extra fields
      expect(kinds('listClouds')).toEqual(expect.arrayContaining(['wrapped', 'pagination']))
      expect(kinds('getProducts')).toEqual(expect.arrayContaining(['null', 'enum', 'type', 'extra']))
      expect(driftSection(result.stdout)).toMatch(/^ {2}getProducts \(200\)$/m)
      expect(result.stdout).not.toContain('sim-api-key')
    } finally {
      await sim.close()
    }
  })
})

describe('a failed step stops the run', () => {
  test('the sandbox refusing the client: verify fails, nothing after it is asked, the output stays human and the log goes to its file', async () => {
    const scope = nock(SANDBOX_API_URL)
      .get('/v1/oauth2/token').query({ grant_type: 'client_credentials' }).twice()
      .reply(401, { error: 'invalid_client', error_description: 'Invalid client credentials' })
    // what the next step would ask: it must still be waiting at the end
    const locations = nock(SANDBOX_API_URL).get('/v2/inventory/locations').reply(200, { locations: {} })

    // info: the adapter logs every request, so a log line in the output could not go unseen
    const result = await sandbox([], { OPENMETAL_CLIENT_ID: 'sandbox-client', OPENMETAL_CLIENT_SECRET: CLIENT_SECRET, LOG_LEVEL: 'info' })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/^✘ verify /m)
    expect(result.stdout).toContain('Stopped: verify failed, so locations, server-models, configure did not run.')
    expect(result.stdout).not.toMatch(/^. (locations|server-models|configure) /m)
    expect(result.stdout).toContain('0 passed, 1 failed, 3 skipped')
    expect(scope.isDone()).toBe(true)
    expect(locations.isDone()).toBe(false)

    expect(result.stdout).not.toMatch(/^\{"level"/m)
    const logFile = /^its log \(info\): (\S+)$/m.exec(result.stdout)?.[1] ?? ''
    expect(result.stdout).toContain(`What the adapter logged: ${logFile}`)
    const logged = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { level: number, msg?: string })
    expect(logged.length).toBeGreaterThan(0)
    expect(readFileSync(logFile, 'utf8')).not.toContain(CLIENT_SECRET)
  })
})

describe('--yes: the whole lifecycle', () => {
  test('a step after the purchase fails: the run stops there, and the server it ordered is still decommissioned', async () => {
    const sim = await startSimulator({ provisioningStepMs: 20 })
    try {
      const created = await fetch(`${sim.url}/v1/configurations`, {
        method: 'POST',
        headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'CycleOS', fields: { image_ramdisk_kernel: 'https://images.example.com/vmlinuz', image_ramdisk_ramdisk: 'https://images.example.com/initrd' } })
      })
      const configuration = (await created.json() as { id: string }).id
      // OpenMetal refuses every power action: the restart step fails
      sim.faults.add({ method: 'POST', path: '/v1/deployment/cloud/*/node/*/power', status: 400, body: { message: 'power actions are disabled' }, times: Infinity })

      const result = await sandbox(['--yes', '--interval', '0.05'], {
        SANDBOX_API_URL: sim.url,
        OPENMETAL_API_KEY: 'sim-api-key',
        OPENMETAL_DEPLOYMENT_CONFIGURATION: configuration,
        OPENMETAL_SSH_PUBLIC_KEY: SSH_PUBLIC_KEY
      })
      expect(result.code, result.stdout).toBe(1)
      expect(result.stdout).toMatch(/^✔ provision /m)
      expect(result.stdout).toMatch(/^✘ restart /m)
      expect(result.stdout).not.toMatch(/^. (allocate|release) /m)
      expect(result.stdout).toMatch(/^✔ decommission /m)
      expect(result.stdout).toMatch(/Stopped: restart failed, so [^.]*allocate/)
      // the bare-metal server it bought is given back at OpenMetal, not left billing
      expect(sim.state.requests.filter((entry) => entry.method === 'POST' && entry.path === '/v1/orders')).toHaveLength(1)
      expect(sim.state.requests.some((entry) => entry.method === 'DELETE' && entry.path.startsWith('/v1/clouds/') && entry.status === 200)).toBe(true)
    } finally {
      await sim.close()
    }
  })
})

describe('the command line', () => {
  test('--help prints the usage and exits 0; an unknown option is one line and exit 2; nothing is called', async () => {
    const help = await sandbox(['--help'], { OPENMETAL_API_KEY: API_KEY })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^usage: npm run sandbox/)
    expect(help.stdout).toContain('--json FILE')

    const wrong = await sandbox(['--frobnicate'], {})
    expect(wrong.code).toBe(2)
    expect(wrong.stdout).toBe('')
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1)
    expect(wrong.stderr).toContain('--frobnicate')

    const duration = await sandbox(['--timeout', 'soon'], { OPENMETAL_API_KEY: API_KEY })
    expect(duration.code).toBe(2)
    expect(duration.stderr).toContain('not a duration: soon')
  })
})
