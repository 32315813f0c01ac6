/**
 * The typed OpenMetal client: one method per operation the adapter uses. Policies live
 * here and in the transport, once: bearer tokens and the drop-and-retry-once on 401,
 * each call in its tenant's bulkhead compartment, single-flight of identical lookups (which
 * stop once every caller has left), short caching of the public catalog, whole lists
 * (pagination.ts), and reading every answer for what the routes need (answers.ts, through the
 * tolerant reader). Creates are plain calls here: the workflow that makes a purchase happen
 * at most once (find by label, lease, create, look again) is labelled-writes.ts.
 */
import type { TSchema, Static } from 'typebox'
import { TokenCache, credentialKey } from './auth.ts'
import type { Credentials, TokenCacheObserver } from './auth.ts'
import { openMetalPath } from './transport.ts'
import { OpenMetalHttpError, OpenMetalTransportError } from './errors.ts'
import type { AnswerObserver, OpenMetalTransport, UpstreamCall, UpstreamResponse, UpstreamTrace } from './transport.ts'
import { SharedLookup, withinDeadline } from './shared-lookup.ts'
import { readAllPages, type Listing } from './pagination.ts'
import { kindOfPath, readAnswer, type SkipObserver } from './tolerant-reader.ts'
import { UnreadableAnswer } from './errors.ts'
import {
  AccountProfileAnswer, AddressAnswer, AvailabilityAnswer, CloudAnswer, CloudStatsAnswer, ConfigurationAnswer, CreatedAddressAnswer, OrderAnswer, PodsAnswer,
  PrefixAnswer, ProductsAnswer, TokenAnswer, VlanAnswer, podMapIn, stockIn
} from './answers.ts'
import type * as OM from '../generated/openmetal.ts'
import type { components } from '../generated/openmetal-paths.ts'
import type { Operation } from './operations.ts'

export interface CallContext {
  readonly signal?: AbortSignal | undefined
  readonly trace?: UpstreamTrace[] | undefined
}

export interface TenantContext extends CallContext {
  readonly credentials: Credentials
}

export interface OpenMetalClientOptions {
  readonly catalogTtlMs?: number
  readonly tokenObserver?: TokenCacheObserver
  readonly now?: () => number
  /** sees every OpenMetal answer before it is read (the sandbox drift report); wired into the transport by `createClient` */
  readonly onAnswer?: AnswerObserver
  /** told of every part of an answer skipped because it could not be read (an odd list item, pod, SKU) */
  readonly onSkipped?: SkipObserver
}

export type PowerState = 'power on' | 'power off' | 'rebooting'

/** An address as the allocation hands it on: its numeric ID and its (plain) IPv4 address. */
export interface CreatedAddress {
  readonly id: number
  readonly ip: string
}

/** How long a deployment configuration found at OpenMetal is taken to exist without asking again. */
const CONFIGURATION_TTL_MS = 60_000

/**
 * How long the organisation behind a credential is taken to stay the same without asking again
 * (a credential never changes organisation; the hour bounds what a revoked one keeps).
 */
const ORGANISATION_TTL_MS = 3600_000

/** The bulkhead compartments of calls that are no tenant's (credential keys are 43 base64url characters: no clash). */
const PUBLIC_CATALOG = 'public-catalog'
const READINESS = 'readiness'

/** What of the credentials must never be repeated (in a refusal's text kept for Cycle and the log). */
function secretsOf (credentials: Credentials): string[] {
  return credentials.kind === 'oauth' ? [credentials.secret] : [credentials.apiKey]
}

function isStatus (error: unknown, ...statuses: number[]): error is OpenMetalHttpError {
  return error instanceof OpenMetalHttpError && statuses.includes(error.status)
}

/**
 * Absent (404) is an answer, not a failure, for lookups: the lookup's own 404 only, never one
 * of a call made on its way (a token endpoint answering 404 does not mean the server is gone).
 */
async function orAbsent<T> (operation: Operation, pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending
  } catch (error) {
    if (isStatus(error, 404) && error.operation === operation) return undefined
    throw error
  }
}

/**
 * A `mustRead` for a list searched for one entry: an entry whose `key` is `value`, or whose `key`
 * cannot be told (absent, or neither text nor a number), may be the one sought, so it must be
 * readable (a skipped entry would be taken for an absent one); an entry that plainly names another is not.
 */
