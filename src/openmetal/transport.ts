/**
 * The one way the adapter talks to OpenMetal: a keep-alive undici pool, bulkheads between
 * tenants (bulkhead.ts), per-attempt timeouts, an overall deadline, and the retry policy
 * (only calls that are safe to repeat, only on answers that say "try again": 429, 502, 503,
 * 504 and connection failures).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici'
import type { paths } from '../generated/openmetal-paths.ts'
import { Bulkhead } from './bulkhead.ts'
import { AnswerTooLarge, OpenMetalBusyError, OpenMetalHttpError, OpenMetalTransportError, SAFE_REQUEST_ID, type TransportFailure } from './errors.ts'
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
  /** safe to repeat after a failure that may have acted; defaults to true for GET and DELETE */
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

const MESSAGE_LIMIT = 300
/** Shorter credential material is not hidden: it would hide ordinary words. */
const SECRET_MIN = 4
/**
 * This many characters of a credential in a row, left in what is kept after the whole
 * credentials were hidden, are an echo cut short (`omk_live_8f2d…`) and are hidden too.
 */
const ECHO_RUN = 8
const REDACTED = '[redacted]'

/**
 * OpenMetal's reason for refusing a call, from whichever of the usual error shapes it used
 * (`message`, `error`, `error.message`, `errors[].message|detail`, `detail`, `title`, or a
 * plain-text body): control characters removed, whitespace collapsed, at most 300
 * characters, and every credential behind the call (bearer token, Basic pair, secret, API
 * key) replaced, as is anything that looks like a bearer token. The whole text is redacted
 * before it is cut: a cut first could keep the head of a credential standing across it.
 */
