/**
 * The typed OpenMetal client: one method per operation the adapter uses. Policies live
 * here and in the transport, once: bearer tokens and the drop-and-retry-once on 401,
 * single-flight of identical lookups, short caching of the public catalog, and checking
 * every answer against the generated schema before anyone reads it.
 */
import { Compile } from 'typebox/compile'
import type { Validator } from 'typebox/compile'
import type { TSchema, Static } from 'typebox'
import * as OM from '../generated/openmetal.ts'
import { TokenCache, credentialKey } from './auth.ts'
import type { Credentials, TokenCacheObserver } from './auth.ts'
import { OpenMetalHttpError, OpenMetalTransportError, mayHaveActed, openMetalPath, withinDeadline } from './transport.ts'
import type { AnswerObserver, OpenMetalTransport, UpstreamCall, UpstreamTrace } from './transport.ts'
import { SharedLookup } from './shared-lookup.ts'
import { canonicalOrder } from '../mapping/order.ts'
import { cycleTag } from '../mapping/identifiers.ts'

export interface CallContext {
  readonly signal?: AbortSignal | undefined
  readonly trace?: UpstreamTrace[] | undefined
}

export interface TenantContext extends CallContext {
  readonly credentials: Credentials
}

export interface OpenMetalClientOptions {
  readonly catalogTtlMs?: number
  /** longest look for what a create whose answer was lost may have made (the request deadline bounds it too) */
  readonly recoveryTimeoutMs?: number
  readonly tokenObserver?: TokenCacheObserver
  readonly now?: () => number
  /** sees every OpenMetal answer before it is read (the sandbox drift report); wired into the transport by `createClient` */
  readonly onAnswer?: AnswerObserver
}

export type PowerState = 'power on' | 'power off' | 'rebooting'

const validators = new WeakMap<TSchema, Validator>()

/** How long the look for a lost create may run past the request's deadline, when that deadline cut the create off. */
export const RECOVERY_GRACE_MS = 3000

function validatorOf (schema: TSchema): Validator {
  let validator = validators.get(schema)
  if (validator === undefined) {
    validator = Compile(schema) as unknown as Validator
    validators.set(schema, validator)
  }
  return validator
}

function parse<S extends TSchema> (schema: S, body: unknown, operation: string): Static<S> {
  if (!validatorOf(schema).Check(body)) throw new OpenMetalTransportError(operation, 'malformed')
  return body as Static<S>
}

/** A string at `path` in an answer item that did not match its schema, if there is one. */
function stringAt (item: unknown, ...path: string[]): string | undefined {
  let value = item
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
  return typeof value === 'string' ? value : undefined
}

function isStatus (error: unknown, ...statuses: number[]): error is OpenMetalHttpError {
  return error instanceof OpenMetalHttpError && statuses.includes(error.status)
}

/**
 * Absent (404) is an answer, not a failure, for lookups: the lookup's own 404 only, never one
 * of a call made on its way (a token endpoint answering 404 does not mean the server is gone).
 */
async function orAbsent<T> (operation: string, pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending
  } catch (error) {
    if (isStatus(error, 404) && error.operation === operation) return undefined
    throw error
  }
}

export class OpenMetalClient {
  private readonly transport: OpenMetalTransport
  private readonly tokens: TokenCache
  private readonly catalog = new SharedLookup<unknown>()
  private readonly lookups = new SharedLookup<unknown>()
  private readonly catalogTtlMs: number
  private readonly recoveryTimeoutMs: number

  constructor (transport: OpenMetalTransport, options: OpenMetalClientOptions = {}) {
    this.transport = transport
    this.catalogTtlMs = options.catalogTtlMs ?? 60_000
    this.recoveryTimeoutMs = options.recoveryTimeoutMs ?? 10_000
    this.tokens = new TokenCache({
      exchange: (credentials, trace) => this.exchangeToken(credentials, trace),
      ...(options.tokenObserver === undefined ? {} : { observer: options.tokenObserver }),
      ...(options.now === undefined ? {} : { now: options.now })
    })
  }

  // Public catalog (no token) -------------------------------------------------------------

  locations (context: CallContext): Promise<OM.Locations> {
    return this.cachedPublic('getLocations', openMetalPath('/v2/inventory/locations', {}), OM.Locations, context)
  }

