/**
 * What the adapter costs OpenMetal (whose rate limits are undocumented): a status poll while
 * a server provisions costs the order alone, so at most 1.2 calls averaged over the
 * provisioning; a restart in the replica that watched the server provision costs the order
 * and the power action.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { provisioned, stockedModel } from '../helpers/lifecycle.ts'
import { measureCallBudget } from '../helpers/call-budget.ts'
import { serverActionBody, cycleServer } from '@cycle-ial-openmetal/ial-check/cycle-requests'

let h: Harness

beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

test('over a whole lifecycle, status polls and restart stay within their OpenMetal call budgets', async () => {
  const { modelId, locationId } = await stockedModel(h)
  const steps = await measureCallBudget({
    sim: h.sim,
    call: async (method, path, body) => {
      const answer = await h.call(method, path, body)
      return { status: answer.status, data: answer.body.data ?? answer.body.error }
    },
    tenant: tenantA(),
    modelId,
    locationId,
    polls: 60
  })
  const of = (step: string) => steps.find((entry) => entry.step === step)
  expect(of('provision-status')?.cycleCalls).toBeGreaterThanOrEqual(60)
  expect(of('provision-status')?.perCall).toBeLessThanOrEqual(1.2)
  expect(of('restart')?.openMetalCalls).toBe(2)
  expect(steps.every((step) => step.met)).toBe(true)
})

test('a restart in a replica that never saw the server asks the cloud for its node: order, stats, power', async () => {
  const tenant = tenantA()
  const { modelId, locationId } = await stockedModel(h)
  const server = cycleServer(modelId, locationId)
  const { serverId, extra } = await provisioned(h, tenant, server)
  const other = await h.replica()
  try {
    const before = h.sim.state.requests.length
    const answer = await other.inject({ method: 'POST', url: '/v1/infrastructure/server/restart', payload: serverActionBody(tenant, server, serverId, extra) })
    expect(answer.json()).toEqual({ data: true })
    const calls = h.sim.state.requests.slice(before).map((entry) => `${entry.method} ${entry.path.split('/').slice(1, 3).join('/')}`)
    expect(calls.filter((entry) => !entry.includes('oauth2'))).toEqual(['GET v1/orders', 'GET v1/clouds', 'POST v1/deployment'])
  } finally {
    await other.close()
  }
})

test('a node this replica remembers that OpenMetal no longer has in the cloud (404) is looked up again, not reported gone', async () => {
  const tenant = tenantA()
  const { modelId, locationId } = await stockedModel(h)
  const server = cycleServer(modelId, locationId)
  const { serverId, extra } = await provisioned(h, tenant, server)
  h.sim.faults.add({ method: 'POST', path: '/v1/deployment/cloud/*/node/*/power', status: 404, times: 1 })
  const before = h.sim.state.requests.length
  const answer = await h.call('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId, extra))
  expect(answer.body).toEqual({ data: true })
  const calls = h.sim.state.requests.slice(before).map((entry) => `${entry.method} ${entry.path.split('/').slice(1, 3).join('/')} ${entry.status}`)
  expect(calls).toEqual(['GET v1/orders 200', 'POST v1/deployment 404', 'GET v1/clouds 200', 'POST v1/deployment 200'])
})
