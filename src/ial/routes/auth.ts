import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { verifySchema } from '../schemas.ts'
import { ialCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'

/** 1. verify: `valid: false` only when OpenMetal rejected the credentials; trouble reaching it is an error. */
export const authRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client }) => {
  app.post('/v1/auth/verify', { schema: verifySchema }, async (request) => {
    const call = ialCall(request, request.body.auth)
    return { data: { valid: await client.verify(call) } }
  })
}