  products (context: CallContext): Promise<OM.ProductCatalog> {
    return this.cachedPublic('getProducts', openMetalPath('/v1/products', {}), OM.ProductCatalog, context)
  }

  availability (pod: string, context: CallContext): Promise<OM.InventoryAvailability> {
    return this.cachedPublic('getAvailability', openMetalPath('/v2/inventory/{pod_location}/availability', { pod_location: pod }), OM.InventoryAvailability, context)
  }

  /** One cheap public call, uncached and unretried: can OpenMetal be reached right now? */
  async reachable (timeoutMs: number): Promise<void> {
    await this.transport.send({ operation: 'probe', method: 'GET', path: openMetalPath('/v2/inventory/locations', {}), idempotent: false, signal: AbortSignal.timeout(timeoutMs) })
  }

  // Credentials ----------------------------------------------------------------------------

  /** true when OpenMetal accepts the credentials, false when it rejects them; throws when it cannot tell. */
  async verify (context: TenantContext): Promise<boolean> {
    try {
      if (context.credentials.kind === 'oauth') await this.tokens.exchangeNow(context.credentials, context.trace, context.signal)
      else await this.authed({ operation: 'listClouds', method: 'GET', path: openMetalPath('/v1/clouds', {}) }, context)
      return true
    } catch (error) {
      if (isStatus(error, 400, 401, 403)) return false
      throw error
    }
  }

  // Orders ---------------------------------------------------------------------------------

  /**
   * Items are OrderCollection: the order and its relation, without the `access` of GetOrder.
   * The organisation's other orders (bought in the portal, of kinds the spec does not know)
   * are not this adapter's business: one that does not match the schema is skipped, unless
   * it carries a Cycle tag, which must be read exactly.
   */
  listOrders (context: TenantContext, options: { fresh?: boolean } = {}): Promise<OM.OrderResponse[]> {
    return this.list('listOrders', openMetalPath('/v1/orders', {}), OM.OrderResponse, context, { ...options, mustMatch: (item) => cycleTag.parse(stringAt(item, 'label')) !== undefined })
  }

  getOrder (orderId: string, context: TenantContext): Promise<OM.GetOrder | undefined> {
    return orAbsent('getOrder', this.sharedGet('getOrder', openMetalPath('/v1/orders/{orderId}', { orderId }), context)
      .then((body) => parse(OM.GetOrder, body, 'getOrder')))
  }

  /**
   * The order standing for this label's server, if any (the oldest, when there are several:
   * see `canonicalOrder`). Always a fresh read: a list already on its way may not show the
   * latest order, and this answer decides whether to buy.
   */
  private async orderLabelled (label: string, context: TenantContext): Promise<OM.OrderResponse | undefined> {
    return canonicalOrder(await this.listOrders(context, { fresh: true }), label)
  }

  /**
   * The order for a label, bought at most once as far as OpenMetal lets anyone know: an
   * order standing for the server (`standsForServer`) is returned instead of buying; a create whose answer is
   * lost is found again by its label; and after buying, the labelled orders are read once
   * more so that two replicas that bought at the same instant both answer with the same one.
   */
  async orderOnce (order: OM.OrderRequest, context: TenantContext): Promise<OM.OrderResponse> {
    const existing = await this.orderLabelled(order.label, context)
    if (existing !== undefined) return existing
    const created = await this.createOrFind(async () => {
      const body = await this.authed({ operation: 'createOrder', method: 'POST', path: openMetalPath('/v1/orders', {}), body: order, idempotent: false }, context)
      return parse(OM.GetOrder, body, 'createOrder')
    }, (recovery) => this.orderLabelled(order.label, recovery), context)
    try {
      return (await this.orderLabelled(order.label, context)) ?? created
    } catch {
      // the order is bought; a failed second look only means no other replica's order is known
      return created
    }
  }

  // Clouds ---------------------------------------------------------------------------------

  listClouds (context: TenantContext): Promise<OM.Cloud[]> {
    return this.list('listClouds', openMetalPath('/v1/clouds', {}), OM.Cloud, context)
  }

  getCloud (cloudId: string, context: TenantContext): Promise<OM.Cloud | undefined> {
    return orAbsent('getCloud', this.sharedGet('getCloud', openMetalPath('/v1/clouds/{cloudId}', { cloudId }), context)
      .then((body) => parse(OM.Cloud, body, 'getCloud')))
  }

