/** The Cycle hub a request names, read once wherever it is needed: the request's log line and metrics, the rate limits and the hub allow-list. */
import type { FastifyRequest } from 'fastify'

/** No allowed hub ID is longer (config.ts); a longer one is refused before it is compared. */
export const HUB_ID_MAX = 64

/** The hub the request's body names (auth.cycle.hub_id), whole. */
export function hubOf (request: FastifyRequest): string | undefined {
  const hubId = (request.body as { auth?: { cycle?: { hub_id?: unknown } } } | null | undefined)?.auth?.cycle?.hub_id
  return typeof hubId === 'string' ? hubId : undefined
}
