/**
 * A seeded order history: each organisation starts with older orders, fulfilled long ago,
 * so that lists are long enough to page and a new order lands on a later page. History
 * orders are listed before every other order; they take no stock, have no cloud, and count
 * neither in `ordersCreated` nor in the request log.
 */
import type { OrderRequest } from './generated/openmetal.ts'

const HISTORY_PODS = ['pod_1', 'pod_2', 'pod_3'] as const
const HISTORY_SKUS = ['medium_v4', 'large_v4'] as const

/** The start of the UTC month `back` months before `now`. */
function monthsBefore (now: number, back: number): Date {
  const date = new Date(now)
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - back, 1, 9, 30))
}

/**
 * The `index`-th of `count` history orders of an organisation (one a month, the oldest
 * first, the newest last month): what was ordered, and when.
 */
export function historyOrder (index: number, count: number, now: number): { readonly request: OrderRequest, readonly createdAt: number } {
  const created = monthsBefore(now, count - index)
  return {
    createdAt: created.getTime(),
    request: {
      label: `Private cloud ${created.toISOString().slice(0, 7)}`,
      fields: {
        items: [{
          hardware_sku: HISTORY_SKUS[index % HISTORY_SKUS.length] ?? 'medium_v4',
          location: HISTORY_PODS[index % HISTORY_PODS.length] ?? 'pod_1',
          type: 'baremetal',
          quantity: 1,
          modifications: { operating_system: { os_key: 'Ubuntu', version_key: '22.04 LTS' } }
        }],
        config_options: {}
      }
    }
  }
}