export function refusalMessage (body: unknown, authorization: string | undefined, secrets: readonly string[] = []): string | undefined {
  const found = messageIn(body)
  if (found === undefined) return undefined
  const credentials = credentialsOf(authorization, secrets)
  let text = found.replace(/\p{Cc}+/gu, ' ')
  for (const form of credentials.forms) text = text.split(form).join(REDACTED)
  text = text.replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`).replace(/\s+/g, ' ').trim()
  if (text === '') return undefined
  // what an echo cut short left is looked for in what is kept only (a long body costs nothing more)
  text = hideEchoes(cut(text), credentials.echoable)
  return cut(text)
}

function cut (text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text
}

/**
 * OpenMetal's request ID as it may be repeated in Cycle's error detail and the log: 1 to 128
 * characters of `A-Z a-z 0-9 . _ : -`, and holding no credential of the call (whole, or
 * `ECHO_RUN` characters of one in a row): an upstream that echoes a key there would
 * otherwise publish it. Anything else is no request ID worth keeping.
 */
export function requestIdOf (value: string | string[] | undefined, authorization: string | undefined, secrets: readonly string[] = []): string | undefined {
  const id = headerText(value)
  if (id === undefined || !SAFE_REQUEST_ID.test(id)) return undefined
  const credentials = credentialsOf(authorization, secrets)
  if (credentials.forms.some((form) => id.includes(form)) || echoesIn(id, credentials.echoable).length > 0) return undefined
  return id
}

interface CallCredentials {
  /** every form of the call's credentials to hide wherever it stands, longest first */
  readonly forms: readonly string[]
  /** the secret ones (not the Basic pair, which names the client ID), whose runs of `ECHO_RUN` characters are hidden too */
  readonly echoable: readonly string[]
}

/** The credential material behind a call: its Authorization header's and the secrets it names. */
function credentialsOf (authorization: string | undefined, secrets: readonly string[]): CallCredentials {
  const [scheme, value = ''] = (authorization ?? '').split(/\s+/, 2)
  const secret = [value, ...secrets]
  let pair: string | undefined
  if (scheme?.toLowerCase() === 'basic') {
    pair = Buffer.from(value, 'base64').toString('utf8')
    secret.push(pair.slice(pair.indexOf(':') + 1))
  }
  const long = (text: string): boolean => text.length >= SECRET_MIN
  // a credential echoed inside a URL arrives percent-encoded
  const forms = new Set([...secret, ...(pair === undefined ? [] : [pair])].filter(long).flatMap((text) => [text, encodeURIComponent(text)]))
  return { forms: [...forms].sort((a, b) => b.length - a.length), echoable: [...new Set(secret.filter((text) => text.length >= ECHO_RUN))] }
}

/** Where `text` repeats `ECHO_RUN` or more characters of a credential in a row, as merged [start, end) ranges. */
function echoesIn (text: string, credentials: readonly string[]): Array<[number, number]> {
  const found: Array<[number, number]> = []
  for (const credential of credentials) {
    for (let from = 0; from + ECHO_RUN <= credential.length; from++) {
      const run = credential.slice(from, from + ECHO_RUN)
      for (let at = text.indexOf(run); at !== -1; at = text.indexOf(run, at + 1)) found.push([at, at + ECHO_RUN])
    }
  }
  found.sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const [start, end] of found) {
    const last = merged[merged.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else merged.push([start, end])
  }
  return merged
}

function hideEchoes (text: string, credentials: readonly string[]): string {
  let hidden = text
  for (const [start, end] of echoesIn(text, credentials).reverse()) hidden = `${hidden.slice(0, start)}${REDACTED}${hidden.slice(end)}`
  return hidden
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
  /** the largest answer read, in bytes: a larger one is cut off unread (AnswerTooLarge) */
  readonly maxAnswerBytes: number
  readonly observer?: UpstreamObserver
  readonly onAnswer?: AnswerObserver
  /** injectable for tests; defaults to Math.random */
  readonly random?: () => number
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504])
/**
 * The failures without an answer worth a second attempt (of a call safe to repeat). An answer
 * that could not be used (malformed, too large) did arrive, and asking again would get the
 * same: a size is what the answer holds, not a glitch, and each try would download up to the
 * cap again. A deadline that passed leaves no time for another.
 */
const RETRYABLE_FAILURE = new Set<TransportFailure>(['timeout', 'network'])

/**
 * The most of a failure's answer (4xx, 5xx) read: a refusal's reason fits in far less, and
 * all of it is cleaned before it is cut (refusalMessage), which must stay cheap. A larger
 * error page is read for its status only.
 */
const FAILURE_ANSWER_BYTES = 64 * 1024

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
    // whether any attempt left for OpenMetal: a call cut off before then is known to have done nothing
    const progress = { sent: false }
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.options.maxAttempts
      try {
        const response = await this.bulkhead.run(call.compartment ?? '', call.signal, async () => await this.attempt(call, progress))
        if (response.status < 400) return response
        const retryAfter = parseRetryAfter(response.headers['retry-after'])
        // a wait longer than a backoff step is Cycle's to do, not ours: it hears Retry-After
        const waitTooLong = retryAfter !== undefined && retryAfter * 1000 > this.options.retryMaxDelayMs
        if (last || !idempotent || !RETRYABLE_STATUS.has(response.status) || waitTooLong) {
          throw new OpenMetalHttpError(call.operation, response.status, retryAfter, requestIdOf(response.headers['x-request-id'], call.authorization, call.secrets),
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
        const failure = classify(call.operation, error, call.signal, progress.sent)
        if (last || !idempotent || !RETRYABLE_FAILURE.has(failure.kind)) throw failure
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

  private async attempt (call: UpstreamCall, progress: { sent: boolean }): Promise<UpstreamResponse> {
    // every caller left while this call waited for its turn: nothing is sent
    if (call.signal?.aborted === true) throw new OpenMetalTransportError(call.operation, 'deadline', call.signal.reason, { sent: progress.sent })
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
      progress.sent = true
      const response = await this.pool.request({ method: call.method, path: call.path, query: call.query, headers, body, signal })
      status = response.statusCode
      const text = await readCapped(response, response.statusCode < 400 ? this.options.maxAnswerBytes : Math.min(this.options.maxAnswerBytes, FAILURE_ANSWER_BYTES))
      let parsed: unknown = null
      if (text instanceof AnswerTooLarge) {
        // a failure's status says what happened; its oversized page (a proxy's, a dump) is left unread
        if (response.statusCode < 400) {
          status = 'too-large'
          throw new OpenMetalTransportError(call.operation, 'too-large', text)
        }
      } else if (text !== '') {
        try {
          parsed = JSON.parse(text)
        } catch (error) {
          // an error page is not JSON (its text may still say why); only a success must be
          if (response.statusCode < 400) {
            status = 'malformed'
            throw new OpenMetalTransportError(call.operation, 'malformed', error)
          }
          // kept whole (the cap bounds it): refusalMessage hides the credentials before it cuts
          parsed = text
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

/**
 * The answer's text, its bytes counted as they arrive: once past `limit` the body is
 * destroyed, which aborts the request and closes its connection, so at most `limit` bytes
 * (and the chunk in hand) are ever held. A content-length above `limit` is refused before a
 * byte is read. (undici's `maxResponseSize` would cut the socket too, but only on HTTP/1 and
 * for every answer alike, naming no call.)
 */
async function readCapped (response: Dispatcher.ResponseData, limit: number): Promise<string | AnswerTooLarge> {
  const announced = Number(headerText(response.headers['content-length']) ?? Number.NaN)
  if (announced > limit) return cutOff(response.body, new AnswerTooLarge(limit, announced))
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) return cutOff(response.body, new AnswerTooLarge(limit))
    chunks.push(chunk)
  }
  // as undici's body.text() reads it: UTF-8, a byte order mark dropped
  return new TextDecoder().decode(Buffer.concat(chunks, size))
}

function cutOff (body: Dispatcher.ResponseData['body'], reason: AnswerTooLarge): AnswerTooLarge {
  // the call fails with `reason`; the stream's own abort error has no one else to tell
  body.on('error', () => {})
  body.destroy()
  return reason
}

/** A failure without an answer, by kind; `sent` false: no attempt of the call ever left (it waited for its turn). */
function classify (operation: Operation, error: unknown, deadline: AbortSignal | undefined, sent = true): OpenMetalTransportError {
  if (error instanceof OpenMetalTransportError) return error
  if (deadline?.aborted === true) return new OpenMetalTransportError(operation, 'deadline', error, { sent })
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError ||
    (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError'))) {
    return new OpenMetalTransportError(operation, 'timeout', error, { sent })
  }
  return new OpenMetalTransportError(operation, 'network', error, { sent })
}
