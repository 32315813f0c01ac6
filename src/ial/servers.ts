/**
 * Finding a Cycle server's OpenMetal resources again from what Cycle sends back (the
 * server_id token, `extra`), and refusing to act on anything the calling hub does not own.
 * The only process state is caches of facts that never change once true: an order's cloud,
 * a cloud's node, and that a cloud finished deploying. They spare OpenMetal calls (a status
 * poll while provisioning costs the order alone); losing them costs a call, never an answer.
 */
import type { CloudAnswer, CloudStatsAnswer, OrderAnswer } from '../openmetal/answers.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import { SharedLookup } from '../openmetal/shared-lookup.ts'
import { cycleTag, serverIdCodec, type ServerRef } from '../mapping/identifiers.ts'
import { deployedCloud } from '../mapping/provision-status.ts'
import { Errors } from '../errors.ts'
import type { IalCall } from './context.ts'

export interface OwnedServer {
  readonly ref: ServerRef
  readonly order: OrderAnswer
  readonly cloudId: string | undefined
  /**
   * With `withCloud`, whenever the cloud ID is known: the cloud, or `null` when OpenMetal
   * answered that it has no such cloud; `undefined` when it was not asked for.
   */
  readonly cloud?: CloudAnswer | null | undefined
  readonly stats?: CloudStatsAnswer | undefined
}

export interface ServerQuery {
  readonly serverId: string
  readonly cycleServerId: string | undefined
  readonly extra?: Record<string, unknown> | null | undefined
  /**
   * Also the cloud and its stats, once the order says the cloud is complete (before that the
   * order alone says "not yet"; `cloud` stays undefined).
   */
  readonly withCloud?: boolean
}

const CLOUD_ID = /^[A-Za-z0-9_-]{1,64}$/
const FACT_TTL_MS = 24 * 3600_000

export function decodeServerId (token: string, source = '/request/server_id'): ServerRef {
  const ref = serverIdCodec.decode(token)
  if (ref === undefined) throw Errors.invalidArgument({ detail: 'server_id was not issued by this adapter', source })
  return ref
}

/**
 * The cloud an order names, refused when OpenMetal's record of it names another order: the
 * two records disagree, and a cloud that may be another order's is neither shown as this
 * server nor deleted with it (503, nothing done, until OpenMetal's records agree).
 */
export function cloudOfOrder (order: OrderAnswer, cloud: CloudAnswer | undefined): CloudAnswer | undefined {
  const claimed = cloud?.fields?.order_id
  if (claimed === undefined || claimed === order.id) return cloud
  throw Errors.notReady({
    detail: `OpenMetal's order ${order.id} names cloud ${cloud?.id ?? '(no ID)'}, but the cloud's own record says it belongs to order ${claimed}: nothing is done with it until OpenMetal's records agree`,
    retryAfter: 60
  })
}

function stringIn (extra: Record<string, unknown> | null | undefined, key: string, pattern: RegExp): string | undefined {
  const value = extra?.[key]
  return typeof value === 'string' && pattern.test(value) ? value : undefined
}

export class ServerDirectory {
  private readonly client: OpenMetalClient
  private readonly cloudOfOrder = new SharedLookup<string>()
  private readonly nodeOfCloud = new SharedLookup<string>()
  /** clouds seen complete: their order, cloud and stats are then asked for together */
  private readonly completeClouds = new SharedLookup<true>()

  constructor (client: OpenMetalClient) {
    this.client = client
  }

  /**
   * The order behind a server_id, checked against the calling hub and Cycle server. With
   * `withCloud`, the cloud and its stats are fetched in the same round trip when the cloud
   * ID is already known (token, extra or cache).
   */
  async owned (call: IalCall, input: ServerQuery): Promise<OwnedServer> {
    const server = await this.lookup(call, input)
    if (server === undefined) throw Errors.serverNotFound({ detail: 'OpenMetal has no order for this server_id', source: '/request/server_id' })
    return server
  }

