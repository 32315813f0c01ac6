/**
 * Writes that must happen at most once. OpenMetal has no conditional create and no idempotency
 * key, and what the adapter makes costs money (a server bills 30 days), so every such write
 * follows one workflow, here and nowhere else:
 *
 * - what a need calls for carries a label, and is looked for by that label on a fresh, whole
 *   list (`findLabelled`): an item carrying the label must be readable, and a list that may be
 *   incomplete refuses, since the missing part may hold it;
 * - a purchase (a server's order, a server's bought IP block) is made under a lease on the need
 *   (coordination/), keyed by the organisation, the Cycle hub and the Cycle server, and the
 *   label is looked for again once the lease is held (someone may have bought meanwhile);
 * - a create whose answer was lost is looked for by its label before anyone answers; found, it
 *   is the answer; not found, the write is possibly done: its lease is kept until it lapses, so
 *   a retry waits instead of buying blind, and looks for the label first when it may go on;
 * - an address whose create may have acted but that Cycle never got is looked for a few times
 *   more and deleted when found (addresses need no lease: each allocation has its own label).
 */
import { Leases } from '../coordination/leases.ts'
import type { ConfigurationAnswer, AddressAnswer, OrderAnswer, PrefixAnswer } from './answers.ts'
import type { CreatedAddress, OpenMetalClient, TenantContext } from './client.ts'
import type * as OM from '../generated/openmetal.ts'
import type { Listing } from './pagination.ts'
import type { Operation } from './operations.ts'
import { canonicalOrder, oldest, standsForServer } from './orders.ts'
import { OpenMetalIncompleteListError, OpenMetalUnsettledWriteError, isRefusal, mayHaveActed, nothingDone, type OpenMetalHttpError } from './errors.ts'

/** What of the client the workflow uses (unit tests drive it with a fake). */
export type WriteClient = Pick<OpenMetalClient,
  'organisation' | 'listOrders' | 'listPrefixes' | 'listConfigurations' | 'addresses' |
  'createOrder' | 'createPrefix' | 'createConfiguration' | 'createIpAddress' | 'deleteIp' | 'releaseBlock'>

/** Whose need a purchase meets: a Cycle server of a Cycle hub. */
export interface Owner {
  readonly hubId: string
  readonly cycleServerId: string
}

/** What became of an address whose create may have acted but was never handed to Cycle. */
export interface CleanupEvent {
  readonly prefixId: string
  readonly outcome: 'deleted' | 'not-found' | 'failed'
}

export interface LabelledWritesOptions {
  /** longest look for what a create whose answer was lost may have made (the request deadline bounds it too) */
  readonly recoveryTimeoutMs?: number
  /** told how the clean-up of an address Cycle never heard of ended */
  readonly onCleanup?: (event: CleanupEvent) => void
  /** waits before each look of that clean-up (default 5 s, 20 s, 60 s) */
  readonly cleanupDelaysMs?: readonly number[]
}

/** How long the look for a lost create may run past the request's deadline, when that deadline cut the create off. */
export const RECOVERY_GRACE_MS = 3000

/** A collection in which labelled things are looked for. */
export interface LabelledSource<T> {
  /** the list operation, named when the list cannot be read whole */
  readonly operation: Operation
  /** a fresh, whole read, which fails on an item it cannot read for which `mustRead` holds; undefined when the collection is gone */
  read (context: TenantContext, mustRead: (item: unknown) => boolean): Promise<Listing<T> | undefined>
}

interface Labelled { readonly label?: string | undefined }

/** The label of a list entry read as it came (before the tolerant reader), when it has a text one: what `mustRead` predicates look at. */
export function labelOf (item: unknown): string | undefined {
  const label = typeof item === 'object' && item !== null ? (item as { label?: unknown }).label : undefined
  return typeof label === 'string' ? label : undefined
}

/** Everything in `source` carrying `label`, from a fresh, whole read; a list that may be incomplete refuses. */
export async function findLabelled<T extends Labelled> (source: LabelledSource<T>, label: string, context: TenantContext): Promise<T[]> {
  const listing = await source.read(context, (item) => labelOf(item) === label)
  if (listing === undefined) return []
  if (listing.incomplete !== undefined) throw new OpenMetalIncompleteListError(source.operation, listing.incomplete)
  return listing.items.filter((item) => item.label === label)
}

/** The collections labelled things live in. */
export const sources = {
  orders: (client: Pick<WriteClient, 'listOrders'>): LabelledSource<OrderAnswer> => ({ operation: 'listOrders', read: (context, mustRead) => client.listOrders(context, { fresh: true, mustRead }) }),
  blocks: (client: Pick<WriteClient, 'listPrefixes'>): LabelledSource<PrefixAnswer> => ({ operation: 'listPrefixes', read: (context, mustRead) => client.listPrefixes(context, { fresh: true, mustRead }) }),
  configurations: (client: Pick<WriteClient, 'listConfigurations'>): LabelledSource<ConfigurationAnswer> => ({ operation: 'listConfigurations', read: (context, mustRead) => client.listConfigurations(context, { fresh: true, mustRead }) }),
  addresses: (client: Pick<WriteClient, 'addresses'>, prefixId: string): LabelledSource<AddressAnswer> => ({ operation: 'getPrefixAddresses', read: (context, mustRead) => client.addresses(prefixId, context, { fresh: true, mustRead }) })
}

