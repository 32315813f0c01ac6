/**
 * Every way a call to OpenMetal can fail, in one place. Each failure is a class with a stable
 * `code` (logged, counted and matched on; never renamed), like undici's `UND_ERR_*`: the
 * transport, the bulkhead, the tolerant reader and the client throw these, and one mapping
 * (src/errors.ts) turns them into what Cycle, the operator's log and the commands are told.
 * Nothing here knows of Cycle.
 */
import type { Operation } from './operations.ts'

export const OPENMETAL_ERROR_CODES = [
  /** OpenMetal answered with an error status (OpenMetalHttpError) */
  'OPENMETAL_HTTP_STATUS',
  /** one attempt got no answer in time */
  'OPENMETAL_TIMEOUT',
  /** the connection failed (refused, reset, DNS, TLS) */
  'OPENMETAL_NETWORK',
  /** the caller's deadline passed, or the caller left, before the call was done */
  'OPENMETAL_DEADLINE',
  /** a success whose answer was not JSON or lacked what the call reads */
  'OPENMETAL_MALFORMED_ANSWER',
  /** a success whose answer was larger than OPENMETAL_MAX_ANSWER_BYTES */
  'OPENMETAL_ANSWER_TOO_LARGE',
  /** a list whose completeness could not be established */
  'OPENMETAL_INCOMPLETE_LIST',
  /** a create that may have acted, and whose result was not found yet */
  'OPENMETAL_UNSETTLED_WRITE',
  /** the tenant's bulkhead compartment is full: the call was never sent */
  'OPENMETAL_TENANT_BUSY'
] as const

export type OpenMetalErrorCode = typeof OPENMETAL_ERROR_CODES[number]

/** What every OpenMetal failure has: its stable code and, for most, the call it failed. */
export abstract class OpenMetalError extends Error {
  abstract readonly code: OpenMetalErrorCode

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    // each class's own name (OpenMetalHttpError, …), as stack traces and logs show it
    this.name = new.target.name
  }
}

/** OpenMetal's request ID is repeated in logs and in Cycle's error detail only in this shape. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** OpenMetal answered with an error status (after any retries). */
export class OpenMetalHttpError extends OpenMetalError {
  readonly code = 'OPENMETAL_HTTP_STATUS'
  readonly operation: Operation
  readonly status: number
  readonly retryAfter: number | undefined
  /** OpenMetal's request ID, only when it has a safe shape (it goes into logs and Cycle's error detail) */
  readonly upstreamRequestId: string | undefined
  /** OpenMetal's own reason for a refusal (4xx), cleaned (see `refusalMessage` in transport.ts): for Cycle's error detail and the log */
  readonly upstreamMessage: string | undefined

  /** `upstreamRequestId` as the header gave it: the transport passes it through `requestIdOf` first, which also drops one holding credentials */
  constructor (operation: Operation, status: number, retryAfter: number | undefined, upstreamRequestId: string | undefined, upstreamMessage?: string) {
    super(`OpenMetal ${operation} answered ${status}`)
    this.operation = operation
    this.status = status
    this.retryAfter = retryAfter
    this.upstreamRequestId = upstreamRequestId !== undefined && SAFE_REQUEST_ID.test(upstreamRequestId) ? upstreamRequestId : undefined
    this.upstreamMessage = upstreamMessage
  }
}

export type TransportFailure = 'timeout' | 'network' | 'malformed' | 'too-large' | 'deadline'

const TRANSPORT_CODES = {
  timeout: 'OPENMETAL_TIMEOUT',
  network: 'OPENMETAL_NETWORK',
  deadline: 'OPENMETAL_DEADLINE',
  malformed: 'OPENMETAL_MALFORMED_ANSWER',
  'too-large': 'OPENMETAL_ANSWER_TOO_LARGE'
} as const satisfies Record<TransportFailure, OpenMetalErrorCode>

/** No usable answer from OpenMetal: it timed out, the connection failed, or the body was not what the spec says or larger than the cap. */
export class OpenMetalTransportError extends OpenMetalError {
  readonly code: typeof TRANSPORT_CODES[TransportFailure]
  readonly operation: Operation
  readonly kind: TransportFailure
  /** whether the request left for OpenMetal at all (false: cut off while it waited for its turn) */
  readonly sent: boolean

