/** IP blocks (prefixes): buying, reading, relabelling and deleting them, and their addresses. VLANs are in routes-vlans.ts. */
import { CreateIpAddressRequest, PrefixCreateRequest } from './generated/openmetal.ts'
import { IP_BLOCK_ADDON } from './catalog.ts'
import { badRequest, ok, validator, type Route } from './http.ts'
import { addPrefix, addressOf, addressView, createAddress, deleteAddress, deletePrefix, placementProblem, prefixDetail, prefixOf, prefixView, updateAddress } from './network.ts'
import { UpdateIpAddressRequest, UpdatePrefixRequest } from './schemas.ts'
import type { SimulatorState } from './state.ts'

const prefixCreate = validator(PrefixCreateRequest)
const prefixUpdate = validator(UpdatePrefixRequest)
const ipCreate = validator(CreateIpAddressRequest)
const ipUpdate = validator(UpdateIpAddressRequest)

export function networkRoutes (state: SimulatorState): Route[] {
  return [
    { method: 'GET', path: '/v1/prefixes', handle: ({ org }) => ok(state.listOf(state.prefixes, org).map(prefixView)) },
    {
      method: 'POST',
      path: '/v1/prefixes',
      handle: ({ org, body }) => {
        const { label, description, fields } = prefixCreate(body)
        // private and allocation blocks are real, but the adapter only ever buys routed ones
        if (fields.prefix_type !== 'routed') throw badRequest(`fields.prefix_type: only routed IP blocks are supported by the simulator, not ${fields.prefix_type}`)
        if (fields.product_addon === undefined || fields.cloud_id === undefined) throw badRequest('routed IP blocks require product_addon and cloud_id (for billing)')
        if (fields.product_addon !== IP_BLOCK_ADDON) throw badRequest(`fields.product_addon: unknown IP block add-on ${fields.product_addon}`)
        if (fields.cidr !== undefined || (fields.length !== undefined && fields.length !== 28)) throw badRequest(`${IP_BLOCK_ADDON} is a /28 allocated by OpenMetal; cidr and other lengths cannot be chosen`)
        const cloud = state.cloud(org, fields.cloud_id)
        if (cloud === undefined) throw badRequest(`fields.cloud_id: unknown cloud ${fields.cloud_id}`)
        if (cloud.pendingDelete) throw badRequest(`fields.cloud_id: cloud ${cloud.id} is pending delete`)
        if (fields.pod_location !== cloud.pod) throw badRequest(`fields.pod_location: cloud ${cloud.id} is in ${cloud.pod}, not ${fields.pod_location}`)
        // cloud_id is billing only: the VLAN may be any routed VLAN of the organisation in the pod
        const vlan = fields.central_vlan_id === undefined ? undefined : state.vlan(org, fields.central_vlan_id)
        if (fields.central_vlan_id !== undefined && vlan === undefined) throw badRequest(`fields.central_vlan_id: unknown VLAN ${fields.central_vlan_id}`)
        const problem = vlan === undefined ? undefined : placementProblem(cloud, vlan)
        if (problem !== undefined) throw badRequest(`fields.central_vlan_id: ${problem}`)
        return ok(prefixView(addPrefix(state, { orgId: org, cloudId: cloud.id, pod: cloud.pod, vlan, purchased: true, label, ...(description === undefined ? {} : { description }) })))
      }
    },
    { method: 'GET', path: '/v1/prefixes/:prefixId', handle: ({ org, params }) => ok(prefixView(prefixOf(state, org, params.prefixId))) },
    {
      method: 'PATCH',
      path: '/v1/prefixes/:prefixId',
      handle: ({ org, params, body }) => {
        const prefix = prefixOf(state, org, params.prefixId)
        const change = prefixUpdate(body)
        if (change.label !== undefined) prefix.label = change.label
        if (change.description !== undefined) prefix.description = change.description
        prefix.updatedAt = state.now()
        return ok(prefixView(prefix))
      }
    },
    {
      method: 'DELETE',
      path: '/v1/prefixes/:prefixId',
      handle: ({ org, params }) => {
        deletePrefix(state, prefixOf(state, org, params.prefixId))
        return ok({ status: 'success' })
      }
    },
    { method: 'GET', path: '/v1/deployment/network/prefix/:prefixId', handle: ({ org, params }) => ok(prefixDetail(prefixOf(state, org, params.prefixId))) },
    {
      method: 'POST',
      path: '/v1/deployment/network/prefixes/:prefixId/ip',
      handle: ({ org, params, body }) => {
        const prefix = prefixOf(state, org, params.prefixId)
        const request = ipCreate(body ?? {})
        return ok(addressView(createAddress(state, prefix, request)))
      }
    },
    {
      method: 'PATCH',
      path: '/v1/deployment/network/prefixes/:prefixId/ip/:ipId',
      handle: ({ org, params, body }) => {
        const prefix = prefixOf(state, org, params.prefixId)
        const address = addressOf(prefix, params.ipId ?? '')
        return ok(addressView(updateAddress(state, prefix, address, ipUpdate(body ?? {}))))
      }
    },
    {
      method: 'DELETE',
      path: '/v1/deployment/network/prefixes/:prefixId/ip/:ipId',
      handle: ({ org, params }) => {
        const prefix = prefixOf(state, org, params.prefixId)
        deleteAddress(state, prefix, addressOf(prefix, params.ipId ?? ''))
        return ok()
      }
    }
  ]
}
