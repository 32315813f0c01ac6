/**
 * What the platform watches: /healthz (the process answers; never calls OpenMetal), /readyz
 * (OpenMetal and the coordinator can be reached, one shared look) and /metrics (Prometheus). Outside the IAL
 * scope: no rate limit and no hub allow-list apply.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { OpenMetalClient } from '../openmetal/client.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Leases } from '../coordination/leases.ts'
import { readiness } from './readiness.ts'

export const probes: FastifyPluginAsync<{ client: OpenMetalClient, leases: Pick<Leases, 'check'>, metrics: Metrics }> = async (app, { client, leases, metrics }) => {
  const ready = readiness(client, leases)
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const problem = await ready()
    if (problem === undefined) return { status: 'ready' }
    return reply.code(503).send({ status: 'not-ready', reason: problem })
  })
  metrics.register(app)
}