/**
 * A create that may act without our hearing of it: after a lost, failed (5xx) or unreadable
 * answer, what it may have made is looked for before answering; found, it is the answer; not
 * found (or the look failed), the caller hears OpenMetalUnsettledWriteError, never a second create.
 */
export async function createOrFind<T> (operation: Operation, create: () => Promise<T>, find: (recovery: TenantContext) => Promise<T | undefined>, context: TenantContext, recoveryTimeoutMs: number): Promise<T> {
  try {
    return await create()
  } catch (error) {
    if (!mayHaveActed(error)) throw error
    // within the request's deadline; when the deadline (or the caller leaving) is what cut the
    // create off, one short look past it rather than none: the answer is what was made, not a retry that makes another
    const spent = context.signal?.aborted === true
    const recovery = AbortSignal.timeout(spent ? Math.min(RECOVERY_GRACE_MS, recoveryTimeoutMs) : recoveryTimeoutMs)
    let found: T | undefined
    try {
      found = await find({ ...context, signal: context.signal === undefined || spent ? recovery : AbortSignal.any([context.signal, recovery]) })
    } catch (lookFailed) {
      throw new OpenMetalUnsettledWriteError(operation, new AggregateError([error, lookFailed]))
    }
    if (found === undefined) throw new OpenMetalUnsettledWriteError(operation, error)
    return found
  }
}

/** Creates a deployment configuration whose label the caller found free, looked for after a lost answer (ial-setup). */
export async function createConfigurationOnce (client: Pick<WriteClient, 'createConfiguration' | 'listConfigurations'>, request: OM.CreateImageConfigRequest, context: TenantContext, recoveryTimeoutMs: number): Promise<ConfigurationAnswer> {
  return await createOrFind('createConfiguration', () => client.createConfiguration(request, context),
    async (recovery) => (await findLabelled(sources.configurations(client), request.label, recovery))[0], context, recoveryTimeoutMs)
}

export class LabelledWrites {
  private readonly client: WriteClient
  private readonly leases: Leases
  private readonly recoveryTimeoutMs: number
  private readonly onCleanup: ((event: CleanupEvent) => void) | undefined
  private readonly cleanupDelaysMs: readonly number[]
  /** ends the clean-ups still waiting when the process closes */
  private readonly closing = new AbortController()

  constructor (client: WriteClient, leases: Leases, options: LabelledWritesOptions = {}) {
    this.client = client
    this.leases = leases
    this.recoveryTimeoutMs = options.recoveryTimeoutMs ?? 10_000
    this.onCleanup = options.onCleanup
    this.cleanupDelaysMs = options.cleanupDelaysMs ?? [5_000, 20_000, 60_000]
  }

  /**
   * The order standing for this tag's server, if any (the oldest when there are several:
   * `canonicalOrder`). No lease: finding is what a retried provision does most.
   */
  async findOrder (tag: string, context: TenantContext): Promise<OrderAnswer | undefined> {
    return canonicalOrder(await findLabelled(sources.orders(this.client), tag, context), tag)
  }

  /** Every order carrying this tag that stands for a server: the one Cycle knows and any duplicate. */
  async ordersTagged (tag: string, context: TenantContext): Promise<OrderAnswer[]> {
    return (await findLabelled(sources.orders(this.client), tag, context)).filter(standsForServer)
  }

  /**
   * The order for `order.label`, bought at most once: under the owner's order lease it is looked
   * for again, bought only when absent, found again after a lost answer, and read back after
   * buying (so that every replica answers with the same one, should OpenMetal hold two).
   */
  async buyOrder (order: OM.OrderRequest, owner: Owner, context: TenantContext): Promise<OrderAnswer> {
    return await this.leased(['order', owner], context, async (create) => {
      const existing = await this.findOrder(order.label, context)
      if (existing !== undefined) return existing
      const created = await create('createOrder', () => this.client.createOrder(order, context), (recovery) => this.findOrder(order.label, recovery))
      try {
        return (await this.findOrder(order.label, context)) ?? created
      } catch {
        // bought; a failed second look only means no other order with this tag is known
        return created
      }
    })
  }

