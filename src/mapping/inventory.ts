/**
 * What this adapter has bought, from OpenMetal's own records (orders, clouds, IPs carry the
 * Cycle tag): so an operator can see everything billable, and what is stuck or orphaned.
 * Pure: the inventory command fetches, this decides.
 */
import type { AddressAnswer, CloudAnswer, OrderAnswer, PrefixAnswer } from '../openmetal/answers.ts'
import { freeAddresses, parseCidr } from './cidr.ts'
import { cycleTag } from './identifiers.ts'
import { deployedCloud } from './provision-status.ts'
import { standsForServer } from '../openmetal/orders.ts'

export type Finding = 'manual-setup' | 'stuck' | 'cloud-pending-delete' | 'orphaned-cloud' | 'orphaned-ip' | 'duplicate-order' | 'empty-block' | 'orphaned-block'

export interface ServerRow {
  /** '' for a tagged cloud that no order deploys */
  readonly orderId: string
  readonly hubId: string
  readonly cycleServerId: string
  readonly state: string
  readonly cloudId: string | undefined
  readonly ageHours: number
  readonly findings: Finding[]
}

export interface IpRow {
  readonly prefixId: string
  readonly ipId: number | undefined
  readonly ip: string | undefined
  readonly hubId: string
  readonly cycleServerId: string
  readonly findings: Finding[]
}

/** An IP block bought for a Cycle server (it bills on its own). */
export interface BlockRow {
  readonly prefixId: string
  readonly cidr: string | undefined
  readonly hubId: string
  readonly cycleServerId: string
  readonly cloudId: string | undefined
  /** usable addresses in use */
  readonly inUse: number
  readonly findings: Finding[]
}

export interface InventoryReport {
  readonly servers: ServerRow[]
  readonly ips: IpRow[]
  readonly blocks: BlockRow[]
  /** every finding, plus one for each list that could not be read whole */
  readonly findings: number
  /** the lists OpenMetal could not give whole, and why */
  readonly incomplete: string[]
}

/** Provisioning normally takes 15-30 minutes; past this it deserves a look. */
export const STUCK_AFTER_HOURS = 2

