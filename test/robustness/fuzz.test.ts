/**
 * Whatever Cycle or a stranger sends, the answer is a Cycle envelope: 2xx with data or a 4xx
 * that says what was wrong. Never a 5xx caused by input, never a stack trace, never a crash.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { IAL_ENDPOINTS } from '../helpers/fixtures.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

async function expectEnvelope (method: 'GET' | 'POST', url: string, payload: string, contentType = 'application/json'): Promise<void> {
  const response = await h.app.inject({ method, url, payload, headers: { 'content-type': contentType } })
  const text = response.body
  expect(text).not.toMatch(/\n\s+at\s/)
  expect(response.statusCode, `${method} ${url} <- ${payload.slice(0, 200)}: ${text.slice(0, 300)}`).toBeLessThan(500)
  const body = JSON.parse(text) as { data?: unknown, error?: { status: number, code: string } }
  if (response.statusCode === 200) {
    expect(body).toHaveProperty('data')
  } else {
    expect(body.data).toBeNull()
    expect(body.error?.status).toBe(response.statusCode)
    expect(body.error?.code).toMatch(new RegExp(`^${response.statusCode}\\.[a-z0-9.-]+$`))
  }
}

const wrapperWith = (request: fc.Arbitrary<unknown>) => fc.record({ auth: fc.oneof(fc.constant(tenantA()), fc.object(), fc.constant(null)), request })

const cycleShaped = fc.record({
  server_id: fc.oneof(fc.string(), fc.constant('om1.AAAA.pod_1'), fc.constant('om1.AAAA.pod_1.BBBB'), fc.stringMatching(/^om1\.[A-Za-z0-9]{1,12}\.pod_[0-9]$/)),
  hostname: fc.string({ maxLength: 300 }),
  model_id: fc.oneof(fc.string(), fc.constant('medium_v4')),
  location_id: fc.oneof(fc.string(), fc.constant('pod_1')),
  kind: fc.oneof(fc.constant('ipv4'), fc.constant('ipv6'), fc.string()),
  ip_id: fc.string(),
  ip_assignment_id: fc.string(),
  cidr: fc.string(),
  version: fc.string(),
  configuration_current: fc.oneof(fc.object(), fc.constant(null)),
  extra: fc.oneof(fc.object(), fc.constant(null)),
  cycle: fc.record({ server_id: fc.stringMatching(/^[0-9a-f]{24}$/), model_class: fc.string(), model_category: fc.string(), model_id: fc.string(), location_id: fc.string(), pool_id: fc.oneof(fc.string(), fc.constant(null)), server_model_class: fc.string(), server_model_category: fc.string() })
}, { requiredKeys: [] })

describe.each(IAL_ENDPOINTS)('%s %s', (method, url) => {
  test('arbitrary JSON', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue(), async (value) => expectEnvelope(method, url, JSON.stringify(value))), { numRuns: 40 })
  })

  test('arbitrary text as a JSON body', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => expectEnvelope(method, url, text)), { numRuns: 30 })
  })

  test('Cycle-shaped requests with arbitrary values', async () => {
    await fc.assert(fc.asyncProperty(wrapperWith(cycleShaped), async (body) => expectEnvelope(method, url, JSON.stringify(body))), { numRuns: 40 })
  })

  test('huge strings and other content types', async () => {
    await expectEnvelope(method, url, JSON.stringify({ auth: tenantA(), request: { hostname: 'x'.repeat(900_000), server_id: 'y'.repeat(500_000) } }))
    await expectEnvelope(method, url, 'a=b', 'application/x-www-form-urlencoded')
    await expectEnvelope(method, url, '<xml/>', 'text/xml')
  })
})