  /**
   * The IP block for `request.label`, bought at most once (as `buyOrder`), under the owner's
   * block lease. Should OpenMetal hold two with the label, every replica answers with the oldest,
   * and a block this call bought that is not that one is given back at once (new, empty, never handed to Cycle).
   */
  async buyBlock (request: OM.PrefixCreateRequest & { label: string }, owner: Owner, context: TenantContext): Promise<PrefixAnswer> {
    const find = async (recovery: TenantContext): Promise<PrefixAnswer | undefined> => oldest(await findLabelled(sources.blocks(this.client), request.label, recovery))
    return await this.leased(['block', owner], context, async (create) => {
      const existing = await find(context)
      if (existing !== undefined) return existing
      const created = await create('createPrefix', () => this.client.createPrefix(request, context), find)
      let standing = created
      try {
        standing = (await find(context)) ?? created
      } catch {
        // bought; a failed second look only means no other block with this label is known
      }
      if (standing.id !== created.id) await this.client.releaseBlock(created, context).catch(() => undefined)
      return standing
    })
  }

  /**
   * A new address in the block, or OpenMetal's refusal (any 4xx but 401 and 429: the block is
   * not usable now). Never blindly repeated: after a refusal, a lost or an unreadable answer,
   * the address's (unique) label is looked for; one found is returned. When a create that may
   * have acted is not found, OpenMetalUnsettledWriteError goes to the caller and the address is
   * cleaned up later should it turn up (Cycle never hears of it).
   */
  async createAddress (prefixId: string, request: OM.CreateIpAddressRequest & { label: string }, context: TenantContext): Promise<{ created: CreatedAddress } | { refused: OpenMetalHttpError }> {
    const find = (recovery: TenantContext): Promise<CreatedAddress | undefined> => this.addressLabelled(prefixId, request.label, recovery)
    try {
      return { created: await createOrFind('createIpAddress', () => this.client.createIpAddress(prefixId, request, context), find, context, this.recoveryTimeoutMs) }
    } catch (error) {
      if (error instanceof OpenMetalUnsettledWriteError) this.cleanUpLater(prefixId, request.label, context)
      // refused: a known outcome, nothing was made (the caller reads the block anyway, to tell a full one)
      if (!isRefusal(error)) throw error
      return { refused: error }
    }
  }

  close (): void {
    this.closing.abort()
  }

  private async addressLabelled (prefixId: string, label: string, context: TenantContext): Promise<CreatedAddress | undefined> {
    const found = (await findLabelled(sources.addresses(this.client, prefixId), label, context))[0]
    return found?.id === undefined ? undefined : { id: found.id, ip: found.ip }
  }

  /**
   * Runs `work` holding the owner's lease for `need`. The lease is keyed by the organisation
   * the credentials act for (asked of OpenMetal, so only credentials it accepted take one), the
   * hub and the Cycle server: another tenant can never name it, and an OAuth client and an API
   * key of one organisation name the same. It is given back once the outcome is known, and kept
   * until it lapses when a create was sent whose outcome is not.
   */
  private async leased<T> (need: readonly ['order' | 'block', Owner], context: TenantContext, work: (create: <C>(operation: Operation, create: () => Promise<C>, find: (recovery: TenantContext) => Promise<C | undefined>) => Promise<C>) => Promise<T>): Promise<T> {
    const [kind, owner] = need
    const organisation = await this.client.organisation(context)
    const lease = await this.leases.acquire(Leases.key(kind, organisation, owner.hubId, owner.cycleServerId), context.signal)
    let settled = true
    try {
      return await work(async (operation, create, find) => {
        try {
          return await createOrFind(operation, create, find, context, this.recoveryTimeoutMs)
        } catch (error) {
          settled = nothingDone(error)
          throw error
        }
      })
    } finally {
      // given back without holding up the answer: whoever comes next finds what was bought by its
      // label before asking for the lease, and a release that fails only lets the lease lapse
      if (settled) void this.leases.release(lease)
      else this.leases.keep(lease)
    }
  }

  /**
   * An address whose create may have acted but that Cycle was never given: looked for a few
   * times over the next minute and deleted when found, so it neither bills nor fills the block.
   * Process state it can lose: a replica stopped meanwhile leaves it to `ial-inventory`, which
   * lists it as an orphaned IP.
   */
  private cleanUpLater (prefixId: string, label: string, context: TenantContext): void {
    const run = async (): Promise<CleanupEvent['outcome']> => {
      for (const delay of this.cleanupDelaysMs) {
        await new Promise((resolve) => setTimeout(resolve, delay).unref())
        if (this.closing.signal.aborted) return 'failed'
        const look = { credentials: context.credentials, signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.recoveryTimeoutMs)]) }
        try {
          const found = await this.addressLabelled(prefixId, label, look)
          if (found !== undefined) {
            await this.client.deleteIp(prefixId, found.id, look)
            return 'deleted'
          }
        } catch {
          // OpenMetal still unreachable: the next look may do
        }
      }
      return 'not-found'
    }
    run().then((outcome) => this.onCleanup?.({ prefixId, outcome }), () => this.onCleanup?.({ prefixId, outcome: 'failed' }))
  }
}
