/**
 * pino settings: JSON lines, credentials scrubbed wherever they could appear (request
 * bodies are never logged, but errors and their causes might carry them). Pretty output
 * only when a human asks for it (LOG_FORMAT=pretty).
 *
 * The scrubbing runs as pino's `log` formatter, so only on lines that are written. pino's
 * own `redact` option would do the same by path, but its wildcard paths (`*.secret`) run
 * over every binding of every per-request child logger: about 7 µs a request, a sixth of a
 * cached answer (BENCHMARKS.md). The formatter does not see child loggers' bindings (pino
 * writes them once, at the child's creation): the only child is Fastify's per request, bound
 * to the request ID alone, and nothing else may bind credentials to a logger.
 */
import type { FastifyServerOptions } from 'fastify'
import type { Config } from '../config.ts'

export const REDACTED = '[redacted]'

/** Keys whose values are credentials wherever they appear in a logged object. */
const SECRET_KEYS = new Set(['authorization', 'proxy-authorization', 'cookie', 'secret', 'client_secret', 'api_key', 'access_token', 'refresh_token', 'password', 'token'])
/** Keys that are credentials inside Cycle's `auth` object. */
const AUTH_SECRET_KEYS = new Set([...SECRET_KEYS, 'config'])
const MAX_DEPTH = 8

/** One property: a credential by its name is replaced, anything else is scrubbed inside. */
function scrubEntry (key: string, value: unknown, depth: number, secretKeys: ReadonlySet<string>): unknown {
  const lower = key.toLowerCase()
  if (secretKeys.has(lower) && value !== undefined) return REDACTED
  return scrubValue(value, depth + 1, lower === 'auth' ? AUTH_SECRET_KEYS : SECRET_KEYS)
}

function scrubValue (value: unknown, depth: number, secretKeys: ReadonlySet<string>): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1, SECRET_KEYS))
  // pino's serializers run after this formatter: an error is copied (same class, so its
  // serializer writes it as before) with its properties and its cause scrubbed
  if (value instanceof Error) return scrubError(value, depth, secretKeys)
  // other class instances (Fastify's request and reply under `req`/`res`) are left to their
  // serializers, which write no headers and no body
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value
  let copy: Record<string, unknown> | undefined
  for (const [key, item] of Object.entries(value)) {
    const scrubbed = scrubEntry(key, item, depth, secretKeys)
    if (scrubbed !== item) {
      copy ??= { ...(value as Record<string, unknown>) }
      copy[key] = scrubbed
    }
  }
  return copy ?? value
}

function scrubError (error: Error, depth: number, secretKeys: ReadonlySet<string>): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error
  for (const key of Object.getOwnPropertyNames(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key)
    if (descriptor === undefined || !('value' in descriptor)) continue
    Object.defineProperty(copy, key, { ...descriptor, value: scrubEntry(key, descriptor.value, depth, secretKeys) })
  }
  return copy
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