  /** Like `owned`, but an order OpenMetal no longer has is `undefined` (for deletes: already gone). */
  ownedOrGone (call: IalCall, input: ServerQuery): Promise<OwnedServer | undefined> {
    return this.lookup(call, input)
  }

  /**
   * The node of the server's cloud, when this replica learnt it from OpenMetal's stats (never
   * from what the caller sends: a node named by the caller could be another server's).
   */
  knownNode (cloudId: string): string | undefined {
    return this.nodeOfCloud.peek(cloudId)
  }

  /** Records the node of a cloud (one node per cloud, for the cloud's life). */
  rememberNode (cloudId: string, nodeUuid: string): void {
    this.nodeOfCloud.remember(cloudId, nodeUuid, FACT_TTL_MS)
  }

  /**
   * The server's cloud as far as it is known without asking OpenMetal (the token, `extra`,
   * this replica's cache): for reads started alongside the order. Only `owned` says whose
   * it is; nothing may be written on a hint.
   */
  cloudHint (input: ServerQuery): string | undefined {
    const ref = decodeServerId(input.serverId)
    return ref.cloudId ?? stringIn(input.extra, 'cloud_id', CLOUD_ID) ?? this.cloudOfOrder.peek(ref.orderId)
  }

  private async lookup (call: IalCall, input: ServerQuery): Promise<OwnedServer | undefined> {
    const ref = decodeServerId(input.serverId)
    const hint = this.cloudHint(input)
    // a cloud already seen complete is fetched alongside its order: one round trip
    const early = input.withCloud === true && hint !== undefined && this.completeClouds.peek(hint) === true
    // the early reads are a guess from what the caller sent: one that fails only means no guess,
    // and the order's own cloud is read below (a hint naming someone else's cloud fails nothing)
    let guessFailed = false
    const guess = async <T>(read: () => Promise<T>): Promise<T | undefined> => await read().catch(() => { guessFailed = true; return undefined })
    const [order, cloud, stats] = await Promise.all([
      this.client.getOrder(ref.orderId, call),
      early ? guess(() => this.client.getCloud(hint, call)) : undefined,
      early ? guess(() => this.client.getCloudStats(hint, call)) : undefined
    ])
    if (order === undefined) return undefined
    if (!this.belongs(order, call.hubId, input.cycleServerId)) {
      throw Errors.serverNotFound({ detail: 'no server with this server_id belongs to this hub', source: '/request/server_id' })
    }
    const deployed = deployedCloud(order)
    const cloudId = deployed?.id
    if (cloudId !== undefined) this.cloudOfOrder.remember(ref.orderId, cloudId, FACT_TTL_MS)
    const matches = early && !guessFailed && cloudId === hint && (cloud?.fields?.order_id === undefined || cloud.fields.order_id === order.id)
    if (matches) return this.withFacts({ ref, order, cloudId, cloud: cloud ?? null, stats })
    if (input.withCloud === true && cloudId !== undefined && deployed?.status === 'complete') {
      const [lateCloud, lateStats] = await Promise.all([this.client.getCloud(cloudId, call), this.client.getCloudStats(cloudId, call)])
      return this.withFacts({ ref, order, cloudId, cloud: cloudOfOrder(order, lateCloud) ?? null, stats: lateStats })
    }
    return { ref, order, cloudId }
  }

  /** Remembers what the cloud and its stats say for good: complete, and its node. */
  private withFacts (server: OwnedServer & { cloudId: string }): OwnedServer {
    if (server.cloud?.fields?.provision_status === 'complete') this.completeClouds.remember(server.cloudId, true, FACT_TTL_MS)
    const node = server.stats?.nodes?.[0]?.uuid
    if (node !== undefined && server.stats?.nodes?.length === 1) this.rememberNode(server.cloudId, node)
    return server
  }

  private belongs (order: OrderAnswer, hubId: string | undefined, cycleServerId: string | undefined): boolean {
    return cycleTag.owns(order.label, hubId, cycleServerId)
  }
}
