/** POST /v1/location/configure (src/ial/routes/location.ts) against the simulator. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { configureBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

describe('configure', () => {
  test('acknowledges a known pod and echoes the configuration', async () => {
    const answer = await h.call('POST', '/v1/location/configure', { ...configureBody(tenantA(), 'pod_1'), request: { ...configureBody(tenantA(), 'pod_1').request, version: '7', configuration_current: { subnet: 'a' } } })
    expect(answer.status).toBe(200)
    expect(answer.body.data).toEqual({ configured: true, version: '7', configuration_latest: { subnet: 'a' } })
  })

  test('refuses an unknown pod with 404.infrastructure.location', async () => {
    const answer = await h.call('POST', '/v1/location/configure', configureBody(tenantA(), 'pod_999'))
    expect(answer.status).toBe(404)
    expect(answer.body.error).toMatchObject({ code: '404.infrastructure.location', source: '/request/location_id' })
  })
})
