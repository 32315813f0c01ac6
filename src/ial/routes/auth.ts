import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { verifySchema } from '../schemas.ts'
import { ialCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'
import { requireConfiguration } from '../deployment-configuration.ts'

/**
 * 1. verify: `valid: false` only when OpenMetal rejected the credentials; trouble reaching it
 * is an error. A hub whose config names a deployment configuration hears now whether
 * OpenMetal has it, not when its first server is ordered.
 */
export const authRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client }) => {
  app.post('/v1/auth/verify', { schema: verifySchema }, async (request) => {
    const call = ialCall(request, request.body.auth)
    const valid = await client.verify(call)
    const named = call.hubConfig.deployment_configuration
    if (valid && named !== undefined) await requireConfiguration(client, call, named, 'auth.config.deployment_configuration')
    return { data: { valid } }
  })
}
