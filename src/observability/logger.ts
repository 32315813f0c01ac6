/**
 * pino settings: JSON lines, credentials scrubbed wherever they could appear (request
 * bodies are never logged, but errors and their causes might carry them). Pretty output
 * only when a human asks for it (LOG_FORMAT=pretty).
 *
 * The scrubbing runs as pino's `log` formatter, so only on lines that are written. pino's
 * own `redact` option would do the same by path, but it makes every per-request child
 * logger cost about 7 µs more, a sixth of a cached answer (BENCHMARKS.md).
 */
import type { FastifyServerOptions } from 'fastify'
import type { Config } from '../config.ts'

export const REDACTED = '[redacted]'

/** Keys whose values are credentials wherever they appear in a logged object. */
const SECRET_KEYS = new Set(['authorization', 'proxy-authorization', 'cookie', 'secret', 'client_secret', 'api_key', 'access_token', 'refresh_token', 'password', 'token'])
/** Keys that are credentials inside Cycle's `auth` object. */
const AUTH_SECRET_KEYS = new Set([...SECRET_KEYS, 'config'])
const MAX_DEPTH = 8

function scrubValue (value: unknown, depth: number, secretKeys: ReadonlySet<string>): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1, SECRET_KEYS))
  // errors and other class instances are left to pino's serializers, which turn them into plain objects first
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value
  let copy: Record<string, unknown> | undefined
  for (const [key, item] of Object.entries(value)) {
    const lower = key.toLowerCase()
    const scrubbed = secretKeys.has(lower) && item !== undefined ? REDACTED : scrubValue(item, depth + 1, lower === 'auth' ? AUTH_SECRET_KEYS : SECRET_KEYS)
    if (scrubbed !== item) {
      copy ??= { ...(value as Record<string, unknown>) }
      copy[key] = scrubbed
    }
  }
  return copy ?? value
}

/** A logged object with every credential replaced by `[redacted]`; the object itself is not changed. */
export function scrubSecrets (object: Record<string, unknown>): Record<string, unknown> {
  return scrubValue(object, 0, SECRET_KEYS) as Record<string, unknown>
}

export function loggerOptions (config: Pick<Config, 'logLevel' | 'logPretty'>, stream?: NodeJS.WritableStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: config.logLevel,
    formatters: { log: scrubSecrets },
    ...(stream !== undefined ? { stream } : config.logPretty ? { transport: { target: 'pino-pretty' } } : {})
  }
}
