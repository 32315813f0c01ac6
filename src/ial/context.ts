/**
 * What every IAL call carries besides its payload: the tenant's OpenMetal credentials, the
 * Cycle hub, the hub's settings, and the deadline and trace of the upstream calls it makes.
 */
import type { FastifyRequest } from 'fastify'
import type { Auth } from '../generated/cycle-ial.ts'
import type { Credentials } from '../openmetal/auth.ts'
import type { TenantContext } from '../openmetal/client.ts'
import type { Operation } from '../openmetal/operations.ts'
import { decodeHubConfig, type HubConfig } from '../mapping/hub-config.ts'
import { Errors } from '../errors.ts'

export interface IalCall extends TenantContext {
  readonly hubId: string | undefined
  readonly hubConfig: HubConfig
}

/** What an OpenMetal credential can be: visible ASCII, as an HTTP header carries it, and not kilobytes long. */
const CREDENTIAL = /^[\x21-\x7e]{1,1024}$/

/**
 * A credential that could never be sent to OpenMetal (a line break, a NUL, a non-ASCII
 * character, kilobytes long; a client ID with the `:` that separates it from the secret)
 * is refused at once, before any call, and never retried as if OpenMetal were down.
 */
function sendable (value: string, field: 'client_id' | 'secret' | 'api_key'): string {
  if (!CREDENTIAL.test(value) || (field === 'client_id' && value.includes(':'))) {
    throw Errors.credentialsUnusable({ detail: `auth.${field} is not an OpenMetal credential: at most 1024 visible ASCII characters${field === 'client_id' ? ', without ":"' : ''}`, source: `/auth/${field}` })
  }
  return value
}

export function credentialsOf (auth: Auth | undefined): Credentials {
  const clientId = auth?.client_id?.trim() ?? ''
  const secret = auth?.secret ?? ''
  const apiKey = auth?.api_key?.trim() ?? ''
  if (clientId !== '' || secret !== '') {
    if (clientId === '') throw Errors.missingArgument({ detail: 'auth.secret is set but auth.client_id is missing', source: '/auth/client_id' })
    if (secret === '') throw Errors.missingArgument({ detail: 'auth.client_id is set but auth.secret is missing', source: '/auth/secret' })
    return { kind: 'oauth', clientId: sendable(clientId, 'client_id'), secret: sendable(secret, 'secret') }
  }
  if (apiKey !== '') return { kind: 'api-key', apiKey: sendable(apiKey, 'api_key') }
  throw Errors.missingArgument({ detail: 'set auth.client_id and auth.secret (an OpenMetal OAuth client) or auth.api_key', source: '/auth' })
}

export function hubConfigOf (auth: Auth | undefined): HubConfig {
  const decoded = decodeHubConfig(auth?.config)
  if (!decoded.ok) throw Errors.invalidArgument({ detail: `auth.config ${decoded.reason}`, source: '/auth/config' })
  return decoded.value
}

/** The context of an authenticated IAL call. */
export function ialCall (request: FastifyRequest, auth: Auth | undefined): IalCall {
  return {
    credentials: credentialsOf(auth),
    hubId: auth?.cycle?.hub_id,
    hubConfig: hubConfigOf(auth),
    signal: request.deadline,
    trace: request.upstreamCalls
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** aborts when the request's deadline passes (armed on first use) */
    deadline: AbortSignal
    deadlineSignal: AbortSignal | null
    deadlineTimer: NodeJS.Timeout | null
    startedAt: number
    /** answered or abandoned, counted and logged */
    ended: boolean
    /** OpenMetal calls made on behalf of this request, for its log line */
    upstreamCalls: Array<{ operation: Operation, status: number | string, ms: number }>
  }
}