  constructor (operation: Operation, kind: TransportFailure, cause?: unknown, options: { readonly sent?: boolean } = {}) {
    super(`OpenMetal ${operation} failed: ${kind}`, { cause })
    this.code = TRANSPORT_CODES[kind]
    this.operation = operation
    this.kind = kind
    this.sent = options.sent ?? true
  }
}

/**
 * A needed value of an answer that is missing or unusable (the tolerant reader's verdict):
 * the cause of an `OPENMETAL_MALFORMED_ANSWER`, naming the field.
 */
export class UnreadableAnswer extends Error {
  readonly field: string
  readonly problem: string

  constructor (field: string, problem: string) {
    super(`${field === '' ? 'the answer' : field} ${problem}`)
    this.name = 'UnreadableAnswer'
    this.field = field
    this.problem = problem
  }
}

/**
 * An answer larger than the transport's cap (OPENMETAL_MAX_ANSWER_BYTES): refused unread when
 * its content-length said so, else cut off as soon as the bytes counted passed the cap. The
 * cause of an `OPENMETAL_ANSWER_TOO_LARGE`.
 */
export class AnswerTooLarge extends Error {
  readonly limitBytes: number
  /** the size the answer announced (content-length), when it did */
  readonly announcedBytes: number | undefined

  constructor (limitBytes: number, announcedBytes?: number) {
    super(announcedBytes === undefined ? `the answer ran past ${limitBytes} bytes` : `the answer announced ${announcedBytes} bytes, more than ${limitBytes}`)
    this.name = 'AnswerTooLarge'
    this.limitBytes = limitBytes
    this.announcedBytes = announcedBytes
  }
}

/** A list whose completeness could not be established: nothing may be created on it. */
export class OpenMetalIncompleteListError extends OpenMetalError {
  readonly code = 'OPENMETAL_INCOMPLETE_LIST'
  readonly operation: Operation
  readonly reason: string

  constructor (operation: Operation, reason: string) {
    super(`OpenMetal ${operation} could not be read whole: ${reason}`)
    this.operation = operation
    this.reason = reason
  }
}

/** A create that may have acted, and that was not found by its label (yet): the caller must retry, which looks again. */
export class OpenMetalUnsettledWriteError extends OpenMetalError {
  readonly code = 'OPENMETAL_UNSETTLED_WRITE'
  readonly operation: Operation

  constructor (operation: Operation, cause: unknown) {
    super(`OpenMetal ${operation} may have acted; what it made was not found by its label`, { cause })
    this.operation = operation
  }
}

/** A tenant's compartment is full: its call is refused before it reaches OpenMetal, and no one else is slowed. */
export class OpenMetalBusyError extends OpenMetalError {
  readonly code = 'OPENMETAL_TENANT_BUSY'
  readonly running: number
  readonly waiting: number

  constructor (running: number, waiting: number) {
    super(`${running} OpenMetal calls of the same tenant are under way in this replica and ${waiting} waiting`)
    this.running = running
    this.waiting = waiting
  }
}

/** Every OpenMetal failure, told apart by `code`. */
export type OpenMetalFailure = OpenMetalHttpError | OpenMetalTransportError | OpenMetalIncompleteListError | OpenMetalUnsettledWriteError | OpenMetalBusyError

/**
 * Whether OpenMetal may have acted on a request although no usable success came back
 * (timeout, reset, 5xx, or a success whose answer could not be read): a create that failed
 * so must be looked for before it is tried again.
 */
export function mayHaveActed (error: unknown): boolean {
  return (error instanceof OpenMetalTransportError && error.sent) || (error instanceof OpenMetalHttpError && error.status >= 500)
}

/**
 * Whether OpenMetal is known to have done nothing for a call that failed: it refused it (4xx),
 * or the call never left (a full bulkhead, or cut off while it waited for its turn). Anything
 * else leaves a create possibly done, including a failure no one classified.
 */
export function nothingDone (error: unknown): boolean {
  return (error instanceof OpenMetalHttpError && error.status < 500) || error instanceof OpenMetalBusyError ||
    (error instanceof OpenMetalTransportError && !error.sent)
}

/** OpenMetal refusing this one call (a 4xx): not the credentials (401), not a rate limit (429). */
export function isRefusal (error: unknown): error is OpenMetalHttpError {
  return error instanceof OpenMetalHttpError && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 429
}
