/**
 * What the commands tell an operator about where they talk to: the OpenMetal origin from
 * `--api-url` or OPENMETAL_API_URL, refused in the words of whichever the operator used; a
 * call that never reached it told with the host and the cause, not as a bare "network"; and
 * any other failure in the words the adapter's one mapping gives Cycle.
 */
import { ConfigError, readSetting } from '../config.ts'
import { OpenMetalTransportError } from '../openmetal/errors.ts'
import { systemCodeIn, toAdapterError } from '../errors.ts'
import { UsageError } from './args.ts'
import type { Credentials } from '../openmetal/auth.ts'

/** The OpenMetal origin the command talks to; a bad one is a UsageError naming the flag or the variable it came from. */
export function openMetalOrigin (flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  try {
    return readSetting({ OPENMETAL_API_URL: flag ?? env.OPENMETAL_API_URL }, 'OPENMETAL_API_URL')
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    throw new UsageError(`${flag === undefined ? 'OPENMETAL_API_URL' : '--api-url'} ${error.problem}`)
  }
}

/** For a call that never got an answer: which host, and why (when the system said); otherwise undefined. */
export function unreachable (error: unknown, origin: string): string | undefined {
  if (!(error instanceof OpenMetalTransportError) || (error.kind !== 'network' && error.kind !== 'timeout')) return undefined
  const code = systemCodeIn(error.cause)
  return `could not reach ${new URL(origin).host} for ${error.operation}: ${error.kind === 'timeout' ? 'no answer in time' : 'the connection failed'}${code === undefined ? '' : ` (${code})`}`
}

/**
 * A failed run in one line, through the adapter's one mapping (the title and detail Cycle
 * would get), or the host and the cause of a call that never reached OpenMetal; and whether
 * the operator's credentials are at fault (exit code 2, like a usage error) or not (1).
 */
export function failureOf (error: unknown, origin: string, nothingDone: string, credentials?: Credentials): { code: 1 | 2, message: string } {
  const told = plainFailureOf(error, origin, nothingDone)
  return { ...told, message: withoutSecrets(told.message, credentials) }
}

function plainFailureOf (error: unknown, origin: string, nothingDone: string): { code: 1 | 2, message: string } {
  const away = unreachable(error, origin)
  if (away !== undefined) return { code: 1, message: `${away}; ${nothingDone}` }
  const failure = toAdapterError(error)
  // no mapping knows it (a fault of the command itself): its own words are all there is to say
  if (failure.code === '500.unknown') return { code: 1, message: `unexpected failure: ${error instanceof Error ? error.message : String(error)}` }
  const retry = failure.retryAfter === undefined ? '' : ` (retry in ${failure.retryAfter} s)`
  return { code: failure.code === '401.auth-invalid' ? 2 : 1, message: `${failure.title}${failure.detail === undefined ? '' : `: ${failure.detail}`}${retry}` }
}

/** OpenMetal's reasons come cleaned of credentials; a message from anywhere else (an unexpected failure) is cleaned here. */
function withoutSecrets (message: string, credentials: Credentials | undefined): string {
  if (credentials === undefined) return message
  const secret = credentials.kind === 'oauth' ? credentials.secret : credentials.apiKey
  return secret.length >= 4 ? message.replaceAll(secret, '***') : message
}
