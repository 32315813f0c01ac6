import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { locationsSchema, serverModelsSchema } from '../schemas.ts'
import { locationsFromInventory, podsOf, serverModelsFromCatalog, stockBySku } from '../../mapping/catalog.ts'
import type { IalDeps } from '../deps.ts'

/** 2-3. The public catalog: pods, hardware types and their stock. No credentials needed. */
export const providerRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client }) => {
  const routeOptions = { exposeHeadRoute: false }

  app.get('/v1/infrastructure/provider/locations', { ...routeOptions, schema: locationsSchema }, async (request) => {
    const inventory = await client.locations({ signal: request.deadline, trace: request.upstreamCalls })
    return { data: { locations: locationsFromInventory(inventory), extra: {} } }
  })

  app.get('/v1/infrastructure/provider/server-models', { ...routeOptions, schema: serverModelsSchema }, async (request) => {
    const context = { signal: request.deadline, trace: request.upstreamCalls }
    const [catalog, pods] = await Promise.all([
      client.products(context),
      client.locations(context).then(podsOf)
    ])
    const availability = await Promise.all(pods.map(async (pod) => ({ pod, inventory: await client.availability(pod.id, context) })))
    return { data: { models: serverModelsFromCatalog(catalog.hardware, stockBySku(availability)), extra: {} } }
  })
}
