/**
 * What the commands tell an operator about where they talk to: the OpenMetal origin from
 * `--api-url` or OPENMETAL_API_URL, refused in the words of whichever the operator used, and a
 * call that never reached it told with the host and the cause, not as a bare "network".
 */
import { ConfigError, loadConfig } from '../config.ts'
import { OpenMetalTransportError } from '../openmetal/transport.ts'
import { UsageError } from './args.ts'

/** The OpenMetal origin the command talks to; a bad one is a UsageError naming the flag or the variable it came from. */
export function openMetalOrigin (flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  try {
    return loadConfig({ OPENMETAL_API_URL: flag ?? env.OPENMETAL_API_URL }).openMetalApiUrl
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const problem = error.message.replace(/^OPENMETAL_API_URL /, '')
    throw new UsageError(`${flag === undefined ? 'OPENMETAL_API_URL' : '--api-url'} ${problem}`)
  }
}

/** The first error code down a chain of causes (ECONNREFUSED, ENOTFOUND, UND_ERR_CONNECT_TIMEOUT, …). */
function codeIn (error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{2,40}$/.test(code)) return code
    cause = cause instanceof AggregateError ? cause.errors[0] : (cause as { cause?: unknown }).cause
  }
  return undefined
}

/** For a call that never got an answer: which host, and why (when the system said); otherwise undefined. */
export function unreachable (error: unknown, origin: string): string | undefined {
  if (!(error instanceof OpenMetalTransportError) || (error.kind !== 'network' && error.kind !== 'timeout')) return undefined
  const code = codeIn(error.cause)
  return `could not reach ${new URL(origin).host} for ${error.operation}: ${error.kind === 'timeout' ? 'no answer in time' : 'the connection failed'}${code === undefined ? '' : ` (${code})`}`
}
