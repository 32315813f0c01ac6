/**
 * What every request carries while it is served: its ID (a sane X-Request-ID from the client,
 * or a fresh one), its start, its deadline, the OpenMetal calls it makes; and how it ends:
 * counted in the metrics and logged in one line, once, answered or abandoned.
 *
 * The bookkeeping lives in request fields and callback-style hooks: a cached answer costs a
 * few tens of microseconds in all, so a WeakMap or a promise per hook shows (BENCHMARKS.md).
 * The deadline is armed only for requests that call OpenMetal, and disarmed when they end.
 * A request whose caller has gone is over: its signal aborts at once, so its upstream calls
 * and retries stop (a purchase already sent keeps its lease: openmetal/labelled-writes.ts).
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Metrics } from '../observability/metrics.ts'
import type { Operation } from '../openmetal/operations.ts'
import { HUB_ID_MAX, hubOf } from './hub.ts'

// what the routes use of a request's context; its bookkeeping stays in this module (RequestState)
declare module 'fastify' {
  interface FastifyRequest {
    /** aborts when the request's deadline passes or its caller leaves (armed on first use) */
    deadline: AbortSignal
    /** OpenMetal calls made on behalf of this request, for its log line */
    upstreamCalls: Array<{ operation: Operation, status: number | string, ms: number }>
  }
}

/** The bookkeeping of one request, under a symbol of this module: not part of Fastify's request type. */
interface RequestState {
  startedAt: number
  /** answered or abandoned, counted and logged */
  ended: boolean
  /** its caller hung up before the answer */
  abandoned: boolean
  deadlineController: AbortController | null
  deadlineTimer: NodeJS.Timeout | null
  /** stops watching the connection for the caller hanging up (armed with the deadline) */
  unwatchCaller: (() => void) | null
}

const STATE = Symbol('request-context')

/** The request's state, made on first use (a request Fastify refuses before onRequest has none yet). */
function stateOf (request: FastifyRequest): RequestState {
  const holder = request as unknown as Record<typeof STATE, RequestState | null>
  holder[STATE] ??= { startedAt: performance.now(), ended: false, abandoned: false, deadlineController: null, deadlineTimer: null, unwatchCaller: null }
  return holder[STATE]
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Fastify's `genReqId`: the client's X-Request-ID when it is a sane one, else a fresh UUID. */
/**
 * Whether the request's caller hung up before its answer: what failed after that (its calls
 * stopped on purpose) is no failure to report; its request line says `aborted`.
 */
export function abandoned (request: FastifyRequest): boolean {
  return stateOf(request).abandoned
}

export function requestIdOf (request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

export interface RequestContextOptions {
  readonly requestDeadlineMs: number
  /** whether a line per request is written (LOG_LEVEL info or finer) */
  readonly logsRequests: boolean
  readonly metrics: Metrics
}

export const requestContext = fp<RequestContextOptions>(async (app, { requestDeadlineMs, logsRequests, metrics }) => {
  app.decorateRequest(STATE, null)
  app.decorateRequest('deadline', {
    getter (this: FastifyRequest): AbortSignal {
      const state = stateOf(this)
      if (state.deadlineController === null) {
        const controller = new AbortController()
        state.deadlineTimer = setTimeout(() => controller.abort(new DOMException('request deadline', 'TimeoutError')), requestDeadlineMs)
        state.deadlineController = controller
        // a caller hanging up once its whole request arrived closes the socket, and nothing else
        // says so (Fastify's onRequestAbort sees only requests cut off mid-body)
        const socket = this.raw.socket as Socket | null
        if (socket !== null) {
          const gone = (): void => { callerGone(this) }
          socket.once('close', gone)
          state.unwatchCaller = () => { socket.removeListener('close', gone) }
        }
      }
      return state.deadlineController.signal
    }
  })
  app.decorateRequest('upstreamCalls', null as unknown as [])
  app.addHook('onRequest', (request, reply, done) => {
    stateOf(request).startedAt = performance.now()
    request.upstreamCalls = []
    metrics.started()
    reply.header('x-request-id', request.id)
    done()
  })

  // every request ends once: answered (onResponse) or abandoned by its client (onRequestAbort)
  /** The caller has gone before its answer: the request is over, and so is what it was doing upstream. */
  function callerGone (request: FastifyRequest): void {
    const state = stateOf(request)
    if (state.ended) return
    state.abandoned = true
    state.deadlineController?.abort(new DOMException('the caller has gone', 'AbortError'))
    end(request, 'aborted', performance.now() - state.startedAt)
  }

  function end (request: FastifyRequest, status: number | 'aborted', ms: number): void {
    const state = stateOf(request)
    if (state.ended) return
    state.ended = true
    if (state.deadlineTimer !== null) clearTimeout(state.deadlineTimer)
    state.unwatchCaller?.()
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
    callerGone(request)
    done()
  })
}, { name: 'request-context', fastify: '5.x' })
