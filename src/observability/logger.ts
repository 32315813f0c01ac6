/**
 * pino settings: JSON lines, credentials redacted wherever they could appear (request
 * bodies are never logged, but errors and their causes might carry them). Pretty output
 * only when a human asks for it (LOG_FORMAT=pretty).
 */
import type { FastifyServerOptions } from 'fastify'
import type { Config } from '../config.ts'

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'auth.secret',
  'auth.api_key',
  'auth.config',
  '*.auth.secret',
  '*.auth.api_key',
  '*.auth.config',
  'secret',
  'api_key',
  'access_token',
  '*.secret',
  '*.api_key',
  '*.access_token'
]

export function loggerOptions (config: Pick<Config, 'logLevel' | 'logPretty'>, stream?: NodeJS.WritableStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(stream !== undefined ? { stream } : config.logPretty ? { transport: { target: 'pino-pretty' } } : {})
  }
}
