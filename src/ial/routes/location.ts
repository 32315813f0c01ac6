import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { configureSchema } from '../schemas.ts'
import { podsOf } from '../../mapping/catalog.ts'
import { Errors } from '../../errors.ts'
import type { IalDeps } from '../deps.ts'

/** 4. configure: OpenMetal needs no per-location setup; acknowledge a known pod. */
export const locationRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client }) => {
  app.post('/v1/location/configure', { schema: configureSchema }, async (request) => {
    const { location_id: pod, version, configuration_current: current } = request.body.request
    const pods = podsOf(await client.locations({ signal: request.deadline, trace: request.upstreamCalls }))
    if (!pods.some((known) => known.id === pod)) {
      throw Errors.locationNotFound({ detail: `OpenMetal has no location "${pod.slice(0, 64)}"`, source: '/request/location_id' })
    }
    return { data: { configured: true, version, configuration_latest: current ?? {} } }
  })
}
