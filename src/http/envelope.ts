/**
 * Cycle's error envelope, everywhere: one error handler turns every failure into
 * `{error, data: null}` through the catalog (errors.ts), and an unknown path gets the same
 * shape. What OpenMetal refused or failed is logged for the operator; upstream bodies never
 * reach the answer.
 */
import fp from 'fastify-plugin'
import { toAdapterError, Errors } from '../errors.ts'
import { OpenMetalHttpError, OpenMetalTransportError } from '../openmetal/transport.ts'
import { OpenMetalBusyError } from '../openmetal/bulkhead.ts'
import { CoordinatorUnavailableError, LeaseBusyError } from '../coordination/coordinator.ts'

export const envelope = fp(async (app) => {
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
    } else if (cause instanceof LeaseBusyError || cause instanceof CoordinatorUnavailableError) {
      // a purchase waiting for another is no failure; a coordinator that is down is logged at
      // error once a minute by its reporter (observability/coordination-reports.ts), not per request
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
}, { name: 'envelope', fastify: '5.x' })
