import { afterAll, beforeAll, expect, test } from 'vitest'
import { Value } from 'typebox/value'
import { PowerStateResponse, type CloudStats } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { call, deployedCloud, idOf, orderBody, untilStatus } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator({ provisioningStepMs: 20, powerLockMs: 150 }) })
afterAll(async () => { await sim.close() })

async function nodeOf (cloudId: string): Promise<string> {
  return ((await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats).nodes?.[0]?.uuid ?? ''
}

async function powerStateOf (cloudId: string): Promise<string | undefined> {
  return ((await call(sim, 'GET', `/v1/clouds/${cloudId}/stats`)).body as CloudStats).nodes?.[0]?.power_state
}

const power = (cloudId: string, node: string, body: unknown) => call(sim, 'POST', `/v1/deployment/cloud/${cloudId}/node/${node}/power`, body)

test('a power action succeeds, then the node is locked (409) for powerLockMs', async () => {
  const { cloudId } = await deployedCloud(sim)
  const node = await nodeOf(cloudId)
  const reply = await power(cloudId, node, { power_state: 'rebooting' })
  expect(reply.status).toBe(200)
  expect(Value.Check(PowerStateResponse, reply.body)).toBe(true)
  expect(reply.body).toEqual({ result: 'success', power_state: 'rebooting', node_uuid: node })
  expect(await powerStateOf(cloudId)).toBe('rebooting')
  const locked = await power(cloudId, node, { power_state: 'power off' })
  expect(locked.status).toBe(409)
  expect(locked.body).toMatchObject({ message: expect.stringContaining('Node Locked') })
  await new Promise((resolve) => setTimeout(resolve, 170))
  expect(await powerStateOf(cloudId)).toBe('power on')
  expect((await power(cloudId, node, { power_state: 'power off' })).status).toBe(200)
  await new Promise((resolve) => setTimeout(resolve, 170))
  expect(await powerStateOf(cloudId)).toBe('power off')
  expect(sim.state.powerActions).toBeGreaterThanOrEqual(2)
})

test('lockNode (in code or over /_sim) locks a node for as long as asked', async () => {
  const { cloudId } = await deployedCloud(sim)
  const node = await nodeOf(cloudId)
  sim.faults.lockNode(node, 60_000)
  expect((await power(cloudId, node, { power_state: 'power on' })).status).toBe(409)
  expect((await call(sim, 'POST', `/_sim/nodes/${node}/lock`, { ms: 0 }, null)).status).toBe(200)
  expect((await power(cloudId, node, { power_state: 'power on' })).status).toBe(200)
  expect((await call(sim, 'POST', '/_sim/nodes/nope/lock', { ms: 10 }, null)).status).toBe(404)
})

test.each([[{ power_state: 'off' }], [{ power_state: 'POWER ON' }], [{}], [{ power_state: 1 }], [undefined]])('power_state %j is a 400', async (body) => {
  const { cloudId } = await deployedCloud(sim)
  expect((await power(cloudId, await nodeOf(cloudId), body)).status).toBe(400)
})

test('an unknown cloud or node is a 404', async () => {
  const { cloudId } = await deployedCloud(sim)
  expect((await power('nope', await nodeOf(cloudId), { power_state: 'power on' })).status).toBe(404)
  expect((await power(cloudId, '00000000-0000-4000-8000-000000000000', { power_state: 'power on' })).status).toBe(404)
})

test('a cloud still provisioning, or pending delete, answers 409 like a locked node', async () => {
  const orderId = idOf(await call(sim, 'POST', '/v1/orders', orderBody()))
  sim.faults.setOrderStatus(orderId, 'in_progress')
  const cloudId = await untilStatus(sim, orderId, 'in_progress')
  const node = await nodeOf(cloudId)
  expect(node).not.toBe('')
  expect((await power(cloudId, node, { power_state: 'rebooting' })).status).toBe(409)
  sim.faults.setOrderStatus(orderId, 'complete')
  await call(sim, 'DELETE', `/v1/clouds/${cloudId}`)
  expect((await power(cloudId, node, { power_state: 'rebooting' })).status).toBe(409)
})
