/** A Cycle provision -> the one OpenMetal order that buys it. Pure. */
import type { OrderRequest } from '../generated/openmetal.ts'
import type { OrderAnswer } from '../openmetal/answers.ts'

export interface ProvisionPlan {
  readonly tag: string
  readonly hostname: string
  readonly hubName: string | undefined
  readonly sku: string
  readonly pod: string
  readonly deploymentConfiguration: string
  readonly sshPublicKey: string | undefined
  readonly sshKeyIds: readonly string[]
}

export function orderRequestFor (plan: ProvisionPlan): OrderRequest {
  return {
    label: plan.tag,
    description: `Cycle server ${plan.hostname.slice(0, 200)}${plan.hubName === undefined ? '' : ` (hub ${plan.hubName.slice(0, 100)})`}`,
    fields: {
      // one Cycle server is one order, which deploys one cloud with one node
      items: [{ hardware_sku: plan.sku, location: plan.pod, type: 'baremetal', quantity: 1, modifications: { deployment_configuration: plan.deploymentConfiguration } }],
      config_options: plan.sshKeyIds.length > 0 ? { public_key_ids: [...plan.sshKeyIds] } : { public_key: plan.sshPublicKey ?? '' }
    }
  }
}

/**
 * The one active order that stands for a Cycle server, when OpenMetal holds several with its
 * tag (two replicas bought at the same instant: OpenMetal has no conditional create). Every
 * replica picks the same one, the oldest (by creation time, then ID), so Cycle is always
 * handed one server_id; the others are duplicates for the operator (`ial-inventory`).
 */
export function canonicalOrder<O extends Pick<OrderAnswer, 'id' | 'label' | 'is_active' | 'created_at' | 'fields'>> (orders: readonly O[], tag: string): O | undefined {
  return oldest(orders.filter((order) => order.label === tag && standsForServer(order)))
}

/**
 * The oldest of several resources made for one need (by creation time, then ID): what every
 * replica agrees on when OpenMetal holds more than one (it has no conditional create).
 */
export function oldest<R extends { readonly id: string, readonly created_at?: string | undefined }> (resources: readonly R[]): R | undefined {
  let found: R | undefined
  for (const resource of resources) if (found === undefined || createdBefore(resource, found)) found = resource
  return found
}

/**
 * An order that is active, or that deployed a cloud (whatever OpenMetal does with
 * `is_active` once an order is fulfilled), is a server: finding it is never a reason to buy
 * again. An inactive order that never deployed anything (cancelled, failed) is not.
 */
export function standsForServer (order: Pick<OrderAnswer, 'is_active' | 'fields'>): boolean {
  return order.is_active || (order.fields.clouds_deployed?.length ?? 0) > 0
}

function createdBefore (a: { readonly id: string, readonly created_at?: string | undefined }, b: { readonly id: string, readonly created_at?: string | undefined }): boolean {
  // an order without a readable creation time sorts by its ID alone
  const [at, bt] = [Date.parse(a.created_at ?? ''), Date.parse(b.created_at ?? '')]
  if (Number.isFinite(at) && Number.isFinite(bt) && at !== bt) return at < bt
  return a.id < b.id
}
