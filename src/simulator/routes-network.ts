/** IP blocks (prefixes), their addresses, and assigning a block to a cloud's VLAN. */
import { CreateIpAddressRequest, PrefixCreateRequest } from '../generated/openmetal.ts'
import { IP_BLOCK_ADDON } from './catalog.ts'
import { badRequest, notFound, ok, validator, type Route } from './http.ts'
import { addPrefix, addressOf, addressView, createAddress, deleteAddress, prefixDetail, prefixView, updateAddress } from './network.ts'
import { UpdateIpAddressRequest, UpdatePrefixRequest } from './schemas.ts'
import type { SimPrefix, SimulatorState } from './state.ts'

const prefixCreate = validator(PrefixCreateRequest)
const prefixUpdate = validator(UpdatePrefixRequest)
const ipCreate = validator(CreateIpAddressRequest)
const ipUpdate = validator(UpdateIpAddressRequest)

export function networkRoutes (state: SimulatorState): Route[] {
  const prefixOf = (org: string, id: string | undefined): SimPrefix => {
    const prefix = state.prefix(org, id ?? '')
    if (prefix === undefined) throw notFound(`IP Address Block ${id ?? ''}`)
    return prefix
  }
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
        const vlan = fields.central_vlan_id === undefined ? undefined : cloud.vlans.find((candidate) => candidate.id === fields.central_vlan_id)
        if (fields.central_vlan_id !== undefined && vlan === undefined) throw badRequest(`fields.central_vlan_id: unknown VLAN ${fields.central_vlan_id} for cloud ${cloud.id}`)
        return ok(prefixView(addPrefix(state, { orgId: org, cloudId: cloud.id, pod: cloud.pod, vlan, purchased: true, label, ...(description === undefined ? {} : { description }) })))
      }
    },
    { method: 'GET', path: '/v1/prefixes/:prefixId', handle: ({ org, params }) => ok(prefixView(prefixOf(org, params.prefixId))) },
    {
      method: 'PATCH',
      path: '/v1/prefixes/:prefixId',
      handle: ({ org, params, body }) => {
        const prefix = prefixOf(org, params.prefixId)
        const change = prefixUpdate(body)
        if (change.label !== undefined) prefix.label = change.label
        if (change.description !== undefined) prefix.description = change.description
        prefix.updatedAt = state.now()
        return ok(prefixView(prefix))
      }
    },
    {
      method: 'POST',
      path: '/v1/vlans/:vlanId/prefixes/:prefixId',
      handle: ({ org, params }) => {
        const prefix = prefixOf(org, params.prefixId)
        const vlan = state.listOf(state.clouds, org).flatMap((cloud) => cloud.vlans).find((candidate) => candidate.id === params.vlanId)
        if (vlan === undefined) throw notFound(`VLAN ${params.vlanId ?? ''}`)
        if (prefix.vlan !== undefined) throw badRequest(`IP Address Block ${prefix.id} is already assigned to a VLAN`)
        const cloud = state.clouds.get(prefix.cloudId)
        if (cloud === undefined || !cloud.vlans.includes(vlan)) throw badRequest('the IP Address Block and the VLAN belong to different clouds')
        prefix.vlan = vlan
        prefix.updatedAt = state.now()
        return ok({ status: 'success' })
      }
    },
    { method: 'GET', path: '/v1/deployment/network/prefix/:prefixId', handle: ({ org, params }) => ok(prefixDetail(prefixOf(org, params.prefixId))) },
    {
      method: 'POST',
      path: '/v1/deployment/network/prefixes/:prefixId/ip',
      handle: ({ org, params, body }) => {
        const prefix = prefixOf(org, params.prefixId)
        const request = ipCreate(body ?? {})
        return ok(addressView(createAddress(state, prefix, request)))
      }
    },
    {
      method: 'PATCH',
      path: '/v1/deployment/network/prefixes/:prefixId/ip/:ipId',
      handle: ({ org, params, body }) => {
        const prefix = prefixOf(org, params.prefixId)
        const address = addressOf(prefix, params.ipId ?? '')
        return ok(addressView(updateAddress(state, prefix, address, ipUpdate(body ?? {}))))
      }
    },
    {
      method: 'DELETE',
      path: '/v1/deployment/network/prefixes/:prefixId/ip/:ipId',
      handle: ({ org, params }) => {
        const prefix = prefixOf(org, params.prefixId)
        deleteAddress(state, prefix, addressOf(prefix, params.ipId ?? ''))
        return ok()
      }
    }
  ]
}