export function mayHold (key: string, value: string | number): (item: unknown) => boolean {
  return (item) => {
    if (typeof item !== 'object' || item === null) return false
    const found = (item as Record<string, unknown>)[key]
    return (typeof found !== 'string' && typeof found !== 'number') || String(found) === String(value)
  }
}

/** Whether a listed block may be in `cloudId`: its `fields.cloud_id` names it, or cannot be told (so it may). */
function mayBeIn (item: unknown, cloudId: string): boolean {
  const named = (item as { fields?: { cloud_id?: unknown } } | null)?.fields?.cloud_id
  return typeof named !== 'string' || named === cloudId
}

export class OpenMetalClient {
  private readonly transport: OpenMetalTransport
  private readonly tokens: TokenCache
  private readonly catalog = new SharedLookup<unknown>()
  private readonly lookups = new SharedLookup<unknown>()
  private readonly knownConfigurations = new SharedLookup<true>()
  private readonly organisations = new SharedLookup<string>()
  private readonly catalogTtlMs: number
  private readonly onSkipped: SkipObserver | undefined

  constructor (transport: OpenMetalTransport, options: OpenMetalClientOptions = {}) {
    this.transport = transport
    this.catalogTtlMs = options.catalogTtlMs ?? 60_000
    this.onSkipped = options.onSkipped
    this.tokens = new TokenCache({
      exchange: (credentials, trace, signal) => this.exchangeToken(credentials, trace, signal),
      ...(options.tokenObserver === undefined ? {} : { observer: options.tokenObserver }),
      ...(options.now === undefined ? {} : { now: options.now })
    })
  }

  // Public catalog (no token) -------------------------------------------------------------

  /** pod key -> details */
  locations (context: CallContext): Promise<PodsAnswer> {
    return this.cachedPublic('getLocations', openMetalPath('/v2/inventory/locations', {}), (body) => this.read(PodsAnswer, podMapIn(body), 'getLocations'), context)
  }

  products (context: CallContext): Promise<ProductsAnswer> {
    return this.cachedPublic('getProducts', openMetalPath('/v1/products', {}), (body) => this.read(ProductsAnswer, body, 'getProducts'), context)
  }

  /**
   * SKU -> stock in one pod; `undefined` when OpenMetal refuses to say (a 4xx: a pod it does not
   * stock through this call), reported as a skipped part: one pod left out of the catalog
   * rather than the whole catalog failing. A failure (5xx, no answer) still fails, to be retried.
   */
  async availability (pod: string, context: CallContext): Promise<Record<string, { count: number }> | undefined> {
    try {
      return await this.cachedPublic('getAvailability', openMetalPath('/v2/inventory/{pod_location}/availability', { pod_location: pod }), (body) => stockIn(this.read(AvailabilityAnswer, body, 'getAvailability')), context)
    } catch (error) {
      if (!(isStatus(error, 400, 403, 404, 409, 410, 422) && error.operation === 'getAvailability')) throw error
      this.onSkipped?.({ operation: 'getAvailability', path: `/${pod}`, kind: '/{pod}', problem: `refused with ${error.status}: the pod is left out of the catalog` })
      return undefined
    }
  }

