/** ial-inventory against the simulator: what the adapter bought, and what needs a look. */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'
import { allocateBody, serverActionBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { provisioned } from '../helpers/lifecycle.ts'
import { collectInventory, renderInventory } from '../../src/cli/inventory.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

test('lists servers and addresses by Cycle tag and flags manual setup and orphaned addresses', async () => {
  const tenant = tenantA()
  const healthy = await provisioned(h, tenant)
  const stuck = await provisioned(h, tenant)
  const gone = await provisioned(h, tenant)
  h.sim.faults.setOrderStatus(String(stuck.extra.order_id), 'manual_setup')
  await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, healthy.server, healthy.serverId))
  await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, gone.server, gone.serverId))
  await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, gone.server, gone.serverId, gone.extra))

  const report = await collectInventory(h.sim.url, { kind: 'oauth', clientId: 'sim-client', secret: 'sim-secret' }, tenant.cycle.hub_id)
  const byServer = Object.fromEntries(report.servers.map((row) => [row.cycleServerId, row]))
  expect(Object.keys(byServer).sort()).toEqual([healthy.server.cycleServerId, stuck.server.cycleServerId, gone.server.cycleServerId].sort())
  expect(byServer[healthy.server.cycleServerId]?.findings).toEqual([])
  expect(byServer[stuck.server.cycleServerId]?.findings).toEqual(['manual-setup'])
  expect(byServer[gone.server.cycleServerId]?.findings).toEqual(['cloud-pending-delete'])
  const ipFindings = Object.fromEntries(report.ips.map((row) => [row.cycleServerId, row.findings]))
  expect(ipFindings).toEqual({ [healthy.server.cycleServerId]: [], [gone.server.cycleServerId]: ['orphaned-ip'] })
  expect(renderInventory(report)).toContain('3 server(s), 2 IP address(es), 0 bought IP block(s), 3 finding(s)')
})

test('a clean run, provision to decommission, leaves nothing behind once OpenMetal has wiped the cloud: no finding (exit 0)', async () => {
  const tenant = tenantA()
  const server = await provisioned(h, tenant)
  expect((await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server.server, server.serverId))).status).toBe(200)
  expect((await h.call('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server.server, server.serverId, server.extra))).body).toEqual({ data: true })
  const credentials = { kind: 'oauth' as const, clientId: 'sim-client', secret: 'sim-secret' }
  // pending delete until OpenMetal wipes it (the simulator: a second here, three days at OpenMetal)
  expect((await collectInventory(h.sim.url, credentials, tenant.cycle.hub_id)).servers.map((row) => row.findings)).toEqual([['cloud-pending-delete']])
  await expect.poll(async () => (await collectInventory(h.sim.url, credentials, tenant.cycle.hub_id)).findings, { timeout: 5000, interval: 200 }).toBe(0)
})
