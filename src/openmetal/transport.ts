/**
 * The one way the adapter talks to OpenMetal: a keep-alive undici pool, bulkheads between
 * tenants (bulkhead.ts), per-attempt timeouts, an overall deadline, and the retry policy
 * (only calls that are safe to repeat, only on answers that say "try again": 429, 502, 503,
 * 504 and connection failures).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, errors as undiciErrors } from 'undici'
import type { paths } from '../generated/openmetal-paths.ts'
import { Bulkhead, OpenMetalBusyError } from './bulkhead.ts'
import type { Operation } from './operations.ts'

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PATCH'

export interface UpstreamCall {
  /** stable name for metrics and logs, e.g. `getOrder` */
  readonly operation: Operation
  readonly method: HttpMethod
  /** path with parameters already substituted, see `openMetalPath` */
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  readonly body?: unknown
  readonly authorization?: string
  /** credential material behind the call (a secret, an API key), hidden from any text kept of its answer */
  readonly secrets?: readonly string[]
  /** safe to repeat after an ambiguous failure; defaults to true for GET and DELETE */
  readonly idempotent?: boolean
  /**
   * the bulkhead compartment the call runs in: the tenant's credential key, or one of the
   * client's own (the public catalog, the readiness probe); calls without one share a compartment
   */
  readonly compartment?: string
  /** the inbound request's deadline, or a shared call's own signal (aborted once all its callers left) */
  readonly signal?: AbortSignal | undefined
  /** where the calls made for one inbound request are recorded (for its log line) */
  readonly trace?: UpstreamTrace[] | undefined
}

export interface UpstreamTrace {
  operation: Operation
  status: number | string
  ms: number
}

export interface UpstreamResponse {
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

export interface UpstreamObserver {
  call (operation: Operation, status: number | string, seconds: number): void
  retry (operation: Operation, reason: string): void
  /** a call its tenant's bulkhead refused, never sent */
  refused? (operation: Operation): void
}

/** Every answer OpenMetal gave (each page, each attempt), before anything reads it: for tools that study the live API. */
export type AnswerObserver = (operation: Operation, answer: { readonly status: number, readonly body: unknown, readonly headers: Readonly<Record<string, string | string[] | undefined>> }) => void

/** OpenMetal answered with an error status (after any retries). */
export class OpenMetalHttpError extends Error {
  readonly operation: Operation
  readonly status: number
  readonly retryAfter: number | undefined
  /** OpenMetal's request ID, only when it has a safe shape (it goes into logs and Cycle's error detail) */
  readonly upstreamRequestId: string | undefined
  /** OpenMetal's own reason for a refusal (4xx), cleaned (see `refusalMessage`): for Cycle's error detail and the log */
  readonly upstreamMessage: string | undefined

  constructor (operation: Operation, status: number, retryAfter: number | undefined, upstreamRequestId: string | undefined, upstreamMessage?: string) {
    super(`OpenMetal ${operation} answered ${status}`)
    this.name = 'OpenMetalHttpError'
    this.operation = operation
    this.status = status
    this.retryAfter = retryAfter
    this.upstreamRequestId = upstreamRequestId !== undefined && SAFE_REQUEST_ID.test(upstreamRequestId) ? upstreamRequestId : undefined
    this.upstreamMessage = upstreamMessage
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const MESSAGE_LIMIT = 300

/**
 * OpenMetal's reason for refusing a call, from whichever of the usual error shapes it used
 * (`message`, `error`, `error.message`, `errors[].message|detail`, `detail`, `title`, or a
 * plain-text body): control characters removed, whitespace collapsed, at most 300
 * characters, and every credential behind the call (bearer token, Basic pair, secret, API
 * key) replaced, as is anything that looks like a bearer token.
 */
export function refusalMessage (body: unknown, authorization: string | undefined, secrets: readonly string[] = []): string | undefined {
  const found = messageIn(body)
  if (found === undefined) return undefined
  let text = found.replace(/\p{Cc}+/gu, ' ')
  const hidden = [...secretsOf(authorization), ...secrets.filter((secret) => secret.length >= 4)].sort((a, b) => b.length - a.length)
  for (const secret of hidden) text = text.split(secret).join('[redacted]')
  text = text.replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]').replace(/\s+/g, ' ').trim()
  if (text === '') return undefined
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text
}

function messageIn (body: unknown, depth = 0): string | undefined {
  if (typeof body === 'string') return body
  if (depth > 2 || typeof body !== 'object' || body === null) return undefined
  if (Array.isArray(body)) return body.map((item) => messageIn(item, depth + 1)).find((text) => text !== undefined)
  const record = body as Record<string, unknown>
  for (const key of ['message', 'detail', 'error_description', 'error', 'errors', 'title']) {
    const text = messageIn(record[key], depth + 1)
    if (text !== undefined && text.trim() !== '') return text
  }
  return undefined
}

/** The credential material inside an Authorization header, long enough to be worth hiding. */
function secretsOf (authorization: string | undefined): string[] {
  const [scheme, value = ''] = (authorization ?? '').split(/\s+/, 2)
  const secrets = [value]
  if (scheme?.toLowerCase() === 'basic') {
    const pair = Buffer.from(value, 'base64').toString('utf8')
    secrets.push(pair, pair.slice(pair.indexOf(':') + 1))
  }
  return secrets.filter((secret) => secret.length >= 4)
}

export type TransportFailure = 'timeout' | 'network' | 'malformed' | 'deadline'

/** No usable answer from OpenMetal: it timed out, the connection failed, or the body was not what the spec says. */
export class OpenMetalTransportError extends Error {
  readonly operation: Operation
  readonly kind: TransportFailure

