/**
 * Pointed at the OpenMetal sandbox (`OPENMETAL_API_URL=https://sandbox.api.central.openmetal.io`,
 * what README's "Pointing it at the OpenMetal sandbox" sets), the adapter speaks OpenMetal's
 * protocol to that HTTPS origin and to nothing else. No test reaches the internet, so nock
 * stands in for the sandbox at the socket (the simulator cannot answer for that host name
 * over TLS); every other route test talks to the simulator on loopback.
 */
import nock from 'nock'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { buildApp } from '../../src/app.ts'
import { SANDBOX_API_URL, loadConfig } from '../../src/config.ts'
import { PODS } from '@cycle-ial-openmetal/openmetal-simulator/catalog'
import { objectId } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { SSH_KEY } from '../helpers/harness.ts'

const hub = { hub_id: objectId(), hub_name: 'sandbox-hub' }
const oauth = { client_id: 'sandbox-client', secret: 'sandbox-secret-0042', cycle: hub }
const basic = `Basic ${Buffer.from('sandbox-client:sandbox-secret-0042').toString('base64')}`

let app: FastifyInstance
const unmatched: string[] = []
const recordUnmatched = (request: { method?: string, path?: string, host?: string }): void => { unmatched.push(`${request.method ?? ''} ${request.host ?? ''}${request.path ?? ''}`) }

beforeAll(async () => {
  nock.disableNetConnect()
  nock.emitter.on('no match', recordUnmatched)
  app = await buildApp(loadConfig({
    LOG_LEVEL: 'silent',
    OPENMETAL_API_URL: SANDBOX_API_URL,
    OPENMETAL_DEPLOYMENT_CONFIGURATION: 'cfgSandbox1',
    OPENMETAL_SSH_PUBLIC_KEY: SSH_KEY,
    OPENMETAL_TIMEOUT_MS: '1000',
    OPENMETAL_MAX_ATTEMPTS: '1',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0'
  }))
})

afterEach(() => {
  // every answer the sandbox was set up to give was asked for, and nothing else was asked
  expect(nock.pendingMocks()).toEqual([])
  expect(unmatched).toEqual([])
  nock.cleanAll()
})

afterAll(async () => {
  await app.close()
  nock.emitter.removeListener('no match', recordUnmatched)
  nock.enableNetConnect()
})

async function ial (method: 'GET' | 'POST', url: string, auth: unknown): Promise<{ status: number, body: Record<string, unknown> }> {
  const response = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ auth, request: null }) })
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() }
}

describe('the adapter against the sandbox origin', () => {
  test('verify exchanges the OAuth client for a token at the sandbox, once, with Basic credentials and the grant type', async () => {
    const sandbox = nock(SANDBOX_API_URL)
      .get('/v1/oauth2/token')
      .query({ grant_type: 'client_credentials' })
      .matchHeader('authorization', basic)
      // without the spec's `scope`: of this answer only access_token and expires_in are needed (docs/TOLERANCE.md)
      .reply(200, { access_token: 'sandbox-token-1', expires_in: 14400, token_type: 'Bearer' })
    const answer = await ial('POST', '/v1/auth/verify', oauth)
    expect(answer).toEqual({ status: 200, body: { data: { valid: true } } })
    expect(sandbox.isDone()).toBe(true)
  })

  test('an API key is probed with a cheap authenticated call, sent as the Bearer token', async () => {
    nock(SANDBOX_API_URL).get('/v1/clouds').matchHeader('authorization', 'Bearer sandbox-api-key-7').reply(200, [])
    expect(await ial('POST', '/v1/auth/verify', { api_key: 'sandbox-api-key-7', cycle: hub })).toEqual({ status: 200, body: { data: { valid: true } } })
  })

  test('the sandbox refusing the client is valid:false; the sandbox failing is a 503 that carries none of its body', async () => {
    nock(SANDBOX_API_URL).get('/v1/oauth2/token').query(true).reply(401, { error: 'invalid_client' })
    expect(await ial('POST', '/v1/auth/verify', { ...oauth, secret: 'wrong' })).toEqual({ status: 200, body: { data: { valid: false } } })

    nock(SANDBOX_API_URL).get('/v1/oauth2/token').query(true).reply(503, { error: 'maintenance window: internal-host-17 sandbox-secret-0042' })
    const failed = await ial('POST', '/v1/auth/verify', { ...oauth, client_id: 'another-client' })
    expect(failed.status).toBe(503)
    expect(failed.body).toMatchObject({ data: null, error: { status: 503, code: '503.not-ready' } })
    expect(JSON.stringify(failed.body)).not.toMatch(/maintenance|internal-host|sandbox-secret/)
  })

  test('the public catalog is read without sending the tenant\'s credentials', async () => {
    nock(SANDBOX_API_URL, { badheaders: ['authorization'] })
      .get('/v2/inventory/locations')
      .reply(200, { locations: { pod_1: PODS.pod_1, pod_5: PODS.pod_5 } })
    const answer = await ial('GET', '/v1/infrastructure/provider/locations', oauth)
    expect(answer.status).toBe(200)
    const locations = (answer.body.data as { locations: Array<{ provider: { location_id: string }, geographic: { city: string } }> }).locations
    expect(locations.map((location) => [location.provider.location_id, location.geographic.city])).toEqual([['pod_1', 'Ashburn'], ['pod_5', 'Singapore']])
  })
})
