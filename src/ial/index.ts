/**
 * The IAL scope: Cycle's ten endpoints, and only they, behind the rate limits and the hub
 * allow-list (probes, metrics and docs live outside it). Encapsulated: its hooks touch no
 * other route.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../config.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import { LabelledWrites, type LabelledWritesOptions } from '../openmetal/labelled-writes.ts'
import type { Leases } from '../coordination/leases.ts'
import { Errors } from '../errors.ts'
import { limitIalRate } from '../edge/rate-limits.ts'
import type { IalDeps } from './deps.ts'
import { HUB_ID_MAX, hubOf } from '../http/hub.ts'
import { ServerDirectory } from './servers.ts'
import { IpBlockPurchases } from './ip-blocks.ts'
import { authRoutes } from './routes/auth.ts'
import { providerRoutes } from './routes/provider.ts'
import { locationRoutes } from './routes/location.ts'
import { serverRoutes } from './routes/server.ts'
import { ipRoutes } from './routes/ip.ts'

export interface IalOptions {
  readonly config: Config
  readonly client: OpenMetalClient
  /** the coordinator's leases, which every purchase is made under */
  readonly leases: Leases
  readonly writeOptions?: LabelledWritesOptions | undefined
  readonly now: () => number
}

export const ial: FastifyPluginAsyncTypebox<IalOptions> = async (scope, { config, client, leases, writeOptions, now }) => {
  await limitIalRate(scope, { perHubAndAddress: config.rateLimitPerMinute, perAddress: config.rateLimitPerAddressPerMinute, hubOf })
  if (config.allowedHubIds.length > 0) {
    const allowed = new Set(config.allowedHubIds)
    scope.addHook('preHandler', async (request) => {
      // the whole ID: one that merely starts with an allowed ID is another hub
      const hubId = hubOf(request)
      if (hubId === undefined || hubId.length > HUB_ID_MAX || !allowed.has(hubId)) throw Errors.permissions({ detail: 'this Cycle hub is not allowed to use this adapter', source: '/auth/cycle/hub_id' })
    })
  }
  const writes = new LabelledWrites(client, leases, { recoveryTimeoutMs: config.upstreamTimeoutMs, ...writeOptions })
  scope.addHook('onClose', async () => { writes.close() })
  const deps: IalDeps = { config, client, writes, servers: new ServerDirectory(client), purchases: new IpBlockPurchases(client, writes, config), now }
  await scope.register(authRoutes, deps)
  await scope.register(providerRoutes, deps)
  await scope.register(locationRoutes, deps)
  await scope.register(serverRoutes, deps)
  await scope.register(ipRoutes, deps)
}