  /** One cheap public call, uncached and unretried: can OpenMetal be reached right now? */
  async reachable (timeoutMs: number): Promise<void> {
    await this.transport.send({ operation: 'probe', method: 'GET', path: openMetalPath('/v2/inventory/locations', {}), idempotent: false, compartment: READINESS, signal: AbortSignal.timeout(timeoutMs) })
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

  /**
   * The OpenMetal organisation the credentials act for (its account UUID): the same for every
   * credential of one organisation, OAuth client or API key, and known only once OpenMetal
   * accepted them. Leases on purchases are keyed by it, so no tenant can name another's.
   */
  async organisation (context: TenantContext): Promise<string> {
    const key = credentialKey(context.credentials)
    return await this.joined(this.organisations, key, ORGANISATION_TTL_MS, 'getAccountProfile', context, async (signal) => {
      const response = await this.authed({ operation: 'getAccountProfile', method: 'GET', path: openMetalPath('/v1/accounts/profile', {}) }, { ...context, signal })
      return this.read(AccountProfileAnswer, response.body, 'getAccountProfile').account_uuid
    })
  }

  // Deployment configurations -------------------------------------------------------------

  /**
   * Every deployment configuration of the organisation (all pages). One that cannot be read
   * is skipped, unless `mustRead` says it is one the caller depends on (the one it looks for
   * by label). `fresh` asks OpenMetal anew instead of joining an identical list on its way.
   */
  listConfigurations (context: TenantContext, options: { fresh?: boolean, mustRead?: (item: unknown) => boolean } = {}): Promise<Listing<ConfigurationAnswer>> {
    return this.list('listConfigurations', openMetalPath('/v1/configurations', {}), ConfigurationAnswer, context, options)
  }

  getConfiguration (configurationId: string, context: TenantContext): Promise<ConfigurationAnswer | undefined> {
    return orAbsent('getConfiguration', this.sharedGet('getConfiguration', openMetalPath('/v1/configurations/{configurationId}', { configurationId }), context)
      .then((body) => this.read(ConfigurationAnswer, body, 'getConfiguration')))
  }

  /**
   * Whether the organisation has this deployment configuration: asked before buying (a wrong
   * ID is otherwise found out only when OpenMetal refuses the order). A yes is remembered for
   * a minute per tenant; a no is asked again.
   */
  async hasConfiguration (configurationId: string, context: TenantContext): Promise<boolean> {
    const key = `${credentialKey(context.credentials)} ${configurationId}`
    if (this.knownConfigurations.peek(key) === true) return true
    if (await this.getConfiguration(configurationId, context) === undefined) return false
    this.knownConfigurations.remember(key, true, CONFIGURATION_TTL_MS)
    return true
  }

  /** Creates a configuration; never repeated (labelled-writes.ts looks for it after a lost answer). */
  async createConfiguration (request: OM.CreateImageConfigRequest, context: TenantContext): Promise<ConfigurationAnswer> {
    const response = await this.authed({ operation: 'createConfiguration', method: 'POST', path: openMetalPath('/v1/configurations', {}), body: request, idempotent: false }, context)
    return this.read(ConfigurationAnswer, response.body, 'createConfiguration')
  }

  /**
   * Changes a configuration: OpenMetal merges `change.fields` into its fields, then validates
   * the result as a whole. Sending the same change twice leaves the same configuration.
   */
  async updateConfiguration (configurationId: string, change: Omit<components['schemas']['UpdateImageConfigRequest'], 'id'>, context: TenantContext): Promise<ConfigurationAnswer> {
    const response = await this.authed({
      operation: 'updateConfiguration',
      method: 'PATCH',
      path: openMetalPath('/v1/configurations/{configurationId}', { configurationId }),
      body: { id: configurationId, ...change } satisfies components['schemas']['UpdateImageConfigRequest'],
      idempotent: true
    }, context)
    return this.read(ConfigurationAnswer, response.body, 'updateConfiguration')
  }

  // Orders ---------------------------------------------------------------------------------

  /**
   * Every order of the organisation (all pages). The organisation's other orders (bought in
   * the portal, of kinds the spec does not know) are not this adapter's business: one that
   * cannot be read is skipped, unless `mustRead` says it is one the caller depends on.
   * `fresh` asks OpenMetal anew instead of joining an identical list already on its way.
   */
  listOrders (context: TenantContext, options: { fresh?: boolean, mustRead?: (item: unknown) => boolean } = {}): Promise<Listing<OrderAnswer>> {
    return this.list('listOrders', openMetalPath('/v1/orders', {}), OrderAnswer, context, options)
  }

  getOrder (orderId: string, context: TenantContext): Promise<OrderAnswer | undefined> {
    return orAbsent('getOrder', this.sharedGet('getOrder', openMetalPath('/v1/orders/{orderId}', { orderId }), context)
      .then((body) => this.read(OrderAnswer, body, 'getOrder')))
  }

  /** Places an order; never repeated (labelled-writes.ts looks for it after a lost answer). */
  async createOrder (order: OM.OrderRequest, context: TenantContext): Promise<OrderAnswer> {
    const response = await this.authed({ operation: 'createOrder', method: 'POST', path: openMetalPath('/v1/orders', {}), body: order, idempotent: false }, context)
    return this.read(OrderAnswer, response.body, 'createOrder')
  }

  // Clouds ---------------------------------------------------------------------------------

  listClouds (context: TenantContext): Promise<Listing<CloudAnswer>> {
    return this.list('listClouds', openMetalPath('/v1/clouds', {}), CloudAnswer, context)
  }

  getCloud (cloudId: string, context: TenantContext): Promise<CloudAnswer | undefined> {
    return orAbsent('getCloud', this.sharedGet('getCloud', openMetalPath('/v1/clouds/{cloudId}', { cloudId }), context)
      .then((body) => this.read(CloudAnswer, body, 'getCloud')))
  }

  getCloudStats (cloudId: string, context: TenantContext): Promise<CloudStatsAnswer | undefined> {
    return orAbsent('getCloudStats', this.sharedGet('getCloudStats', openMetalPath('/v1/clouds/{cloudId}/stats', { cloudId }), context)
      .then((body) => this.read(CloudStatsAnswer, body, 'getCloudStats')))
  }

  /** 'deleted' when this call deleted it, 'gone' when there was nothing to delete. */
  async deleteCloud (cloudId: string, context: TenantContext): Promise<'deleted' | 'gone'> {
    const done = await orAbsent('deleteCloud', this.authed({ operation: 'deleteCloud', method: 'DELETE', path: openMetalPath('/v1/clouds/{cloudId}', { cloudId }) }, context))
    return done === undefined ? 'gone' : 'deleted'
  }

  /** Asks for a power action; OpenMetal's answer says nothing the adapter needs, so it is not read. */
  async setPower (cloudId: string, nodeUuid: string, state: PowerState, context: TenantContext): Promise<void> {
    await this.authed({
      operation: 'setPowerState',
      method: 'POST',
      path: openMetalPath('/v1/deployment/cloud/{cloudId}/node/{nodeUuid}/power', { cloudId, nodeUuid }),
      body: { power_state: state } satisfies OM.PowerStateRequest,
      // asking twice for a reboot is no worse than asking once
      idempotent: true
    }, context)
  }

  // IP addresses ---------------------------------------------------------------------------

  /**
   * The organisation's IP blocks (all pages), or with `cloudId` that cloud's only. A block
   * that cannot be read is skipped.
   */
  async listPrefixes (context: TenantContext, options: { cloudId?: string, fresh?: boolean, mustRead?: (item: unknown) => boolean } = {}): Promise<Listing<PrefixAnswer>> {
    const { cloudId } = options
    // with a cloud, only an entry that may be in it is one the caller can depend on
    const mustRead = options.mustRead === undefined || cloudId === undefined ? options.mustRead : (item: unknown): boolean => mayBeIn(item, cloudId) && options.mustRead?.(item) === true
    const listing = await this.list('listPrefixes', openMetalPath('/v1/prefixes', {}), PrefixAnswer, context, { fresh: options.fresh === true, ...(mustRead === undefined ? {} : { mustRead }) })
    return cloudId === undefined ? listing : { ...listing, items: listing.items.filter((prefix) => prefix.fields.cloud_id === cloudId) }
  }

  /**
   * A block's addresses (its prefix as the network sees it), one by one: an entry that cannot be
   * read is skipped, unless `mustRead` says the caller depends on it; `undefined` when the block
   * is gone. `fresh` asks anew rather than joining a read already on its way (which may predate
   * a create being looked for, or addresses others took since).
   */
  async addresses (prefixId: string, context: TenantContext, options: { fresh?: boolean, mustRead?: (item: unknown) => boolean } = {}): Promise<Listing<AddressAnswer> | undefined> {
    const path = openMetalPath('/v1/deployment/network/prefix/{prefixId}', { prefixId })
    const read = options.fresh === true
      ? this.authed({ operation: 'getPrefixAddresses', method: 'GET', path }, context).then((response) => response.body)
      : this.sharedGet('getPrefixAddresses', path, context)
    const body = await orAbsent('getPrefixAddresses', read)
    if (body === undefined) return undefined
    const entries = (body as { ip_addrs?: unknown } | null)?.ip_addrs ?? []
    if (!Array.isArray(entries)) throw new OpenMetalTransportError('getPrefixAddresses', 'malformed', new UnreadableAnswer('/ip_addrs', 'is not a list'))
    return { items: this.readItems('getPrefixAddresses', AddressAnswer, entries, options.mustRead, '/ip_addrs'), incomplete: undefined }
  }

  /** Creates an address in a block; never repeated (labelled-writes.ts looks for it after a lost answer). */
  async createIpAddress (prefixId: string, request: OM.CreateIpAddressRequest & { label: string }, context: TenantContext): Promise<CreatedAddress> {
    const response = await this.authed({
      operation: 'createIpAddress',
      method: 'POST',
      path: openMetalPath('/v1/deployment/network/prefixes/{prefixId}/ip', { prefixId }),
      body: request,
      idempotent: false
    }, context)
    return this.read(CreatedAddressAnswer, response.body, 'createIpAddress')
  }

  // IP blocks (bought) ------------------------------------------------------------------------

  /** The organisation's VLANs (all pages, always read fresh: a purchase is decided on them). */
  listVlans (context: TenantContext): Promise<Listing<VlanAnswer>> {
    return this.list('listVlans', openMetalPath('/v1/vlans', {}), VlanAnswer, context, { fresh: true })
  }

  /** Buys an IP block; never repeated (labelled-writes.ts looks for it after a lost answer). */
  async createPrefix (request: OM.PrefixCreateRequest & { label: string }, context: TenantContext): Promise<PrefixAnswer> {
    const response = await this.authed({ operation: 'createPrefix', method: 'POST', path: openMetalPath('/v1/prefixes', {}), body: request, idempotent: false }, context)
    return this.read(PrefixAnswer, response.body, 'createPrefix')
  }

  /** Puts a block on a VLAN (where its addresses route). */
  async assignBlock (vlanId: string, prefixId: string, context: TenantContext): Promise<void> {
    await this.authed({ operation: 'assignPrefix', method: 'POST', path: openMetalPath('/v1/vlans/{vlanId}/prefixes/{prefixId}', { vlanId, prefixId }) }, context)
  }

  /**
   * Takes a bought block off its VLAN and deletes it, so it stops billing ('gone' when there
   * was nothing to delete). OpenMetal refuses while an address in it is in use.
   */
  async releaseBlock (block: PrefixAnswer, context: TenantContext): Promise<'deleted' | 'gone'> {
    const vlanId = block.fields.central_vlan_id
    if (vlanId !== undefined) {
      await orAbsent('unassignPrefix', this.authed({ operation: 'unassignPrefix', method: 'DELETE', path: openMetalPath('/v1/vlans/{vlanId}/prefixes/{prefixId}', { vlanId, prefixId: block.id }) }, context))
    }
    const done = await orAbsent('deletePrefix', this.authed({ operation: 'deletePrefix', method: 'DELETE', path: openMetalPath('/v1/prefixes/{prefixId}', { prefixId: block.id }) }, context))
    return done === undefined ? 'gone' : 'deleted'
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

  private read<S extends TSchema> (schema: S, body: unknown, operation: Operation): Static<S> {
    try {
      return readAnswer(schema, body, operation, this.onSkipped)
    } catch (error) {
      if (error instanceof UnreadableAnswer) throw new OpenMetalTransportError(operation, 'malformed', error)
      throw error
    }
  }

  private async exchangeToken (credentials: Credentials & { kind: 'oauth' }, trace?: UpstreamTrace[], signal?: AbortSignal): Promise<{ accessToken: string, expiresInSeconds: number }> {
    const basic = Buffer.from(`${credentials.clientId}:${credentials.secret}`).toString('base64')
    const response = await this.transport.send({
      operation: 'exchangeToken',
      method: 'GET',
      path: openMetalPath('/v1/oauth2/token', {}),
      query: { grant_type: 'client_credentials' },
      authorization: `Basic ${basic}`,
      secrets: secretsOf(credentials),
      compartment: credentialKey(credentials),
      signal,
      trace
    })
    const token = this.read(TokenAnswer, response.body, 'exchangeToken')
    return { accessToken: token.access_token, expiresInSeconds: token.expires_in }
  }

  /** A bearer-authenticated call; a 401 drops the cached token and retries once with a fresh one. */
  private async authed (call: Omit<UpstreamCall, 'authorization' | 'signal' | 'trace'>, context: TenantContext): Promise<UpstreamResponse> {
    const withContext = { ...call, signal: context.signal, trace: context.trace, secrets: secretsOf(context.credentials), compartment: credentialKey(context.credentials) }
    const authorization = await this.tokens.authorization(context.credentials, context.trace, context.signal)
    try {
      return await this.transport.send({ ...withContext, authorization })
    } catch (error) {
      if (!isStatus(error, 401) || context.credentials.kind !== 'oauth') throw error
      this.tokens.invalidate(context.credentials, authorization)
      const fresh = await this.tokens.authorization(context.credentials, context.trace, context.signal)
      return await this.transport.send({ ...withContext, authorization: fresh })
    }
  }

  /**
   * A collection, every page of it, read item by item: an item that cannot be read is
   * skipped (and reported), unless `mustRead` says the caller depends on it.
   */
  private async list<S extends TSchema> (operation: Operation, path: string, schema: S, context: TenantContext, options: { fresh?: boolean, mustRead?: (item: unknown) => boolean } = {}): Promise<Listing<Static<S>>> {
    const raw = options.fresh === true
      ? await this.allPages(operation, path, context)
      : await this.joined(this.lookups, `${credentialKey(context.credentials)} ${path}`, 0, operation, context, async (signal) => await this.allPages(operation, path, { ...context, signal }))
    return { items: this.readItems(operation, schema, raw.items, options.mustRead), incomplete: raw.incomplete }
  }

  /** The items of a list, one by one: one that cannot be read is skipped (and reported), unless `mustRead` says the caller depends on it. */
  private readItems<S extends TSchema> (operation: Operation, schema: S, raw: readonly unknown[], mustRead: ((item: unknown) => boolean) | undefined, at = ''): Array<Static<S>> {
    const items: Array<Static<S>> = []
    for (const [index, item] of raw.entries()) {
      try {
        items.push(readAnswer(schema, item, operation, this.onSkipped))
      } catch (error) {
        if (!(error instanceof UnreadableAnswer)) throw error
        const where = new UnreadableAnswer(`${at}/${index}${error.field}`, error.problem)
        if (mustRead?.(item) === true) throw new OpenMetalTransportError(operation, 'malformed', where)
        this.onSkipped?.({ operation, path: where.field, kind: `${at}/[]${kindOfPath(error.field)}`, problem: where.problem })
      }
    }
    return items
  }

  private async allPages (operation: Operation, path: string, context: TenantContext): Promise<Listing<unknown>> {
    const listing = await readAllPages({ path, query: {} }, this.transport.origin, async (page) => await this.authed({ operation, method: 'GET', path: page.path, query: page.query }, context))
    if (listing === undefined) throw new OpenMetalTransportError(operation, 'malformed', new UnreadableAnswer('', 'is not a list'))
    return listing
  }

  /** Identical concurrent GETs of one tenant share one upstream call. */
  private sharedGet (operation: Operation, path: string, context: TenantContext): Promise<unknown> {
    const key = `${credentialKey(context.credentials)} ${path}`
    return this.joined(this.lookups, key, 0, operation, context, async (signal) => (await this.authed({ operation, method: 'GET', path }, { ...context, signal })).body)
  }

  /** The public catalog, shared by every tenant, in a compartment of its own. */
  private async cachedPublic<T> (operation: Operation, path: string, read: (body: unknown) => T, context: CallContext): Promise<T> {
    return await this.joined(this.catalog, path, this.catalogTtlMs, operation, context, async (signal) => {
      const response = await this.transport.send({ operation, method: 'GET', path, compartment: PUBLIC_CATALOG, signal, trace: context.trace })
      return read(response.body)
    })
  }

  /**
   * A shared call joined by one request: the call runs on its own signal, which aborts when
   * every request that joined it has left (so no attempt or retry starts for no one), and
   * this request waits for it at most until its own deadline.
   */
  private async joined<T> (lookup: SharedLookup<unknown>, key: string, ttlMs: number, operation: Operation, context: CallContext, load: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return await withinDeadline(lookup.get(key, ttlMs, load, context.signal), context.signal, operation) as T
  }
}