  constructor (operation: Operation, kind: TransportFailure, cause?: unknown) {
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
 * Whether OpenMetal may have acted on a request although no usable success came back
 * (timeout, reset, 5xx, or a success whose answer could not be read): a create that failed
 * so must be looked for before it is tried again.
 */
export function mayHaveActed (error: unknown): boolean {
  return error instanceof OpenMetalTransportError || (error instanceof OpenMetalHttpError && error.status >= 500)
}

/** OpenMetal refusing this one call (a 4xx): not the credentials (401), not a rate limit (429). */
export function isRefusal (error: unknown): error is OpenMetalHttpError {
  return error instanceof OpenMetalHttpError && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 429
}

/** A list whose completeness could not be established: nothing may be bought on it. */
export class OpenMetalIncompleteListError extends Error {
  readonly operation: Operation
  readonly reason: string

  constructor (operation: Operation, reason: string) {
    super(`OpenMetal ${operation} could not be read whole: ${reason}`)
    this.name = 'OpenMetalIncompleteListError'
    this.operation = operation
    this.reason = reason
  }
}

/** A create that may have acted, and that was not found by its label (yet): the caller must retry, which looks again. */
export class OpenMetalUnsettledWriteError extends Error {
  readonly operation: Operation

  constructor (operation: Operation, cause: unknown) {
    super(`OpenMetal ${operation} may have acted; what it made was not found by its label`, { cause })
    this.name = 'OpenMetalUnsettledWriteError'
    this.operation = operation
  }
}

/**
 * A shared upstream call (a token exchange, a lookup joined by several requests), awaited
 * by one request under its own deadline: the request gives up when its deadline passes,
 * while the shared call goes on for the others (until the last has left: shared-lookup.ts).
 */
export async function withinDeadline<T> (shared: Promise<T>, signal: AbortSignal | undefined, operation: Operation): Promise<T> {
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
  /** calls of one compartment (tenant) on the wire at once; below `connections` */
  readonly tenantConcurrency: number
  /** calls of one compartment waiting for a turn; any more are refused (OpenMetalBusyError) */
  readonly tenantQueue: number
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
  private readonly bulkhead: Bulkhead
  private readonly options: TransportOptions
  private readonly random: () => number

  constructor (options: TransportOptions) {
    this.options = options
    this.random = options.random ?? Math.random
    // never more calls on the wire than connections: no call ever waits in undici's queue,
    // which an aborted signal does not leave (bulkhead.ts)
    this.bulkhead = new Bulkhead({ perCompartment: options.tenantConcurrency, queuePerCompartment: options.tenantQueue, total: options.connections })
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
        const response = await this.bulkhead.run(call.compartment ?? '', call.signal, async () => await this.attempt(call))
        if (response.status < 400) return response
        const retryAfter = parseRetryAfter(response.headers['retry-after'])
        // a wait longer than a backoff step is Cycle's to do, not ours: it hears Retry-After
        const waitTooLong = retryAfter !== undefined && retryAfter * 1000 > this.options.retryMaxDelayMs
        if (last || !idempotent || !RETRYABLE_STATUS.has(response.status) || waitTooLong) {
          throw new OpenMetalHttpError(call.operation, response.status, retryAfter, headerText(response.headers['x-request-id']),
            // a refusal's reason is for the operator and Cycle; a failure's body (5xx) is OpenMetal's internals and kept by no one
            response.status < 500 ? refusalMessage(response.body, call.authorization, call.secrets) : undefined)
        }
        this.options.observer?.retry(call.operation, String(response.status))
        await this.backoff(attempt, retryAfter, call)
      } catch (error) {
        if (error instanceof OpenMetalHttpError) throw error
        if (error instanceof OpenMetalBusyError) {
          this.options.observer?.refused?.(call.operation)
          throw error
        }
        const failure = classify(call.operation, error, call.signal)
        if (last || !idempotent || !failure.ambiguous || failure.kind === 'deadline') throw failure
        this.options.observer?.retry(call.operation, failure.kind)
        await this.backoff(attempt, undefined, call)
      }
    }
  }

  /** the OpenMetal origin every call goes to (a next-page link must stay on it) */
  get origin (): string {
    return new URL(this.options.baseUrl).origin
  }

  async close (): Promise<void> {
    await this.pool.close()
  }

  private async attempt (call: UpstreamCall): Promise<UpstreamResponse> {
    // every caller left while this call waited for its turn: nothing is sent
    if (call.signal?.aborted === true) throw new OpenMetalTransportError(call.operation, 'deadline', call.signal.reason)
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
          // an error page is not JSON (its text may still say why); only a success must be
          if (response.statusCode < 400) {
            status = 'malformed'
            throw new OpenMetalTransportError(call.operation, 'malformed', error)
          }
          parsed = text.slice(0, 4096)
        }
      }
      try {
        this.options.onAnswer?.(call.operation, { status: response.statusCode, body: parsed, headers: response.headers })
      } catch {
        // an observer's trouble is never the call's
      }
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

function classify (operation: Operation, error: unknown, deadline: AbortSignal | undefined): OpenMetalTransportError {
  if (error instanceof OpenMetalTransportError) return error
  if (deadline?.aborted === true) return new OpenMetalTransportError(operation, 'deadline', error)
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError ||
    (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError'))) {
    return new OpenMetalTransportError(operation, 'timeout', error)
  }
  return new OpenMetalTransportError(operation, 'network', error)
}
