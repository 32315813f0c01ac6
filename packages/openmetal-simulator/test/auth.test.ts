import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Value } from 'typebox/value'
import { OAuthTokenResponse } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { API_KEY_A, basic, call } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator() })
afterAll(async () => { await sim.close() })

const TOKEN_PATH = '/v1/oauth2/token?grant_type=client_credentials'

describe('OAuth client credentials', () => {
  test('good credentials get a bearer token in the spec\'s shape, counted', async () => {
    const before = sim.state.tokenExchanges
    const reply = await call(sim, 'GET', TOKEN_PATH, undefined, basic('sim-client', 'sim-secret'))
    expect(reply.status).toBe(200)
    expect(Value.Check(OAuthTokenResponse, reply.body)).toBe(true)
    expect(reply.body).toMatchObject({ token_type: 'bearer', expires_in: 14_400 })
    expect(sim.state.tokenExchanges).toBe(before + 1)
    const token = (reply.body as OAuthTokenResponse).access_token
    expect((await call(sim, 'GET', '/v1/clouds', undefined, `Bearer ${token}`)).status).toBe(200)
  })

  test.each([
    ['a wrong secret', basic('sim-client', 'nope')],
    ['an unknown client', basic('who', 'sim-secret')],
    ['no colon', `Basic ${Buffer.from('sim-client').toString('base64')}`],
    ['a bearer header', API_KEY_A],
    ['no header', null]
  ])('%s answers 401 and issues nothing', async (_name, authorization) => {
    const before = sim.state.tokenExchanges
    const reply = await call(sim, 'GET', TOKEN_PATH, undefined, authorization)
    expect(reply.status).toBe(401)
    expect(reply.body).toMatchObject({ status: 401, message: expect.any(String) })
    expect(sim.state.tokenExchanges).toBe(before)
  })

  test('another grant type, or none, is a 400', async () => {
    expect((await call(sim, 'GET', '/v1/oauth2/token?grant_type=password', undefined, basic('sim-client', 'sim-secret'))).status).toBe(400)
    expect((await call(sim, 'GET', '/v1/oauth2/token', undefined, basic('sim-client', 'sim-secret'))).status).toBe(400)
  })

  test('expireTokens: every issued token answers 401 until exchanged again; API keys keep working', async () => {
    const token = ((await call(sim, 'GET', TOKEN_PATH, undefined, basic('sim-client', 'sim-secret'))).body as OAuthTokenResponse).access_token
    sim.faults.expireTokens()
    expect((await call(sim, 'GET', '/v1/clouds', undefined, `Bearer ${token}`)).status).toBe(401)
    expect((await call(sim, 'GET', '/v1/clouds')).status).toBe(200)
    const fresh = ((await call(sim, 'GET', TOKEN_PATH, undefined, basic('sim-client', 'sim-secret'))).body as OAuthTokenResponse).access_token
    expect((await call(sim, 'GET', '/v1/clouds', undefined, `Bearer ${fresh}`)).status).toBe(200)
  })

  test('concurrent exchanges are each counted (what a test of single-flight token caching reads)', async () => {
    const before = sim.state.tokenExchanges
    await Promise.all(Array.from({ length: 5 }, async () => await call(sim, 'GET', TOKEN_PATH, undefined, basic('sim-client-b', 'sim-secret-b'))))
    expect(sim.state.tokenExchanges).toBe(before + 5)
  })
})

test('tokens expire after tokenTtlSeconds', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const timed = await startSimulator({ tokenTtlSeconds: 60, clock: () => now })
  try {
    const reply = await call(timed, 'GET', TOKEN_PATH, undefined, basic('sim-client', 'sim-secret'))
    expect(reply.body).toMatchObject({ expires_in: 60 })
    const bearer = `Bearer ${(reply.body as OAuthTokenResponse).access_token}`
    now += 59_000
    expect((await call(timed, 'GET', '/v1/orders', undefined, bearer)).status).toBe(200)
    now += 1000
    expect((await call(timed, 'GET', '/v1/orders', undefined, bearer)).status).toBe(401)
  } finally {
    await timed.close()
  }
})

describe('bearer authentication', () => {
  test.each(['/v1/orders', '/v1/clouds', '/v1/prefixes', '/v1/configurations', '/v1/public-keys', '/v1/orders/x', '/v1/clouds/x/stats'])('%s needs a token', async (path) => {
    for (const authorization of [null, 'Bearer nope', 'Basic c2ltLWNsaWVudDpzaW0tc2VjcmV0', 'sim-api-key']) {
      const reply = await call(sim, 'GET', path, undefined, authorization)
      expect(reply.status).toBe(401)
      expect(reply.body).toMatchObject({ status: 401, error: 'Unauthorized' })
    }
  })

  test('the catalog and health need none', async () => {
    for (const path of ['/health', '/v2/inventory/locations', '/v1/products', '/v2/inventory/pod_1/availability']) {
      expect((await call(sim, 'GET', path, undefined, null)).status).toBe(200)
    }
  })

  test('an unknown route is a JSON 404, a known one with another method a JSON 405', async () => {
    const missing = await call(sim, 'GET', '/v1/nothing-here')
    expect(missing).toMatchObject({ status: 404, body: { status: 404, error: 'Not Found' } })
    const wrong = await call(sim, 'PUT', '/v1/orders', {})
    expect(wrong).toMatchObject({ status: 405, headers: { allow: 'GET, POST' } })
    expect((await call(sim, 'GET', '/v1/orders/%E0%A4%A')).status).toBe(404)
  })

  test('a body that is not JSON is a 400', async () => {
    expect((await call(sim, 'POST', '/v1/orders', '{"label": ')).status).toBe(400)
  })
})

describe('account profile', () => {
  test('every credential of one organisation names the same account UUID; another organisation another one', async () => {
    const token = ((await call(sim, 'GET', TOKEN_PATH, undefined, basic('sim-client', 'sim-secret'))).body as OAuthTokenResponse).access_token
    const viaOauth = await call(sim, 'GET', '/v1/accounts/profile', undefined, `Bearer ${token}`)
    const viaKey = await call(sim, 'GET', '/v1/accounts/profile', undefined, API_KEY_A)
    const other = await call(sim, 'GET', '/v1/accounts/profile', undefined, 'Bearer sim-api-key-b')
    expect(viaOauth.status).toBe(200)
    const uuid = (viaOauth.body as { account_uuid: string }).account_uuid
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/)
    expect((viaKey.body as { account_uuid: string }).account_uuid).toBe(uuid)
    expect((other.body as { account_uuid: string }).account_uuid).not.toBe(uuid)
    expect((await call(sim, 'GET', '/v1/accounts/profile', undefined, null)).status).toBe(401)
  })
})
