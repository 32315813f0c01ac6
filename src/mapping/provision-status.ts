/**
 * order -> cloud -> stats  ==>  Cycle's provision status. Pure: the caller fetches, this
 * decides. `provisioned` is true only when OpenMetal says complete and the node is known
 * with the three facts CycleOS needs to boot (uuid, primary IP, MAC).
 */
import type { CloudAnswer, CloudStatsAnswer, OrderAnswer } from '../openmetal/answers.ts'

export type ServerState = 'ordered' | 'pending' | 'in_progress' | 'awaiting_setup' | 'manual_setup' | 'awaiting_node' | 'complete' | string

export interface ProvisionStatus {
  readonly provisioned: boolean
  readonly state: ServerState
  readonly cloudId: string | undefined
  readonly auth: { uuid: string | null, initial_ips: string[] | null, mac_addr: string | null }
  readonly extra: Record<string, unknown>
}

/** Why a server can never become provisioned: Cycle must stop polling. */
export class ServerGone extends Error {
  constructor (reason: string) {
    super(reason)
    this.name = 'ServerGone'
  }
}

export function deployedCloud (order: Pick<OrderAnswer, 'fields'>): { id: string, status: string } | undefined {
  const entry = order.fields.clouds_deployed?.[0]
  if (entry === undefined) return undefined
  return { id: entry.id, status: entry.provision_status ?? entry.provisioning_status ?? 'pending' }
}

const MANUAL_SETUP_REASON = 'OpenMetal staff must finish this deployment by hand; it is slower, not failed'

/**
 * `cloud` is the order's cloud as OpenMetal answers it: `null` when it answered that there
 * is no such cloud (404), `undefined` when it was not asked.
 */
export function provisionStatus (input: { order: OrderAnswer, cloud?: CloudAnswer | null | undefined, stats?: CloudStatsAnswer | undefined, now: number }): ProvisionStatus {
  const { order, cloud, stats, now } = input
  const deployed = deployedCloud(order)
  const notYet = { uuid: null, initial_ips: null, mac_addr: null }
  const base = { order_id: order.id, ...(deployed === undefined ? {} : { cloud_id: deployed.id }) }
  if (!order.is_active && deployed === undefined) throw new ServerGone(`order ${order.id} is no longer active`)
  if (deployed === undefined) return { provisioned: false, state: 'ordered', cloudId: undefined, auth: notYet, extra: { ...base, state: 'ordered' } }

  if (cloud?.fields?.pending_delete === true || ['DELETED', 'PENDING-DELETE'].includes(stats?.cloud_state ?? '')) {
    throw new ServerGone(`cloud ${deployed.id} was deleted at OpenMetal`)
  }
  // a cloud the order says has started deploying, and that OpenMetal no longer knows, was
  // deleted (wiped); while still `pending` it may only not be visible yet
  if (cloud === null && deployed.status !== 'pending') throw new ServerGone(`cloud ${deployed.id} no longer exists at OpenMetal`)
  const status = cloud?.fields?.provision_status ?? deployed.status
  if (status === 'manual_setup') {
    const since = Date.parse(order.updated_at ?? '')
    const minutes = Number.isNaN(since) ? null : Math.max(0, Math.floor((now - since) / 60_000))
    return {
      provisioned: false,
      state: 'manual_setup',
      cloudId: deployed.id,
      auth: notYet,
      extra: { ...base, state: 'manual_setup', reason: MANUAL_SETUP_REASON, manual_setup_since: order.updated_at ?? null, manual_setup_minutes: minutes }
    }
  }
  if (status !== 'complete') return { provisioned: false, state: status, cloudId: deployed.id, auth: notYet, extra: { ...base, state: status } }

  const node = stats?.nodes?.find((candidate) => candidate.uuid !== undefined && candidate.ipaddress !== undefined && candidate.ipaddress !== '')
  const mac = node?.networks?.find((network) => typeof network.mac_address === 'string' && network.mac_address !== '')?.mac_address
  if (node?.uuid === undefined || node.ipaddress === undefined || mac === undefined) {
    return { provisioned: false, state: 'awaiting_node', cloudId: deployed.id, auth: notYet, extra: { ...base, state: 'awaiting_node' } }
  }
  return {
    provisioned: true,
    state: 'complete',
    cloudId: deployed.id,
    auth: { uuid: node.uuid, initial_ips: [node.ipaddress], mac_addr: mac.toLowerCase() },
    extra: { ...base, state: 'complete', node_uuid: node.uuid }
  }
}
