/** Steps of a server's life that many route tests need before the part they test. */
import { expect } from 'vitest'
import { tenantA, type Harness, type Tenant } from './harness.ts'
import { cycleServer, provisionBody, statusBody, type CycleServer } from '@cycle-ial-openmetal/ial-check/cycle-requests'

export async function stockedModel (h: Harness): Promise<{ modelId: string, locationId: string }> {
  const answer = await h.call('GET', '/v1/infrastructure/provider/server-models')
  const models = (answer.body.data as { models: Array<{ provider: { model_id: string, locations: string[] } }> }).models
  const model = models.find((candidate) => candidate.provider.locations.length > 0)
  if (model === undefined) throw new Error('the simulator has no stock')
  return { modelId: model.provider.model_id, locationId: model.provider.locations[0] ?? '' }
}

/** A Cycle server of a fresh hub, not provisioned yet, and the call that provisions it. */
export async function unprovisioned (h: Harness) {
  const tenant = tenantA()
  const { modelId, locationId } = await stockedModel(h)
  const server = cycleServer(modelId, locationId)
  return { tenant, server, provision: () => h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server)) }
}

/** A server provisioned (bought, not waited for): a new Cycle server of a stocked model unless one is given. */
export async function ordered (h: Harness, tenant: Tenant, given?: CycleServer): Promise<{ server: CycleServer, serverId: string, extra: Record<string, unknown>, orderId: string }> {
  const server: CycleServer = given ?? await stockedModel(h).then(({ modelId, locationId }) => cycleServer(modelId, locationId))
  const answer = await h.call('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server))
  expect(answer.status, JSON.stringify(answer.body.error)).toBe(200)
  const { server_id: serverId, extra } = answer.body.data as { server_id: string, extra: Record<string, unknown> & { order_id: string } }
  return { server, serverId, extra, orderId: extra.order_id }
}

/** The same, then polled until provision-status says provisioned (the harness's replica thereby knows its cloud and node). */
export async function provisioned (h: Harness, tenant: Tenant, given?: CycleServer): Promise<{ server: CycleServer, serverId: string, extra: Record<string, unknown>, status: Record<string, unknown> }> {
  const { server, serverId, extra } = await ordered(h, tenant, given)
  const status = await untilProvisioned(h, tenant, server, serverId, extra)
  return { server, serverId, extra: status.extra as Record<string, unknown>, status }
}

export async function untilProvisioned (h: Harness, tenant: Tenant, server: CycleServer, serverId: string, extra: Record<string, unknown> | null): Promise<Record<string, unknown>> {
  let latest: Record<string, unknown> = {}
  for (let attempt = 0; attempt < 200; attempt++) {
    const answer = await h.call('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
    expect(answer.status).toBe(200)
    latest = answer.body.data as Record<string, unknown>
    if (latest.provisioned === true) return latest
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`never provisioned: ${JSON.stringify(latest)}`)
}
