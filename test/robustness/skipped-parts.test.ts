/**
 * An odd OpenMetal answer is reported, not flooded: every skipped part is counted, and each kind
 * of part is logged once per interval however many entries of that kind there are (a map of
 * thousands of SKUs is one kind, not thousands of lines).
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { request } from 'undici'
import { startHarness, type Harness } from '../helpers/harness.ts'

let logText = ''
const logs = new Writable({ write (chunk, _encoding, done) { logText += String(chunk); done() } })
let h: Harness
beforeAll(async () => { h = await startHarness({ env: { LOG_LEVEL: 'warn', CATALOG_TTL_MS: '0' }, deps: { logStream: logs } }) })
afterAll(async () => { await h.close() })

test('thousands of odd SKUs in one products answer: one warn line for their kind, every one counted', async () => {
  const ODD = 5000
  h.sim.faults.setAnswerHook((answer, incoming) => {
    if (incoming.path !== '/v1/products' || answer.status !== 200) return answer
    const catalog = answer.body as { hardware: Record<string, unknown> }
    const odd = Object.fromEntries(Array.from({ length: ODD }, (_unused, index) => [`sku${index}`, { name: `sku${index}`, products: [] }]))
    return { ...answer, body: { ...catalog, hardware: { ...catalog.hardware, ...odd } } }
  })
  try {
    for (let poll = 0; poll < 2; poll++) expect((await h.call('GET', '/v1/infrastructure/provider/server-models')).status).toBe(200)
  } finally {
    h.sim.faults.setAnswerHook(undefined)
  }
  await new Promise((resolve) => setTimeout(resolve, 30))
  const warned = logText.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === 'skipped a part of an OpenMetal answer that could not be read')
  // one line for the kind, with the first entry of it as an example of where
  expect(warned.map((line) => [line.operation, line.path, line.example])).toEqual([['getProducts', '/hardware/{}/processor', '/hardware/sku0/processor']])
  const metrics = await (await request(`${h.url}/metrics`)).body.text()
  expect(metrics).toContain(`openmetal_answer_parts_skipped_total{operation="getProducts"} ${2 * ODD}`)
})
