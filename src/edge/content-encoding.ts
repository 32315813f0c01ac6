/**
 * A compressed body would be parsed as if it were not: such a request is refused as it
 * arrives, before its body is read (415, through the error handler; the connection is closed
 * once what was already sent has drained: edge/request-bodies.ts). Content-Encoding
 * identity, or none, passes.
 */
import fp from 'fastify-plugin'
import { Errors } from '../errors.ts'

/** Content-Encoding values that leave the body as it is. */
const IDENTITY = /^\s*(identity\s*(,\s*identity\s*)*)?$/i

export const refuseCompressedBodies = fp(async (app) => {
  app.addHook('onRequest', (request, _reply, done) => {
    const encoding = request.headers['content-encoding']
    if (encoding !== undefined && !IDENTITY.test(encoding)) {
      done(Errors.invalidContentEncoding({ detail: 'send the body as it is: Content-Encoding identity, or none' }))
      return
    }
    done()
  })
}, { name: 'refuse-compressed-bodies', fastify: '5.x' })