  getCloudStats (cloudId: string, context: TenantContext): Promise<OM.CloudStats | undefined> {
    return orAbsent('getCloudStats', this.sharedGet('getCloudStats', openMetalPath('/v1/clouds/{cloudId}/stats', { cloudId }), context)
      .then((body) => parse(OM.CloudStats, body, 'getCloudStats')))
  }

  /** 'deleted' when this call deleted it, 'gone' when there was nothing to delete. */
  async deleteCloud (cloudId: string, context: TenantContext): Promise<'deleted' | 'gone'> {
    const done = await orAbsent('deleteCloud', this.authed({ operation: 'deleteCloud', method: 'DELETE', path: openMetalPath('/v1/clouds/{cloudId}', { cloudId }) }, context))
    return done === undefined ? 'gone' : 'deleted'
  }

  async setPower (cloudId: string, nodeUuid: string, state: PowerState, context: TenantContext): Promise<OM.PowerStateResponse> {
    const body = await this.authed({
      operation: 'setPowerState',
      method: 'POST',
      path: openMetalPath('/v1/deployment/cloud/{cloudId}/node/{nodeUuid}/power', { cloudId, nodeUuid }),
      body: { power_state: state } satisfies OM.PowerStateRequest,
      // asking twice for a reboot is no worse than asking once
      idempotent: true
    }, context)
    return parse(OM.PowerStateResponse, body ?? {}, 'setPowerState')
  }

  // IP addresses ---------------------------------------------------------------------------

  /**
   * The organisation's IP blocks, or with `cloudId` that cloud's only: then a block of another
   * cloud that does not match the schema is skipped instead of failing the list (it is not
   * this server's business).
   */
  async listPrefixes (context: TenantContext, options: { cloudId?: string } = {}): Promise<OM.PrefixResource[]> {
    const { cloudId } = options
    const path = openMetalPath('/v1/prefixes', {})
    if (cloudId === undefined) return await this.list('listPrefixes', path, OM.PrefixResource, context)
    const needed = (item: unknown): boolean => [cloudId, undefined].includes(stringAt(item, 'fields', 'cloud_id'))
    return (await this.list('listPrefixes', path, OM.PrefixResource, context, { mustMatch: needed })).filter((prefix) => prefix.fields.cloud_id === cloudId)
  }

  /** The prefix as the network sees it, with its addresses and their labels. */
  getPrefixAddresses (prefixId: string, context: TenantContext): Promise<OM.PrefixDetailed | undefined> {
    return orAbsent('getPrefixAddresses', this.sharedGet('getPrefixAddresses', openMetalPath('/v1/deployment/network/prefix/{prefixId}', { prefixId }), context)
      .then((body) => parse(OM.PrefixDetailed, body, 'getPrefixAddresses')))
  }

  /**
   * undefined when the prefix has no free address (409). Never blindly repeated: when the
   * answer is lost, the address's (unique) label finds it again.
   */
  async createIp (prefixId: string, request: OM.CreateIpAddressRequest & { label: string }, context: TenantContext): Promise<OM.IpAddress | undefined> {
    try {
      return await this.createOrFind(async () => {
        const body = await this.authed({
          operation: 'createIpAddress',
          method: 'POST',
          path: openMetalPath('/v1/deployment/network/prefixes/{prefixId}/ip', { prefixId }),
          body: request,
          idempotent: false
        }, context)
        return parse(OM.IpAddress, body, 'createIpAddress')
      }, async (recovery) => (await this.getPrefixAddresses(prefixId, recovery))?.ip_addrs?.find((ip) => ip.label === request.label), context)
    } catch (error) {
      if (isStatus(error, 409)) return undefined
      throw error
    }
  }

  async deleteIp (prefixId: string, ipId: number, context: TenantContext): Promise<'deleted' | 'gone'> {
    const done = await orAbsent('deleteIpAddress', this.authed({
      operation: 'deleteIpAddress',
      method: 'DELETE',
      path: openMetalPath('/v1/deployment/network/prefixes/{prefixId}/ip/{ipId}', { prefixId, ipId })
    }, context))
    return done === undefined ? 'gone' : 'deleted'
  }

  async close (): Promise<void> {
    await this.transport.close()
  }

  // Policies -------------------------------------------------------------------------------

