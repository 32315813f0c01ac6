/**
 * buildApp(config, deps): the Fastify application. The IAL routes, Cycle's error envelope
 * everywhere, request IDs and one log line per request, probes, metrics, the adapter's own
 * OpenAPI document, and the hardening an internet-facing service needs. It never listens.
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import proxyAddr from '@fastify/proxy-addr'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { loadTls, type Config } from './config.ts'
import { toAdapterError, Errors } from './errors.ts'
import { OpenMetalClient, type OpenMetalClientOptions } from './openmetal/client.ts'
import { OpenMetalHttpError, OpenMetalTransport, OpenMetalTransportError } from './openmetal/transport.ts'
import { OpenMetalBusyError } from './openmetal/bulkhead.ts'
import { SharedLookup } from './openmetal/shared-lookup.ts'
import { ServerDirectory } from './ial/servers.ts'
import { IpBlockPurchases } from './ial/ip-blocks.ts'
import type { IalDeps } from './ial/deps.ts'
import { authRoutes } from './ial/routes/auth.ts'
import { providerRoutes } from './ial/routes/provider.ts'
import { locationRoutes } from './ial/routes/location.ts'
import { serverRoutes } from './ial/routes/server.ts'
import { ipRoutes } from './ial/routes/ip.ts'
import { loggerOptions } from './observability/logger.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import { refuseUnparsableRequests } from './edge/client-errors.ts'
import { capConnections } from './edge/connections.ts'
import { limitIalRate } from './edge/rate-limits.ts'

/** The version the adapter says it is (the served OpenAPI document): package.json's, one version everywhere. */
const PACKAGE_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version