export function inventoryReport (input: {
  orders: readonly OrderAnswer[]
  clouds: readonly CloudAnswer[]
  addresses: ReadonlyArray<{ prefixId: string, address: AddressAnswer }>
  /** routed blocks, each with its addresses */
  blocks?: ReadonlyArray<{ block: PrefixAnswer, addresses: readonly AddressAnswer[] }>
  now: number
  hubId?: string | undefined
  incomplete?: readonly string[]
}): InventoryReport {
  const clouds = new Map(input.clouds.map((cloud) => [cloud.id, cloud]))
  /** the Cycle tag of something this adapter made, for the hub asked about */
  const ours = (label: string | undefined): { hubId: string, serverId: string } | undefined => {
    const tag = cycleTag.parse(label)
    return tag === undefined || (input.hubId !== undefined && tag.hubId !== input.hubId) ? undefined : tag
  }
  /** hours since an OpenMetal timestamp; 0 when there is none to read */
  const ageHoursSince = (timestamp: string | undefined): number => {
    const since = Date.parse(timestamp ?? '')
    return Number.isNaN(since) ? 0 : Math.max(0, (input.now - since) / 3_600_000)
  }
  const tenths = (hours: number): number => Math.round(hours * 10) / 10
  // several orders standing for one Cycle server (two replicas bought at the same instant): Cycle
  // holds the server_id of one of them (normally the oldest); every one is flagged for a look
  const serversOfLabel = new Map<string, number>()
  for (const order of input.orders) if (standsForServer(order)) serversOfLabel.set(order.label, (serversOfLabel.get(order.label) ?? 0) + 1)
  const liveServers = new Set<string>()
  const servers: ServerRow[] = []
  for (const order of input.orders) {
    const tag = ours(order.label)
    if (tag === undefined) continue
    const deployed = deployedCloud(order)
    const cloud = deployed === undefined ? undefined : clouds.get(deployed.id)
    const state = cloud?.fields?.pending_delete === true ? 'pending-delete' : cloud?.fields?.provision_status ?? deployed?.status ?? (order.is_active ? 'ordered' : 'inactive')
    const ageHours = ageHoursSince(order.created_at)
    const findings: Finding[] = []
    if (state === 'manual_setup') findings.push('manual-setup')
    else if (order.is_active && state !== 'complete' && state !== 'pending-delete' && ageHours > STUCK_AFTER_HOURS) findings.push('stuck')
    if (state === 'pending-delete') findings.push('cloud-pending-delete')
    if (!order.is_active && cloud !== undefined && cloud.fields?.pending_delete !== true) findings.push('orphaned-cloud')
    if (standsForServer(order) && (serversOfLabel.get(order.label) ?? 0) > 1) findings.push('duplicate-order')
    if (order.is_active && state !== 'pending-delete') liveServers.add(`${tag.hubId}:${tag.serverId}`)
    servers.push({ orderId: order.id, hubId: tag.hubId, cycleServerId: tag.serverId, state, cloudId: deployed?.id, ageHours: tenths(ageHours), findings })
  }
  // a tagged cloud that no order of ours deploys (its order gone from the list): still billing
  const deployedIds = new Set(input.orders.flatMap((order) => order.fields.clouds_deployed?.map((entry) => entry.id) ?? []))
  for (const cloud of input.clouds) {
    const tag = ours(cloud.label)
    if (tag === undefined || cloud.id === undefined || deployedIds.has(cloud.id)) continue
    const pendingDelete = cloud.fields?.pending_delete === true
    servers.push({ orderId: '', hubId: tag.hubId, cycleServerId: tag.serverId, state: pendingDelete ? 'pending-delete' : cloud.fields?.provision_status ?? 'unknown', cloudId: cloud.id, ageHours: tenths(ageHoursSince(cloud.created_at)), findings: pendingDelete ? ['cloud-pending-delete'] : ['orphaned-cloud'] })
  }
  const ips: IpRow[] = []
  for (const { prefixId, address } of input.addresses) {
    const tag = ours(address.label)
    if (tag === undefined) continue
    const findings: Finding[] = liveServers.has(`${tag.hubId}:${tag.serverId}`) ? [] : ['orphaned-ip']
    ips.push({ prefixId, ipId: address.id, ip: address.ip, hubId: tag.hubId, cycleServerId: tag.serverId, findings })
  }
  const blocks: BlockRow[] = []
  for (const { block, addresses } of input.blocks ?? []) {
    const tag = ours(block.label)
    const number = tag === undefined ? undefined : cycleTag.blockNumber(block.label, tag.hubId, tag.serverId)
    if (tag === undefined || number === undefined) continue
    const cidr = parseCidr(block.fields.cidr ?? '')
    const inUse = cidr === undefined ? 0 : freeAddresses(cidr, []) - freeAddresses(cidr, addresses.map((address) => address.ip))
    const cloud = block.fields.cloud_id === undefined ? undefined : clouds.get(block.fields.cloud_id)
    const findings: Finding[] = []
    // billing for a cloud that is gone or going, or for no address at all
    if (cloud === undefined || cloud.fields?.pending_delete === true) findings.push('orphaned-block')
    else if (inUse === 0) findings.push('empty-block')
    blocks.push({ prefixId: block.id, cidr: block.fields.cidr, hubId: tag.hubId, cycleServerId: tag.serverId, cloudId: block.fields.cloud_id, inUse, findings })
  }
  const incomplete = [...(input.incomplete ?? [])]
  const findings = [servers, ips, blocks].reduce((sum, rows) => sum + rows.reduce((count, row) => count + row.findings.length, 0), 0) + incomplete.length
  return { servers, ips, blocks, findings, incomplete }
}
