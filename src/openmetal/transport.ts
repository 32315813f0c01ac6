/**
 * The one way the adapter talks to OpenMetal: a keep-alive undici pool, per-attempt
 * timeouts, an overall deadline, and the retry policy (only calls that are safe to repeat,
 * only on answers that say "try again": 429, 502, 503, 504 and connection failures).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, errors as undiciErrors } from 'undici'
import type { Dispatcher } from 'undici'
import type { paths } from '../generated/openmetal-paths.ts'

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PATCH'

export interface UpstreamCall {
  /** stable name for metrics and logs, e.g. `getOrder` */
  readonly operation: string
  readonly method: HttpMethod
  /** path with parameters already substituted, see `openMetalPath` */
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly authorization?: string
  /** safe to repeat after an ambiguous failure; defaults to true for GET and DELETE */
  readonly idempotent?: boolean
  /** the inbound request's deadline */
  readonly signal?: AbortSignal | undefined
  /** where the calls made for one inbound request are recorded (for its log line) */
  readonly trace?: UpstreamTrace[] | undefined
}

export interface UpstreamTrace {
  operation: string
  status: number | string
  ms: number
}

export interface UpstreamResponse {
  readonly status: number
  readonly body: unknown
}

export interface UpstreamObserver {
  call (operation: string, status: number | string, seconds: number): void
  retry (operation: string, reason: string): void
}

/** Every answer OpenMetal gave (each page, each attempt), before anything reads it: for tools that study the live API. */
export type AnswerObserver = (operation: string, answer: { readonly status: number, readonly body: unknown, readonly headers: Readonly<Record<string, string | string[] | undefined>> }) => void

/** OpenMetal answered with an error status (after any retries). */
export class OpenMetalHttpError extends Error {
  readonly operation: string
  readonly status: number
  readonly retryAfter: number | undefined
  readonly upstreamRequestId: string | undefined

  constructor (operation: string, status: number, retryAfter: number | undefined, upstreamRequestId: string | undefined) {
    super(`OpenMetal ${operation} answered ${status}`)
    this.name = 'OpenMetalHttpError'
    this.operation = operation
    this.status = status
    this.retryAfter = retryAfter
    this.upstreamRequestId = upstreamRequestId
  }
}

export type TransportFailure = 'timeout' | 'network' | 'malformed' | 'deadline'

/** No usable answer from OpenMetal: it timed out, the connection failed, or the body was not what the spec says. */
export class OpenMetalTransportError extends Error {
  readonly operation: string
  readonly kind: TransportFailure

  constructor (operation: string, kind: TransportFailure, cause?: unknown) {
    super(`OpenMetal ${operation} failed: ${kind}`, { cause })
    this.name = 'OpenMetalTransportError'
    this.operation = operation
    this.kind = kind
  }

  /** Whether OpenMetal may have acted on the request although we saw no answer. */
  get ambiguous (): boolean {
    return this.kind !== 'malformed'
  }
}

/**
 * Whether OpenMetal may have acted on a request although no success came back (timeout,
 * reset, 5xx): a create that failed so must be looked for before it is tried again.
 */
export function mayHaveActed (error: unknown): boolean {
  return (error instanceof OpenMetalTransportError && error.ambiguous) || (error instanceof OpenMetalHttpError && error.status >= 500)
}

/**
 * A shared upstream call (a token exchange, a lookup joined by several requests), awaited
 * by one request under its own deadline: the request gives up when its deadline passes,
 * while the shared call goes on for the others (and, for a token, for the cache).
 */
export async function withinDeadline<T> (shared: Promise<T>, signal: AbortSignal | undefined, operation: string): Promise<T> {
  if (signal === undefined) return await shared
  // whoever leaves early, a failure of the shared call must not go unwatched (an unhandled
  // rejection would stop the process)
  shared.catch(() => {})
  if (signal.aborted) throw new OpenMetalTransportError(operation, 'deadline', signal.reason)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new OpenMetalTransportError(operation, 'deadline', signal.reason)) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([shared, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

export interface TransportOptions {
  readonly baseUrl: string
  readonly connections: number
  readonly attemptTimeoutMs: number
  readonly maxAttempts: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
  readonly observer?: UpstreamObserver
  readonly onAnswer?: AnswerObserver
  /** injectable for tests; defaults to Math.random */
  readonly random?: () => number
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504])

type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? { [K in Name | keyof PathParams<Rest>]: string | number } : Record<never, never>

/** Substitutes (and encodes) the parameters of a path the OpenMetal spec declares. */
export function openMetalPath<P extends keyof paths & string> (template: P, params: PathParams<P>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String((params as Record<string, string | number>)[name])))
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date). */
export function parseRetryAfter (value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || text.trim() === '') return undefined
  if (/^\d+$/.test(text.trim())) return Number(text.trim())
  // an HTTP date names a weekday and a month; anything else ("-1", "1.5") is not one
  if (!/[a-z]{3}/i.test(text)) return undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

