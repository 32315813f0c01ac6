/**
 * Prometheus metrics, one registry per app: IAL requests by route pattern (never a raw URL
 * or an ID), OpenMetal calls by operation, retries, token cache events, in-flight
 * requests, and the default process metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { UpstreamObserver } from '../openmetal/transport.ts'
import type { TokenCacheObserver } from '../openmetal/auth.ts'
import type { Operation } from '../openmetal/operations.ts'
import type { LeaseEvent } from '../coordination/coordinator.ts'
import type { ConnectionClosure, ConnectionCount, ConnectionObserver } from '../edge/connections.ts'

/** Every reason a connection is closed for (a Record, so a new reason does not compile until it is here). */
const CONNECTION_CLOSURES: Readonly<Record<ConnectionClosure, true>> = { 'per-address': true, total: true, reclaimed: true, silent: true }

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export interface Metrics {
  readonly registry: Registry
  readonly upstream: UpstreamObserver
  readonly tokens: TokenCacheObserver
  /** leases on purchases: taken, found held, given back, kept past an unknown outcome; and the coordinator failing */
  readonly coordination: { lease (event: LeaseEvent): void, unavailable (): void }
  /** connections the caps closed (by reason); `count` is what the open-connections gauge reads */
  readonly connections: ConnectionObserver & { count (connections: ConnectionCount): void }
  /** a part of an OpenMetal answer was skipped as unreadable */
  skipped (operation: Operation): void
  register (app: FastifyInstance): void
  /** a request arrived */
  started (): void
  /** a request was answered (its status) or abandoned by its client ('aborted'); called once per request */
  ended (request: FastifyRequest, status: number | 'aborted', seconds: number): void
}

export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({ name: 'ial_requests_total', help: 'IAL requests by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] })
  const requestSeconds = new Histogram({ name: 'ial_request_duration_seconds', help: 'IAL request latency', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers: [registry] })
  const inFlight = new Gauge({ name: 'ial_requests_in_flight', help: 'IAL requests being served', registers: [registry] })
  const upstreamCalls = new Counter({ name: 'openmetal_calls_total', help: 'OpenMetal calls by operation and status (or failure kind)', labelNames: ['operation', 'status'], registers: [registry] })
  const upstreamSeconds = new Histogram({ name: 'openmetal_call_duration_seconds', help: 'OpenMetal call latency per attempt', labelNames: ['operation'], buckets: LATENCY_BUCKETS, registers: [registry] })
  const retries = new Counter({ name: 'openmetal_retries_total', help: 'OpenMetal calls repeated after a retryable failure', labelNames: ['operation', 'reason'], registers: [registry] })
  const refused = new Counter({ name: 'openmetal_calls_refused_total', help: 'OpenMetal calls never sent because their tenant already had OPENMETAL_TENANT_QUEUE calls waiting', labelNames: ['operation'], registers: [registry] })
  const skippedParts = new Counter({ name: 'openmetal_answer_parts_skipped_total', help: 'Items or entries of OpenMetal answers skipped because they could not be read', labelNames: ['operation'], registers: [registry] })
  const leaseEvents = new Counter({ name: 'ial_coordination_leases_total', help: 'Leases on purchases: acquired, busy (held by another call past the wait), released, kept (outcome unknown: left to lapse)', labelNames: ['event'], registers: [registry] })
  const coordinatorFailures = new Counter({ name: 'ial_coordination_unavailable_total', help: 'Calls to the coordinator that failed (nothing was bought)', registers: [registry] })
  const connectionsClosed = new Counter({ name: 'ial_connections_closed_total', help: 'Client connections the connection caps closed: per-address and total (a newcomer over a cap), reclaimed (an idle or stalled one closed to make room), silent (nothing sent within SILENT_CONNECTION_TIMEOUT_MS)', labelNames: ['reason'], registers: [registry] })
  // every reason from 0, so that a rate over it is defined before the first closure
  for (const reason of Object.keys(CONNECTION_CLOSURES)) connectionsClosed.labels({ reason }).inc(0)
  let openConnections: ConnectionCount | undefined
  // eslint-disable-next-line no-new -- the registry keeps it and reads it through collect
  new Gauge({ name: 'ial_connections_open', help: 'Client connections open on this replica', registers: [registry], collect () { this.set(openConnections?.open ?? 0) } })
  const tokenEvents = new Counter({ name: 'openmetal_token_cache_events_total', help: 'OAuth token cache hits, misses and exchanges', labelNames: ['event'], registers: [registry] })

  // label children are looked up once per route, method and status (nested maps: no key string is built per request)
  interface RouteMetrics { readonly timer: { observe: (value: number) => void }, readonly counters: Map<number | 'aborted', { inc: () => void }> }
  const byRoute = new Map<string, Map<string, RouteMetrics>>()
  function routeMetrics (route: string, method: string): RouteMetrics {
    let methods = byRoute.get(route)
    if (methods === undefined) {
      methods = new Map()
      byRoute.set(route, methods)
    }
    let found = methods.get(method)
    if (found === undefined) {
      found = { timer: requestSeconds.labels({ route, method }), counters: new Map() }
      methods.set(method, found)
    }
    return found
  }
  function ended (request: FastifyRequest, status: number | 'aborted', seconds: number): void {
    inFlight.dec()
    const route = request.routeOptions.url ?? 'unmatched'
    const children = routeMetrics(route, request.method)
    let counter = children.counters.get(status)
    if (counter === undefined) {
      counter = requests.labels({ route, method: request.method, status: String(status) })
      children.counters.set(status, counter)
    }
    counter.inc()
    children.timer.observe(seconds)
  }

  return {
    registry,
    started: () => { inFlight.inc() },
    skipped: (operation) => { skippedParts.inc({ operation }) },
    connections: {
      closed: (reason) => { connectionsClosed.inc({ reason }) },
      count: (connections) => { openConnections = connections }
    },
    coordination: {
      lease: (event) => { leaseEvents.inc({ event }) },
      unavailable: () => { coordinatorFailures.inc() }
    },
    ended,
    upstream: {
      call (operation, status, seconds) {
        upstreamCalls.inc({ operation, status: String(status) })
        upstreamSeconds.observe({ operation }, seconds)
      },
      retry (operation, reason) {
        retries.inc({ operation, reason })
      },
      refused (operation) {
        refused.inc({ operation })
      }
    },
    tokens: {
      hit: () => tokenEvents.inc({ event: 'hit' }),
      miss: () => tokenEvents.inc({ event: 'miss' }),
      exchange: () => tokenEvents.inc({ event: 'exchange' })
    },
    register (app) {
      app.get('/metrics', async (_request, reply) => {
        reply.type(registry.contentType)
        return registry.metrics()
      })
    }
  }
}
