/**
 * The IAL scope: Cycle's ten endpoints, and only they, behind the rate limits and the hub
 * allow-list (probes, metrics and docs live outside it). Encapsulated: its hooks touch no
 * other route.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../config.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import { Errors } from '../errors.ts'
import { limitIalRate } from '../edge/rate-limits.ts'
import type { IalDeps } from './deps.ts'
import { HUB_ID_MAX, hubOf } from './hub.ts'
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
  readonly now: () => number
}

export const ial: FastifyPluginAsyncTypebox<IalOptions> = async (scope, { config, client, now }) => {
  await limitIalRate(scope, { perHubAndAddress: config.rateLimitPerMinute, perAddress: config.rateLimitPerAddressPerMinute, hubOf })
  if (config.allowedHubIds.length > 0) {
    const allowed = new Set(config.allowedHubIds)
    scope.addHook('preHandler', async (request) => {
      // the whole ID: one that merely starts with an allowed ID is another hub
      const hubId = hubOf(request)
      if (hubId === undefined || hubId.length > HUB_ID_MAX || !allowed.has(hubId)) throw Errors.permissions({ detail: 'this Cycle hub is not allowed to use this adapter', source: '/auth/cycle/hub_id' })
    })
  }
  const deps: IalDeps = { config, client, servers: new ServerDirectory(client), purchases: new IpBlockPurchases(client, config), now }
  await scope.register(authRoutes, deps)
  await scope.register(providerRoutes, deps)
  await scope.register(locationRoutes, deps)
  await scope.register(serverRoutes, deps)
  await scope.register(ipRoutes, deps)
}
