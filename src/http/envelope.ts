/**
 * Cycle's error envelope, everywhere: one error handler turns every failure into
 * `{error, data: null}` through the catalog's one mapping (errors.ts), which also says what
 * the operator's log gets for it; an unknown path gets the same shape. Upstream bodies never
 * reach the answer.
 */
import fp from 'fastify-plugin'
import { toAdapterError, Errors } from '../errors.ts'
import { abandoned } from './request-context.ts'

export const envelope = fp(async (app) => {
  app.setErrorHandler(async (error, request, reply) => {
    const failure = toAdapterError(error)
    const { report } = failure
    // a caller that hung up stopped the work itself: its request line says `aborted`, nothing failed
    if (report !== 'silent' && !abandoned(request)) request.log[report.level]({ code: failure.code, ...(failure.reason === undefined ? {} : { reason: failure.reason }), ...report.fields }, report.message)
    if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter))
    return reply.code(failure.status).send({ error: failure.toBody(), data: null })
  })
  app.setNotFoundHandler(async (request, reply) => {
    const failure = Errors.routeNotFound({ detail: `${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''} is not an endpoint of this adapter` })
    return reply.code(404).send({ error: failure.toBody(), data: null })
  })
}, { name: 'envelope', fastify: '5.x' })