export interface AppDeps {
  /** an injected client (tests); by default one is built from the config */
  readonly client?: OpenMetalClient
  readonly now?: () => number
  readonly clientOptions?: OpenMetalClientOptions
  /** where log lines go (tests capture them); default stdout */
  readonly logStream?: NodeJS.WritableStream
  readonly metrics?: Metrics
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const READINESS_TIMEOUT_MS = 2000
const READINESS_TTL_MS = 5000

export function createClient (config: Config, metrics?: Metrics, options: OpenMetalClientOptions = {}): OpenMetalClient {
  const transport = new OpenMetalTransport({
    baseUrl: config.openMetalApiUrl,
    connections: config.upstreamConnections,
    tenantConcurrency: config.upstreamTenantConcurrency,
    tenantQueue: config.upstreamTenantQueue,
    attemptTimeoutMs: config.upstreamTimeoutMs,
    maxAttempts: config.upstreamMaxAttempts,
    retryBaseDelayMs: 200,
    retryMaxDelayMs: 3000,
    ...(metrics === undefined ? {} : { observer: metrics.upstream }),
    ...(options.onAnswer === undefined ? {} : { onAnswer: options.onAnswer })
  })
  return new OpenMetalClient(transport, { catalogTtlMs: config.catalogTtlMs, recoveryTimeoutMs: config.upstreamTimeoutMs, ...(metrics === undefined ? {} : { tokenObserver: metrics.tokens }), ...options })
}

/**
 * Which peers are proxies whose X-Forwarded-For is believed for the client address: all,
 * none, the nearest `hops` whatever their address, or those at the given addresses/CIDRs.
 */
function proxiesTrusted (setting: Config['trustProxy']): (address: string, hop: number) => boolean {
  if (typeof setting === 'boolean') return () => setting
  if (typeof setting === 'number') return (_address, hop) => hop < setting
  return proxyAddr.compile(setting)
}

/** How long one kind of skipped answer part is logged once, rather than on every poll. */
const SKIP_LOG_INTERVAL_MS = 10 * 60_000

/**
 * What the client tells of OpenMetal's answers, for the operator: parts skipped as unreadable
 * (counted every time, logged once per kind and interval so a poll does not flood the log),
 * and how the clean-up of an address Cycle never heard of ended.
 */
function upstreamReports (app: FastifyInstance, metrics: Metrics): Pick<OpenMetalClientOptions, 'onSkipped' | 'onCleanup'> {
  const lastLogged = new Map<string, number>()
  return {
    onSkipped ({ operation, path, problem }) {
      metrics.skipped(operation)
      const where = path.replace(/\/\d+(?=\/|$)/g, '/[]')
      const key = `${operation} ${where} ${problem}`
      const now = Date.now()
      if ((lastLogged.get(key) ?? 0) > now - SKIP_LOG_INTERVAL_MS) return
      if (lastLogged.size >= 1000) lastLogged.clear()
      lastLogged.set(key, now)
      app.log.warn({ operation, path: where.slice(0, 200), problem }, 'skipped a part of an OpenMetal answer that could not be read')
    },
    onCleanup ({ prefixId, outcome }) {
      const entry = { operation: 'createIpAddress', prefixId, outcome }
      if (outcome === 'deleted') app.log.info(entry, 'deleted an address whose create had no usable answer (Cycle never received it)')
      else app.log.warn(entry, 'an address whose create had no usable answer may be left at OpenMetal: ial-inventory lists it as orphaned-ip')
    }
  }
}

/** The Cycle hub a request's body names (auth.cycle.hub_id), whole. */
function hubOf (request: FastifyRequest): string | undefined {
  const hubId = (request.body as { auth?: { cycle?: { hub_id?: unknown } } } | null | undefined)?.auth?.cycle?.hub_id
  return typeof hubId === 'string' ? hubId : undefined
}

/** No allowed hub ID is longer (config.ts); a longer one is refused before it is compared. */
const HUB_ID_MAX = 64
/** Content-Encoding values that leave the body as it is. */
const IDENTITY = /^\s*(identity\s*(,\s*identity\s*)*)?$/i

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const securityHeaders = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'x-permitted-cross-domain-policies': 'none',
    ...(config.tls === undefined ? {} : { 'strict-transport-security': 'max-age=31536000; includeSubDomains' })
  }
  const trusted = proxiesTrusted(config.trustProxy)
  // slow clients: the whole request (headers, then body) must arrive in time; an answer that
  // takes long is the deadline's business, not these. Node checks the timeouts periodically:
  // often enough that a connection outlives its timeout by a fraction of it at most.
  const serverTimeouts = {
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: config.headersTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.headersTimeoutMs / 4)))
  }
  const app = Fastify({
    logger: loggerOptions(config, deps.logStream),
    // one line per request, written in onResponse with what the request did upstream
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    clientErrorHandler: refuseUnparsableRequests({ headers: securityHeaders, requestTimeoutMs: config.requestTimeoutMs, headersTimeoutMs: config.headersTimeoutMs, log: (): FastifyBaseLogger => app.log }),
    // the router's own refusals (a path that is not valid percent-encoding) skip every hook
    frameworkErrors: (error, request, reply) => {
      const failure = Errors.malformedRequest({ detail: error.code === 'FST_ERR_BAD_URL' ? 'the path is not valid percent-encoding' : 'the router refused the path' })
      void (reply as FastifyReply).code(failure.status).headers(securityHeaders).header('x-request-id', request.id).send({ error: failure.toBody(), data: null })
    },
    trustProxy: config.trustProxy === false ? false : trusted,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    ajv: { customOptions: { strict: false, coerceTypes: false } },
    ...(config.tls === undefined ? { http: serverTimeouts } : { https: { ...loadTls(config.tls), ...serverTimeouts } })
  }).withTypeProvider<TypeBoxTypeProvider>()
  capConnections(app.server, { total: config.maxConnections, perAddress: config.maxConnectionsPerAddress, isProxy: (address) => trusted(address, 0) })
  // Cycle's Go client sends the {auth, request} wrapper with GET requests too
  app.addHttpMethod('GET', { hasBody: true, overrideExisting: true })

  const logsRequests = ['info', 'debug', 'trace'].includes(config.logLevel)
  const metrics = deps.metrics ?? createMetrics()
  const client = deps.client ?? createClient(config, metrics, { ...upstreamReports(app, metrics), ...deps.clientOptions })
  const ialDeps: IalDeps = { config, client, servers: new ServerDirectory(client), purchases: new IpBlockPurchases(client, config), now: deps.now ?? Date.now }

  // Per-request bookkeeping lives in request fields and callback-style hooks: a cached answer
  // costs a few tens of microseconds in all, so a WeakMap or a promise per hook shows (BENCHMARKS.md).
  // The deadline is armed only for requests that call OpenMetal, and disarmed when they end.
  app.decorateRequest('deadlineTimer', null)
  app.decorateRequest('deadlineSignal', null)
  app.decorateRequest('startedAt', 0)
  app.decorateRequest('ended', false)
  app.decorateRequest('deadline', {
    getter (this: FastifyRequest): AbortSignal {
      if (this.deadlineSignal === null) {
        const controller = new AbortController()
        this.deadlineTimer = setTimeout(() => controller.abort(new DOMException('request deadline', 'TimeoutError')), config.requestDeadlineMs)
        this.deadlineSignal = controller.signal
      }
      return this.deadlineSignal
    }
  })
  app.decorateRequest('upstreamCalls', null as unknown as [])
  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = performance.now()
    request.upstreamCalls = []
    metrics.started()
    reply.headers(securityHeaders)
    reply.header('x-request-id', request.id)
    // a compressed body would be parsed as if it were not: refuse it before it is read
    const encoding = request.headers['content-encoding']
    if (encoding !== undefined && !IDENTITY.test(encoding)) {
      done(Errors.invalidContentEncoding({ detail: 'send the body as it is: Content-Encoding identity, or none' }))
      return
    }
    done()
  })
  // every request ends once: answered (onResponse) or abandoned by its client (onRequestAbort)
  function end (request: FastifyRequest, status: number | 'aborted', ms: number): void {
    if (request.ended) return
    request.ended = true
    if (request.deadlineTimer !== null) clearTimeout(request.deadlineTimer)
    metrics.ended(request, status, ms / 1000)
    if (!logsRequests) return
    const route = request.routeOptions.url ?? 'unmatched'
    // a probe every few seconds per replica is not news: at debug, unless it failed
    const probe = (route === '/healthz' || route === '/readyz') && status === 200
    request.log[probe ? 'debug' : 'info']({
      method: request.method,
      route,
      status,
      ms: Math.round(ms),
      hub: hubOf(request)?.slice(0, HUB_ID_MAX),
      upstream: request.upstreamCalls
    }, 'request')
  }
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode, reply.elapsedTime)
    done()
  })
  app.addHook('onRequestAbort', (request, done) => {
    end(request, 'aborted', performance.now() - request.startedAt)
    done()
  })

  app.setErrorHandler(async (error, request, reply) => {
    const failure = toAdapterError(error)
    const cause = failure.cause
    // OpenMetal refusing a call is the operator's business too (a bad configuration ID, a missing permission)
    if (cause instanceof OpenMetalHttpError) {
      const entry = { code: failure.code, operation: cause.operation, upstreamStatus: cause.status, upstreamRequestId: cause.upstreamRequestId, upstreamMessage: cause.upstreamMessage }
      if (cause.status < 500) request.log.warn(entry, `OpenMetal refused ${cause.operation}`)
      else request.log.error(entry, `OpenMetal failed ${cause.operation}`)
    } else if (cause instanceof OpenMetalTransportError && cause.kind === 'malformed') {
      request.log.warn({ code: failure.code, operation: cause.operation, detail: failure.detail }, `OpenMetal answered ${cause.operation} in a shape the adapter cannot use`)
    } else if (cause instanceof OpenMetalBusyError) {
      // a tenant over its bulkhead is told to come back; one line per refusal, not an error of the adapter
      request.log.warn({ code: failure.code, failure: cause.message }, failure.title)
    } else if (failure.status >= 500) {
      request.log.error({ code: failure.code, failure: cause instanceof Error ? cause.message : failure.message }, failure.title)
    }
    if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter))
    return reply.code(failure.status).send({ error: failure.toBody(), data: null })
  })
  app.setNotFoundHandler(async (request, reply) => {
    const failure = Errors.routeNotFound({ detail: `${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''} is not an endpoint of this adapter` })
    return reply.code(404).send({ error: failure.toBody(), data: null })
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Cycle IAL adapter for OpenMetal', version: PACKAGE_VERSION, description: 'The ten Cycle Infrastructure Abstraction Layer endpoints, served for OpenMetal bare metal.' }
    },
    hideUntagged: true
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', async () => app.swagger())

  metrics.register(app)
  const readiness = new SharedLookup<string | undefined>()
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const problem = await readiness.get('openmetal', READINESS_TTL_MS, async () => {
      try {
        await client.reachable(READINESS_TIMEOUT_MS)
        return undefined
      } catch (error) {
        return toAdapterError(error).detail ?? 'OpenMetal is not reachable'
      }
    })
    if (problem === undefined) return { status: 'ready' }
    return reply.code(503).send({ status: 'not-ready', reason: problem })
  })

  // the IAL endpoints, and only they, are rate limited and subject to the hub allow-list
  await app.register(async (ial) => {
    await limitIalRate(ial, { perHubAndAddress: config.rateLimitPerMinute, perAddress: config.rateLimitPerAddressPerMinute, hubOf })
    if (config.allowedHubIds.length > 0) {
      const allowed = new Set(config.allowedHubIds)
      ial.addHook('preHandler', async (request) => {
        // the whole ID: one that merely starts with an allowed ID is another hub
        const hubId = hubOf(request)
        if (hubId === undefined || hubId.length > HUB_ID_MAX || !allowed.has(hubId)) throw Errors.permissions({ detail: 'this Cycle hub is not allowed to use this adapter', source: '/auth/cycle/hub_id' })
      })
    }
    await ial.register(authRoutes, ialDeps)
    await ial.register(providerRoutes, ialDeps)
    await ial.register(locationRoutes, ialDeps)
    await ial.register(serverRoutes, ialDeps)
    await ial.register(ipRoutes, ialDeps)
  })

  // a draining replica tells every client to reconnect elsewhere, so keep-alive connections
  // do not hold the close open after their request in flight has been answered; connections
  // that never carried a request (a load balancer's pre-opened ones) are closed right away
  let closing = false
  const unused = new Set<Socket>()
  app.server.on(config.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    unused.add(socket)
    socket.once('close', () => unused.delete(socket))
  })
  app.server.on('request', (request: { socket: Socket }) => { unused.delete(request.socket) })
  app.addHook('preClose', async () => {
    closing = true
    // a request already on its way gets a moment to arrive (and its answer); silence does not
    setTimeout(() => { for (const socket of unused) socket.destroy() }, 100).unref()
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onClose', async () => {
    if (deps.client === undefined) await client.close()
  })
  return app
}
