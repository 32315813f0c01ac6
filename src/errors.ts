/**
 * The error catalog: every failure the adapter reports, as Cycle sees it (one entry per Cycle
 * code), and the one mapping from everything else that can fail (OpenMetal's failures, the
 * coordinator's, Fastify's) to an entry, with the log line the operator gets for it. Routes
 * and the client throw; the envelope, the readiness probe and the commands read this.
 */

import { errorCodes } from 'fastify'
import { AnswerTooLarge, OpenMetalError, UnreadableAnswer, type OpenMetalFailure, type OpenMetalHttpError } from './openmetal/errors.ts'
import type { Operation } from './openmetal/operations.ts'
import { CoordinatorUnavailableError, LeaseBusyError } from './coordination/coordinator.ts'

export interface CycleErrorBody {
  status: number
  code: string
  title: string
  detail?: string
  source?: string
}

/**
 * How the operator hears of a failure: the one log line written for it (the envelope adds the
 * Cycle code), or 'silent' when another part reports it or nothing went wrong.
 */
export type FailureReport = 'silent' | { readonly level: 'warn' | 'error', readonly message: string, readonly fields: Readonly<Record<string, unknown>> }

export class AdapterError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string | undefined
  readonly source: string | undefined
  /** seconds after which the caller may retry (sent as Retry-After) */
  readonly retryAfter: number | undefined
  /** the stable code of the failure behind this one (OPENMETAL_NETWORK, COORDINATOR_UNAVAILABLE, …), for logs */
  readonly reason: FailureCode | undefined
  readonly report: FailureReport

  constructor (status: number, code: string, title: string, options: Detail = {}) {
    super(options.detail === undefined ? title : `${title}: ${options.detail}`, { cause: options.cause })
    this.name = 'AdapterError'
    this.status = status
    this.code = code
    this.title = title
    this.detail = options.detail
    this.source = options.source
    this.retryAfter = options.retryAfter
    this.reason = options.reason
    // by default a failure of the adapter's (5xx) is logged at error, a refusal of Cycle's request (4xx) is not
    this.report = options.report ?? (status < 500
      ? 'silent'
      : { level: 'error', message: title, fields: { failure: options.cause instanceof Error ? options.cause.message : this.message } })
  }

  toBody (): CycleErrorBody {
    const body: CycleErrorBody = { status: this.status, code: this.code, title: this.title }
    if (this.detail !== undefined) body.detail = this.detail
    if (this.source !== undefined) body.source = this.source
    return body
  }
}

interface Detail { detail?: string, source?: string, retryAfter?: number, cause?: unknown, reason?: FailureCode, report?: FailureReport }

function entry (status: number, slug: string, title: string) {
  return (options: Detail = {}): AdapterError => new AdapterError(status, `${status}.${slug}`, title, options)
}

export const Errors = {
  invalidSyntax: entry(400, 'invalid-syntax', 'The request body is not valid JSON'),
  // Go's encoding/json, Cycle's own decoder, calls a body nested too deeply a syntax error too
  nestedTooDeeply: entry(400, 'invalid-syntax', 'The request body nests too deeply'),
  malformedRequest: entry(400, 'invalid-syntax', 'The HTTP request is malformed'),
  authInvalid: entry(401, 'auth-invalid', 'OpenMetal rejected the credentials'),
  credentialsUnusable: entry(401, 'auth-invalid', 'The credentials cannot be OpenMetal credentials'),
  permissions: entry(403, 'permissions', 'Not permitted'),
  serverNotFound: entry(404, 'infrastructure.server', 'Server not found'),
  locationNotFound: entry(404, 'infrastructure.location', 'Location not found'),
  modelNotFound: entry(404, 'infrastructure.model', 'Server model not found'),
  routeNotFound: entry(404, 'not-found', 'No such endpoint'),
  busy: entry(503, 'not-ready', 'OpenMetal is busy with this resource'),
  requestTimeout: entry(408, 'request-timeout', 'The request did not arrive in time'),
  payloadTooLarge: entry(413, 'payload-too-large', 'The request body is too large'),
  // a route that reads no body takes none at all: any body is more than it will read
  bodyNotTaken: entry(413, 'payload-too-large', 'This endpoint takes no request body'),
  invalidContentType: entry(415, 'invalid-content-type', 'The request body must be application/json'),
  invalidContentEncoding: entry(415, 'invalid-content-type', 'The request body must not be compressed'),
  missingArgument: entry(422, 'missing-argument', 'A required argument is missing'),
  invalidArgument: entry(422, 'invalid-argument', 'An argument is invalid'),
  invalidInput: entry(422, 'invalid-input', 'The request does not match the IAL schema'),
  upstreamRefused: entry(422, 'invalid-argument', 'OpenMetal refused the request'),
  notCompatible: entry(422, 'not-compatible', 'Not supported by OpenMetal'),
  rateLimited: entry(429, 'rate-limiting', 'Too many requests'),
  headersTooLarge: entry(431, 'headers-too-large', 'The request headers are too large'),
  unknown: entry(500, 'unknown', 'Internal error'),
  // Cycle's catalogue has no code for an upstream that answers in an unusable shape; 503.not-ready
  // with Retry-After lets Cycle try again (a glitch passes) while the detail names operation and field
  upstreamMalformed: entry(503, 'not-ready', 'OpenMetal answered in a shape the adapter cannot use'),
  notReady: entry(503, 'not-ready', 'OpenMetal is not available right now'),
  notAvailable: entry(504, 'not-available', 'OpenMetal did not answer in time')
} as const

