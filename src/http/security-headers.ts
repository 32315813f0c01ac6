/**
 * The headers every answer carries, whatever answers it: a route, the error handler, the
 * router's refusal or the HTTP parser's (edge/client-errors.ts). HSTS only over native TLS.
 */
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'

export function securityHeadersOf (config: Pick<Config, 'tls'>): Readonly<Record<string, string>> {
  return {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'x-permitted-cross-domain-policies': 'none',
    ...(config.tls === undefined ? {} : { 'strict-transport-security': 'max-age=31536000; includeSubDomains' })
  }
}

/** Set on every request as it arrives, so that an answer refused by a later hook carries them too. */
export const securityHeaders = fp<{ headers: Readonly<Record<string, string>> }>(async (app, { headers }) => {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'security-headers', fastify: '5.x' })