export class OpenMetalTransport {
  private readonly pool: Pool
  private readonly options: TransportOptions
  private readonly random: () => number

  constructor (options: TransportOptions) {
    this.options = options
    this.random = options.random ?? Math.random
    this.pool = new Pool(options.baseUrl, {
      connections: options.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: options.attemptTimeoutMs,
      bodyTimeout: options.attemptTimeoutMs
    })
  }

  async send (call: UpstreamCall): Promise<UpstreamResponse> {
    const idempotent = call.idempotent ?? (call.method === 'GET' || call.method === 'DELETE')
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.options.maxAttempts
      try {
        const response = await this.attempt(call)
        if (response.status < 400) return { status: response.status, body: response.body }
        const retryAfter = parseRetryAfter(response.headers['retry-after'])
        // a wait longer than a backoff step is Cycle's to do, not ours: it hears Retry-After
        const waitTooLong = retryAfter !== undefined && retryAfter * 1000 > this.options.retryMaxDelayMs
        if (last || !idempotent || !RETRYABLE_STATUS.has(response.status) || waitTooLong) {
          throw new OpenMetalHttpError(call.operation, response.status, retryAfter, headerText(response.headers['x-request-id']))
        }
        this.options.observer?.retry(call.operation, String(response.status))
        await this.backoff(attempt, retryAfter, call)
      } catch (error) {
        if (error instanceof OpenMetalHttpError) throw error
        const failure = classify(call.operation, error, call.signal)
        if (last || !idempotent || !failure.ambiguous || failure.kind === 'deadline') throw failure
        this.options.observer?.retry(call.operation, failure.kind)
        await this.backoff(attempt, undefined, call)
      }
    }
  }

  async close (): Promise<void> {
    await this.pool.close()
  }

  private async attempt (call: UpstreamCall): Promise<UpstreamResponse & { headers: Dispatcher.ResponseData['headers'] }> {
    const started = performance.now()
    const headers: Record<string, string> = { accept: 'application/json' }
    if (call.authorization !== undefined) headers.authorization = call.authorization
    let body: string | undefined
    if (call.body !== undefined) {
      body = JSON.stringify(call.body)
      headers['content-type'] = 'application/json'
    }
    // the pool's headers and body timeouts bound one attempt; the signal is the whole call's deadline
    const signal = call.signal
    let status: number | string = 'error'
    try {
      const response = await this.pool.request({ method: call.method, path: call.path, query: call.query, headers, body, signal })
      status = response.statusCode
      const text = await response.body.text()
      let parsed: unknown = null
      if (text !== '') {
        try {
          parsed = JSON.parse(text)
        } catch (error) {
          // an error page is not JSON; only a success must be
          if (response.statusCode < 400) {
            status = 'malformed'
            throw new OpenMetalTransportError(call.operation, 'malformed', error)
          }
        }
      }
      this.options.onAnswer?.(call.operation, { status: response.statusCode, body: parsed, headers: response.headers })
      return { status: response.statusCode, body: parsed, headers: response.headers }
    } catch (error) {
      if (status === 'error') status = classify(call.operation, error, call.signal).kind
      throw error
    } finally {
      const seconds = (performance.now() - started) / 1000
      this.options.observer?.call(call.operation, status, seconds)
      call.trace?.push({ operation: call.operation, status, ms: Math.round(seconds * 1000) })
    }
  }

  private async backoff (attempt: number, retryAfter: number | undefined, call: UpstreamCall): Promise<void> {
    const cap = Math.min(this.options.retryMaxDelayMs, this.options.retryBaseDelayMs * 2 ** (attempt - 1))
    // full jitter, but never sooner than the server asked for
    const delay = Math.max(this.random() * cap, (retryAfter ?? 0) * 1000)
    try {
      await sleep(delay, undefined, { signal: call.signal })
    } catch (error) {
      throw new OpenMetalTransportError(call.operation, 'deadline', error)
    }
  }
}

function headerText (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function classify (operation: string, error: unknown, deadline: AbortSignal | undefined): OpenMetalTransportError {
  if (error instanceof OpenMetalTransportError) return error
  if (deadline?.aborted === true) return new OpenMetalTransportError(operation, 'deadline', error)
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError ||
    (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError'))) {
    return new OpenMetalTransportError(operation, 'timeout', error)
  }
  return new OpenMetalTransportError(operation, 'network', error)
}