/**
 * Every other failure, as Cycle should see it, and as the operator's log tells it: the one
 * mapping the envelope, the readiness probe and the commands all read. Upstream bodies never
 * reach the envelope: only the status, the operation name and OpenMetal's cleaned reason do.
 */
export function toAdapterError (error: unknown): AdapterError {
  if (error instanceof AdapterError) return error
  const known = knownFailure(error)
  if (known !== undefined) return fromKnown(known)
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return Errors.notAvailable({ detail: 'the request\'s deadline passed before it could be carried out', cause: error })
  }
  return fromFastify(error) ?? Errors.unknown({ cause: error })
}

/** The failures that carry a stable code: OpenMetal's (openmetal/errors.ts) and the coordinator's. */
type KnownFailure = OpenMetalFailure | LeaseBusyError | CoordinatorUnavailableError
export type FailureCode = KnownFailure['code']

function knownFailure (error: unknown): KnownFailure | undefined {
  // every subclass of OpenMetalError is one of OpenMetalFailure (a new one must join it, and be placed below)
  if (error instanceof OpenMetalError) return error as OpenMetalFailure
  if (error instanceof LeaseBusyError || error instanceof CoordinatorUnavailableError) return error
  return undefined
}

/** Each stable code, placed: a new code does not compile until it is. */
function fromKnown (error: KnownFailure): AdapterError {
  const reason = error.code
  switch (error.code) {
    case 'OPENMETAL_HTTP_STATUS':
      return fromUpstreamStatus(error)
    case 'OPENMETAL_INCOMPLETE_LIST':
      return Errors.notReady({ detail: `OpenMetal ${error.operation} could not be read whole (${error.reason}); nothing is bought or created on a list that may be incomplete`, retryAfter: 60, cause: error, reason })
    case 'OPENMETAL_UNSETTLED_WRITE':
      return Errors.notReady({ detail: `OpenMetal ${error.operation} may have been carried out, and what it made was not found yet; retry: the retry looks for it before acting again`, retryAfter: 15, cause: error, reason })
    case 'OPENMETAL_TENANT_BUSY':
      // a tenant over its bulkhead is told to come back; one line per refusal, not an error of the adapter
      return Errors.notReady({ detail: `${error.message}: no more are queued; retry shortly (other tenants are not affected)`, retryAfter: 5, cause: error, reason, report: { level: 'warn', message: 'OpenMetal is busy with this tenant\'s calls', fields: { failure: error.message } } })
    case 'COORDINATION_LEASE_BUSY':
      // a purchase waiting for another is no failure: nothing to log
      return Errors.notReady({ detail: 'another call is buying this right now (a retry, or another replica); retry after the time given: it will find what was bought', retryAfter: error.retryAfterSeconds, cause: error, reason, report: 'silent' })
    case 'COORDINATOR_UNAVAILABLE':
      // logged at error once a minute by its reporter (observability/coordination-reports.ts), not per request
      return Errors.notReady({ detail: 'the coordinator that lets replicas buy each server once cannot be reached, so nothing is bought; reads, status, restart, release and decommission still work', retryAfter: 15, cause: error, reason, report: 'silent' })
    case 'OPENMETAL_MALFORMED_ANSWER': {
      const unreadable = error.cause instanceof UnreadableAnswer ? `: in its answer, ${error.cause.message}` : ': its answer is not JSON'
      const detail = `OpenMetal ${error.operation}${unreadable}`
      return Errors.upstreamMalformed({ detail, retryAfter: 60, cause: error, reason, report: { level: 'warn', message: `OpenMetal answered ${error.operation} in a shape the adapter cannot use`, fields: { operation: error.operation, detail } } })
    }
    case 'OPENMETAL_ANSWER_TOO_LARGE': {
      const limit = error.cause instanceof AnswerTooLarge ? `${error.cause.limitBytes} bytes` : 'the limit'
      // not a glitch a quick retry passes: the answer holds that much until OpenMetal holds less or the cap is raised
      const detail = `OpenMetal ${error.operation}: its answer is larger than ${limit} (OPENMETAL_MAX_ANSWER_BYTES), so it was cut off unread and nothing was done with it`
      return Errors.notReady({ detail, retryAfter: 120, cause: error, reason, report: { level: 'warn', message: `OpenMetal answered ${error.operation} with more than the adapter reads`, fields: { operation: error.operation, detail } } })
    }
    case 'OPENMETAL_NETWORK': {
      const code = systemCodeIn(error.cause)
      return Errors.notReady({ detail: `OpenMetal ${error.operation}: network (connection failed${code === undefined ? '' : `: ${code}`})`, retryAfter: 5, cause: error, reason })
    }
    case 'OPENMETAL_TIMEOUT':
    case 'OPENMETAL_DEADLINE':
      return Errors.notAvailable({ detail: `OpenMetal ${error.operation}: ${error.kind} (no answer in time)`, cause: error, reason })
    default:
      return unplaced(error)
  }
}

