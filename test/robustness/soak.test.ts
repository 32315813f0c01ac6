/**
 * A bounded soak on loopback: thousands of mixed Cycle calls over real sockets. Every
 * request gets its answer, and memory settles instead of growing with the request count.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { serverActionBody, statusBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { provisioned } from '../helpers/lifecycle.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

const ROUNDS = 6
const PER_ROUND = 500
const CONCURRENCY = 25

test('mixed calls: none lost, memory bounded', async () => {
  const tenant = tenantA()
  const { server, serverId, extra } = await provisioned(h, tenant)
  const calls = [
    () => h.call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra)),
    () => h.call('GET', '/v1/infrastructure/provider/locations'),
    () => h.call('GET', '/v1/infrastructure/provider/server-models'),
    () => h.call('POST', '/v1/auth/verify', { auth: tenant, request: null }),
    () => h.call('POST', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, 'om1.bogus!', extra)),
    () => h.call('POST', '/v1/infrastructure/server/restart', serverActionBody({ ...tenant, cycle: { hub_id: 'f'.repeat(24), hub_name: 'x' } }, server, serverId))
  ]
  const expected = [200, 200, 200, 200, 422, 404]
  const heap: number[] = []
  let answered = 0
  for (let round = 0; round < ROUNDS; round++) {
    let next = 0
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < PER_ROUND) {
        const index = next++ % calls.length
        const answer = await calls[index]?.()
        expect(answer?.status).toBe(expected[index])
        answered++
      }
    }))
    if (globalThis.gc === undefined) throw new Error('run with --expose-gc (vitest.config.ts sets it)')
    globalThis.gc()
    heap.push(process.memoryUsage().heapUsed)
  }
  expect(answered).toBe(ROUNDS * PER_ROUND)
  // after warm-up, 2,000 more calls leave the collected heap within a few MB
  const growth = (heap.at(-1) ?? 0) - (heap[1] ?? 0)
  expect(growth).toBeLessThan(8 * 1024 * 1024)
}, 120_000)
