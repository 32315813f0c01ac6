/**
 * Which of several OpenMetal resources made for one need stands for it. OpenMetal has no
 * conditional create, so two replicas may buy at the same instant; every replica then agrees
 * on the same one (the oldest), and the client never buys again for a need already met.
 */
import type { OrderAnswer } from './answers.ts'

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
