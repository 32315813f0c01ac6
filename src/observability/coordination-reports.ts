/**
 * What the coordinator tells, for the operator: every lease event and failure counted, and a
 * coordinator that cannot be reached logged at error at most once a minute (every purchase
 * meanwhile is refused with 503.not-ready, which the request lines show).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { CoordinationObserver } from '../coordination/coordinator.ts'
import type { Metrics } from './metrics.ts'

const UNAVAILABLE_LOG_INTERVAL_MS = 60_000

export function coordinationReports (log: () => FastifyBaseLogger, metrics: Metrics, now: () => number = Date.now): CoordinationObserver {
  let lastLogged = -Infinity
  let unlogged = 0
  return {
    lease: (event) => { metrics.coordination.lease(event) },
    unavailable (error) {
      metrics.coordination.unavailable()
      if (now() - lastLogged < UNAVAILABLE_LOG_INTERVAL_MS) {
        unlogged++
        return
      }
      log().error({ failure: error.message, sinceLastLine: unlogged }, 'the coordinator cannot be reached: nothing is bought until it is back (reads, status, restart, release and decommission go on)')
      lastLogged = now()
      unlogged = 0
    }
  }
}
