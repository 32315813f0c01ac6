/** POST /v1/auth/verify (src/ial/routes/auth.ts) against the simulator. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { objectId, startHarness, tenantA, type Harness } from '../helpers/harness.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

const verify = (auth: object) => h.call('POST', '/v1/auth/verify', { auth, request: null })

describe('verify', () => {
  test('valid OAuth client and API key are valid; rejected ones are valid:false', async () => {
    expect((await verify(tenantA())).body).toEqual({ data: { valid: true } })
    expect((await verify({ api_key: 'sim-api-key' })).body).toEqual({ data: { valid: true } })
    expect((await verify({ client_id: 'sim-client', secret: 'wrong' })).body).toEqual({ data: { valid: false } })
    expect((await verify({ api_key: 'wrong' })).body).toEqual({ data: { valid: false } })
  })

  test('no credentials is a 422 that says what to set', async () => {
    const answer = await verify({ cycle: { hub_id: objectId(), hub_name: 'x' } })
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({ code: '422.missing-argument', source: '/auth' })
  })

  test('OpenMetal failing is an error, not valid:false', async () => {
    h.sim.faults.add({ method: 'GET', path: '/v1/oauth2/token', status: 503, times: Infinity })
    const answer = await verify(tenantA())
    h.sim.faults.clear()
    expect(answer.status).toBe(503)
    expect(answer.body.error?.code).toBe('503.not-ready')
  })

  test('an unreachable OpenMetal is an error, not valid:false', async () => {
    const lonely = await startHarness({ env: { OPENMETAL_API_URL: 'http://127.0.0.1:9' } })
    const answer = await lonely.call('POST', '/v1/auth/verify', { auth: tenantA(), request: null })
    await lonely.close()
    expect(answer.status).toBe(503)
    expect(answer.body.data).toBeNull()
  })
})
