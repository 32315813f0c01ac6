/**
 * buildApp(config, deps): the Fastify application, as a table of contents. Each concern is a
 * plugin of its own, registered in the order a request meets them; it never listens.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ConfigError, type Config } from './config.ts'
import type { OpenMetalClient, OpenMetalClientOptions } from './openmetal/client.ts'
import { createClient } from './openmetal/create-client.ts'
import type { LabelledWritesOptions } from './openmetal/labelled-writes.ts'
import type { Coordinator } from './coordination/coordinator.ts'
import { createCoordinator } from './coordination/create-coordinator.ts'
import { LEASE_WAIT_MS, Leases } from './coordination/leases.ts'
import { startCoordinator } from './coordination/start.ts'
import { coordinationReports } from './observability/coordination-reports.ts'
import { loggerOptions } from './observability/logger.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import { upstreamReports } from './observability/upstream-reports.ts'
import { refuseHostlessRequests, refuseUnparsableRequests, refuseUnroutablePaths } from './edge/client-errors.ts'
import { capConnections } from './edge/connections.ts'
import { refuseCompressedBodies } from './edge/content-encoding.ts'
import { requestBodies } from './edge/request-bodies.ts'
import { proxiesTrusted } from './edge/proxies.ts'
import { listenerOptions } from './http/listener.ts'
import { securityHeaders, securityHeadersOf } from './http/security-headers.ts'
import { requestContext, requestIdOf } from './http/request-context.ts'
import { envelope } from './http/envelope.ts'
import { docs } from './http/docs.ts'
import { probes } from './http/probes.ts'
import { drain } from './http/drain.ts'
import { ial } from './ial/index.ts'

export interface AppDeps {
  /** an injected client (tests); by default one is built from the config */
  readonly client?: OpenMetalClient
  readonly now?: () => number
  readonly clientOptions?: OpenMetalClientOptions
  /** options of the at-most-once writes (tests shorten the clean-up of lost addresses) */
  readonly writeOptions?: LabelledWritesOptions
  /** an injected coordinator (tests); by default the one the config describes, closed with the app */
  readonly coordinator?: Coordinator
  /** where log lines go (tests capture them); default stdout */
  readonly logStream?: NodeJS.WritableStream
  readonly metrics?: Metrics
}

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const headers = securityHeadersOf(config)
  const trusted = proxiesTrusted(config.trustProxy)
  const app = Fastify({
    logger: loggerOptions(config, deps.logStream),
    // one line per request, written by the request context with what the request did upstream
    logController: new LogController({ disableRequestLogging: true }),
    ...listenerOptions(config),
    clientErrorHandler: refuseUnparsableRequests({ headers, requestTimeoutMs: config.requestTimeoutMs, headersTimeoutMs: config.headersTimeoutMs, log: (): FastifyBaseLogger => app.log }),
    frameworkErrors: refuseUnroutablePaths(headers),
    trustProxy: config.trustProxy === false ? false : trusted,
    requestIdHeader: false,
    genReqId: requestIdOf,
    ajv: { customOptions: { strict: false, coerceTypes: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  const metrics = deps.metrics ?? createMetrics()
  metrics.connections.count(capConnections(app.server, {
    total: config.maxConnections,
    perAddress: config.maxConnectionsPerAddress,
    silentMs: config.silentConnectionTimeoutMs,
    isProxy: (address) => trusted(address, 0),
    observer: metrics.connections
  }))

  const { onSkipped, onCleanup } = upstreamReports(app.log, metrics)
  const client = deps.client ?? createClient(config, metrics, { onSkipped, ...deps.clientOptions })
  if (deps.client === undefined) app.addHook('onClose', async () => { await client.close() })
  const reports = coordinationReports(() => app.log, metrics)
  const coordinator = deps.coordinator ?? await createCoordinator({ databaseUrl: config.databaseUrl, observer: reports })
  if (deps.coordinator === undefined) app.addHook('onClose', async () => { await coordinator.close() })
  const leases = new Leases(coordinator, { ttlMs: config.coordinationLeaseMs, waitMs: LEASE_WAIT_MS, observer: reports })
  try {
    const notStarted = await startCoordinator(coordinator, { required: config.coordinationRequired })
    if (notStarted !== undefined) app.log.error({ failure: notStarted }, 'the coordinator cannot be reached at start: purchases are refused until it answers (/readyz says so)')
  } catch (error) {
    await coordinator.close()
    throw new ConfigError('COORDINATION_REQUIRED', `is true, but the coordinator cannot be reached: ${error instanceof Error ? error.message : 'unknown failure'}`)
  }

  await app.register(securityHeaders, { headers })
  await app.register(requestContext, { requestDeadlineMs: config.requestDeadlineMs, logsRequests: ['info', 'debug', 'trace'].includes(config.logLevel), metrics })
  await app.register(refuseHostlessRequests)
  await app.register(refuseCompressedBodies)
  // GET carries Cycle's wrapper, on the routes that take a body; a body is JSON, nested sanely
  await app.register(requestBodies)
  await app.register(envelope)
  await app.register(docs)
  await app.register(probes, { client, leases, metrics })
  await app.register(ial, { config, client, leases, writeOptions: { onCleanup, ...deps.writeOptions }, now: deps.now ?? Date.now })
  await app.register(drain, { tls: config.tls !== undefined })
  return app
}
