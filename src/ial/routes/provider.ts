import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { locationsSchema, serverModelsSchema } from '../schemas.ts'
import { locationsFromInventory, podsOf, serverModelsFromCatalog, stockBySku } from '../../mapping/catalog.ts'
import { SharedLookup } from '../../openmetal/shared-lookup.ts'
import { withinDeadline } from '../../openmetal/shared-lookup.ts'
import type { CallContext } from '../../openmetal/client.ts'
import type { Operation } from '../../openmetal/operations.ts'
import type { IalDeps } from '../deps.ts'
import type { ListLocationsResponse, ListServerModelsResponse } from '../../generated/cycle-ial.ts'

type Locations = { data: ListLocationsResponse }
type ServerModels = { data: ListServerModelsResponse }

/**
 * 2-3. The public catalog: pods, hardware types and their stock. No credentials needed.
 * Every hub asks for the same answer, so the serialised answer is shared for as long as
 * the catalog it was built from (CATALOG_TTL_MS), like the catalog itself.
 */
/** Serialises a shared answer once: the same object is sent to every hub while it is cached. */
function memoizedJson () {
  const serialized = new WeakMap<object, string>()
  return (payload: unknown): string => {
    if (typeof payload !== 'object' || payload === null) return JSON.stringify(payload)
    let text = serialized.get(payload)
    if (text === undefined) {
      text = JSON.stringify(payload)
      serialized.set(payload, text)
    }
    return text
  }
}

export const providerRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client, config }) => {
  const routeOptions = { exposeHeadRoute: false, serializerCompiler: memoizedJson }
  const answers = new SharedLookup<Locations | ServerModels>()

  async function locations (context: CallContext): Promise<Locations> {
    const inventory = await client.locations(context)
    return { data: { locations: locationsFromInventory(inventory), extra: {} } }
  }

  async function serverModels (context: CallContext): Promise<ServerModels> {
    const [catalog, pods] = await Promise.all([client.products(context), client.locations(context).then(podsOf)])
    // stock only where a server may be ordered: a pod not on general sale is never asked (nor offered)
    const offered = pods.filter((pod) => pod.released)
    const stock = await Promise.all(offered.map(async (pod) => ({ pod, inventory: await client.availability(pod.id, context) })))
    const availability = stock.flatMap(({ pod, inventory }) => inventory === undefined ? [] : [{ pod, inventory }])
    return { data: { models: serverModelsFromCatalog(catalog.hardware, stockBySku(availability)), extra: {} } }
  }

  /**
   * The cached answer, or one built by a shared call that runs while any request waits for it;
   * each request waits at most until its own deadline (armed only when OpenMetal is asked).
   */
  async function answer (key: 'locations' | 'server-models', operation: Operation, request: FastifyRequest, build: (context: CallContext) => Promise<Locations | ServerModels>): Promise<Locations | ServerModels> {
    const cached = answers.peek(key)
    if (cached !== undefined) return cached
    const load = async (signal: AbortSignal) => await build({ signal, trace: request.upstreamCalls })
    return await withinDeadline(answers.get(key, config.catalogTtlMs, load, request.deadline), request.deadline, operation)
  }

  app.get('/v1/infrastructure/provider/locations', { ...routeOptions, schema: locationsSchema }, async (request) => {
    return await answer('locations', 'getLocations', request, locations) as Locations
  })

  app.get('/v1/infrastructure/provider/server-models', { ...routeOptions, schema: serverModelsSchema }, async (request) => {
    return await answer('server-models', 'getProducts', request, serverModels) as ServerModels
  })
}