function unplaced (error: never): AdapterError {
  return Errors.unknown({ cause: error })
}

/** The system's code for a failed connection (ECONNREFUSED, ENOTFOUND, UND_ERR_CONNECT_TIMEOUT, …), the first down a chain of causes. */
export function systemCodeIn (error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{2,40}$/.test(code)) return code
    cause = cause instanceof AggregateError ? cause.errors[0] : (cause as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * What a refusal of each OpenMetal call says about Cycle's request; every operation is
 * placed, so a new one needs a decision here. 'public': the call carries no credentials and
 * names nothing of Cycle's, so a refusal there is OpenMetal's trouble. 'credentials': the
 * call sends nothing but the credentials (the OAuth token exchange, whose refusals are 400 or
 * 401 by RFC 6749), so refusing it is refusing them. 'no-server': the call names no single
 * server, so its 404 does not mean the server is gone. 'server': a 404 is Cycle's server gone.
 */
const REFUSAL_MEANS: Readonly<Record<Operation, 'public' | 'credentials' | 'no-server' | 'server'>> = {
  exchangeToken: 'credentials',
  getAccountProfile: 'no-server',
  getLocations: 'public',
  getProducts: 'public',
  getAvailability: 'public',
  probe: 'public',
  listConfigurations: 'server',
  getConfiguration: 'server',
  createConfiguration: 'server',
  updateConfiguration: 'server',
  listOrders: 'no-server',
  getOrder: 'server',
  createOrder: 'server',
  listClouds: 'no-server',
  getCloud: 'server',
  getCloudStats: 'server',
  deleteCloud: 'server',
  setPowerState: 'server',
  listPrefixes: 'no-server',
  getPrefixAddresses: 'server',
  createIpAddress: 'no-server',
  deleteIpAddress: 'server',
  createPrefix: 'no-server',
  deletePrefix: 'server',
  listVlans: 'no-server',
  assignPrefix: 'no-server',
  unassignPrefix: 'server'
}

function fromUpstreamStatus (error: OpenMetalHttpError): AdapterError {
  // a refusal's reason is for whoever must fix the request or the settings (a failure carries none)
  const said = error.upstreamMessage === undefined ? '' : `: ${error.upstreamMessage}`
  const detail = `OpenMetal answered ${error.status} to ${error.operation}${error.upstreamRequestId === undefined ? '' : ` (request ${error.upstreamRequestId})`}${said}`
  const entry = { operation: error.operation, upstreamStatus: error.status, upstreamRequestId: error.upstreamRequestId, upstreamMessage: error.upstreamMessage }
  // OpenMetal refusing a call is the operator's business too (a bad configuration ID, a missing permission)
  const report: FailureReport = error.status < 500
    ? { level: 'warn', message: `OpenMetal refused ${error.operation}`, fields: entry }
    : { level: 'error', message: `OpenMetal failed ${error.operation}`, fields: entry }
  const options: Detail = { detail, cause: error, reason: error.code, report }
  // neither the caller's credentials nor its request can be at fault for these: retry later
  const means = REFUSAL_MEANS[error.operation]
  if (error.status < 500 && error.status !== 429 && (means === 'public' || (error.status === 404 && means !== 'server'))) {
    return Errors.notReady({ ...options, retryAfter: 30 })
  }
  if (means === 'credentials' && (error.status === 400 || error.status === 403)) return Errors.authInvalid(options)
  switch (error.status) {
    case 400: return Errors.upstreamRefused(options)
    case 401: return Errors.authInvalid(options)
    case 403: return Errors.permissions({ ...options, detail: `${detail} (the credentials may lack permission for this action)` })
    case 404: return Errors.serverNotFound(options)
    case 409: return error.operation === 'setPowerState'
      ? Errors.busy({ ...options, detail: `${detail}; OpenMetal has locked the node for another power action; retry in a few minutes`, retryAfter: 120 })
      : Errors.busy({ ...options, retryAfter: 60 })
    case 429: return Errors.rateLimited({ ...options, retryAfter: error.retryAfter ?? 5 })
    case 504: return Errors.notAvailable(options)
    default: return Errors.notReady({ ...options, retryAfter: error.retryAfter ?? 5 })
  }
}

interface FastifyLikeError { statusCode?: unknown, validation?: unknown, validationContext?: unknown, message?: unknown }

function fromFastify (error: unknown): AdapterError | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { statusCode, validation } = error as FastifyLikeError
  if (Array.isArray(validation)) {
    const issues = validation as Array<{ keyword?: string, instancePath?: string, message?: string, params?: { missingProperty?: string, limit?: number } }>
    // an over-long string (maxLength, also inside a string-or-null union) is named as such
    const tooLong = issues.find((issue) => issue.keyword === 'maxLength')
    if (tooLong !== undefined) {
      const source = tooLong.instancePath === undefined || tooLong.instancePath === '' ? '/' : tooLong.instancePath
      return Errors.invalidArgument({ detail: `${source} is longer than ${tooLong.params?.limit ?? 'the allowed number of'} characters`, source })
    }
    const first = issues[0]
    const missing = first?.params?.missingProperty
    const source = `${first?.instancePath ?? ''}${missing === undefined ? '' : `/${missing}`}`
    const detail = missing === undefined ? `${source === '' ? 'the body' : source} ${first?.message ?? 'is invalid'}` : `${source} is required`
    return missing === undefined ? Errors.invalidInput({ detail, source: source === '' ? '/' : source }) : Errors.missingArgument({ detail, source })
  }
  if (error instanceof errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE) return Errors.invalidContentType({ detail: 'send the {auth, request} wrapper as application/json' })
  if (error instanceof errorCodes.FST_ERR_CTP_BODY_TOO_LARGE) return Errors.payloadTooLarge()
  if (error instanceof errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY) return Errors.invalidSyntax({ detail: 'the body is empty; send the {auth, request} wrapper' })
  if (error instanceof errorCodes.FST_ERR_CTP_INVALID_JSON_BODY || error instanceof errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH) return Errors.invalidSyntax()
  if (error instanceof SyntaxError && statusCode === 400) return Errors.invalidSyntax()
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return new AdapterError(statusCode, `${statusCode}.invalid-request`, 'The request was refused')
  return undefined
}
