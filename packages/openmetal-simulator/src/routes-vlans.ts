/**
 * VLANs: the organisation's VLANs (each cloud's Inventory and Provider VLAN), and assigning
 * an IP block to one or taking it off. A block routes only on a VLAN.
 */
import { ok, type Route, type RouteContext } from './http.ts'
import { assignPrefix, prefixOf, unassignPrefix, vlanOf, vlanResource } from './network.ts'
import type { SimPrefix, SimVlan, SimulatorState } from './state.ts'

export function vlanRoutes (state: SimulatorState): Route[] {
  /** A handler of /v1/vlans/{vlanId}/prefixes/{prefixId}: both must be the organisation's (404), then the action's rules (400). */
  const blockOnVlan = (act: (state: SimulatorState, prefix: SimPrefix, vlan: SimVlan) => void) => ({ org, params }: RouteContext) => {
    const vlan = vlanOf(state, org, params.vlanId)
    act(state, prefixOf(state, org, params.prefixId), vlan)
    return ok({ status: 'success' })
  }
  return [
    // the spec documents no filter: every VLAN of the organisation, oldest first; callers filter on fields.cloud_id
    { method: 'GET', path: '/v1/vlans', handle: ({ org }) => ok(state.listOf(state.vlans, org).map(vlanResource)) },
    { method: 'GET', path: '/v1/vlans/:vlanId', handle: ({ org, params }) => ok(vlanResource(vlanOf(state, org, params.vlanId))) },
    { method: 'POST', path: '/v1/vlans/:vlanId/prefixes/:prefixId', handle: blockOnVlan(assignPrefix) },
    { method: 'DELETE', path: '/v1/vlans/:vlanId/prefixes/:prefixId', handle: blockOnVlan(unassignPrefix) }
  ]
}