  private async exchangeToken (credentials: Credentials & { kind: 'oauth' }, trace?: UpstreamTrace[]): Promise<{ accessToken: string, expiresInSeconds: number }> {
    const basic = Buffer.from(`${credentials.clientId}:${credentials.secret}`).toString('base64')
    const response = await this.transport.send({
      operation: 'exchangeToken',
      method: 'GET',
      path: openMetalPath('/v1/oauth2/token', {}),
      query: { grant_type: 'client_credentials' },
      authorization: `Basic ${basic}`,
      trace
    })
    const token = parse(OM.OAuthTokenResponse, response.body, 'exchangeToken')
    return { accessToken: token.access_token, expiresInSeconds: token.expires_in }
  }

  /** A create whose answer may be lost: look for what it may have made before reporting the failure. */
  private async createOrFind<T> (create: () => Promise<T>, find: (recovery: TenantContext) => Promise<T | undefined>, context: TenantContext): Promise<T> {
    try {
      return await create()
    } catch (error) {
      if (!mayHaveActed(error)) throw error
      // within the request's deadline; when the deadline is what cut the create off, one short
      // look past it (RECOVERY_GRACE_MS) rather than none: Cycle gets what was made, not a retry that makes another
      const spent = context.signal?.aborted === true
      const recovery = AbortSignal.timeout(spent ? Math.min(RECOVERY_GRACE_MS, this.recoveryTimeoutMs) : this.recoveryTimeoutMs)
      const found = await find({ ...context, signal: context.signal === undefined || spent ? recovery : AbortSignal.any([context.signal, recovery]) })
      if (found === undefined) throw error
      return found
    }
  }

  /** A bearer-authenticated call; a 401 drops the cached token and retries once with a fresh one. */
  private async authed (call: Omit<UpstreamCall, 'authorization' | 'signal' | 'trace'>, context: TenantContext): Promise<unknown> {
    const withContext = { ...call, signal: context.signal, trace: context.trace }
    const authorization = await this.tokens.authorization(context.credentials, context.trace, context.signal)
    try {
      return (await this.transport.send({ ...withContext, authorization })).body
    } catch (error) {
      if (!isStatus(error, 401) || context.credentials.kind !== 'oauth') throw error
      this.tokens.invalidate(context.credentials, authorization)
      const fresh = await this.tokens.authorization(context.credentials, context.trace, context.signal)
      return (await this.transport.send({ ...withContext, authorization: fresh })).body
    }
  }

  /**
   * A collection answer: an array whose items must match the schema. With `mustMatch`, an
   * item that does not match is skipped unless `mustMatch` says it is one the adapter needs.
   * `fresh` asks OpenMetal anew instead of joining an identical list already on its way.
   */
  private async list<S extends TSchema> (operation: string, path: string, schema: S, context: TenantContext, options: { fresh?: boolean, mustMatch?: (item: unknown) => boolean } = {}): Promise<Array<Static<S>>> {
    const { mustMatch } = options
    const body = options.fresh === true ? await this.authed({ operation, method: 'GET', path }, context) : await this.sharedGet(operation, path, context)
    if (!Array.isArray(body)) throw new OpenMetalTransportError(operation, 'malformed')
    if (mustMatch === undefined) return body.map((item) => parse(schema, item, operation))
    return body.flatMap((item) => validatorOf(schema).Check(item) ? [item as Static<S>] : mustMatch(item) ? [parse(schema, item, operation)] : [])
  }

  /** Identical concurrent GETs of one tenant share one upstream call. */
  private sharedGet (operation: string, path: string, context: TenantContext): Promise<unknown> {
    const key = `${credentialKey(context.credentials)} ${path}`
    // the shared call is bounded by its attempts' timeouts, not by whichever request started
    // it; every request, the first one too, waits for it within its own deadline
    return withinDeadline(this.lookups.get(key, 0, () => this.authed({ operation, method: 'GET', path }, { ...context, signal: undefined })), context.signal, operation)
  }

  private async cachedPublic<S extends TSchema> (operation: string, path: string, schema: S, context: CallContext): Promise<Static<S>> {
    const value = await this.catalog.get(path, this.catalogTtlMs, async () => {
      const response = await this.transport.send({ operation, method: 'GET', path, signal: context.signal, trace: context.trace })
      return parse(schema, response.body, operation)
    })
    return value as Static<S>
  }
}
