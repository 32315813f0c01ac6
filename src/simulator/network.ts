/**
 * Routed prefixes and their addresses. Every cloud comes with two routed /28 blocks (one on
 * its Inventory VLAN, one on its Provider VLAN); more can be bought. Addresses follow the
 * real reservations: network, VRRP gateway, two switch addresses and broadcast are never
 * handed out, so a /28 has eleven usable addresses.
 */
import type { CloudStatsVlan, IpAddress, PrefixDetailed, PrefixResource } from '../generated/openmetal.ts'
import { IP_BLOCK_ADDON } from './catalog.ts'
import { HttpError, badRequest } from './http.ts'
import { resourceId } from './ids.ts'
import { BLOCK_LENGTH, FIRST_USABLE, LAST_USABLE, blockAt, formatIpv4, parseIpv4 } from './ipv4.ts'
import { userOf, type SimAddress, type SimPrefix, type SimVlan, type SimulatorState } from './state.ts'

export function cidrOf (prefix: SimPrefix): string {
  return `${formatIpv4(prefix.network)}/${BLOCK_LENGTH}`
}

export function addPrefix (state: SimulatorState, input: { orgId: string, cloudId: string, pod: string, vlan: SimVlan | undefined, purchased: boolean, label: string, description?: string }): SimPrefix {
  const network = blockAt(state.blocksUsed)
  if (network === undefined) throw new HttpError(503, 'the simulator has no routed address space left')
  state.blocksUsed++
  const now = state.now()
  const prefix: SimPrefix = {
    id: resourceId(),
    number: state.nextPrefixNumber++,
    orgId: input.orgId,
    cloudId: input.cloudId,
    pod: input.pod,
    network,
    label: input.label,
    description: input.description,
    createdAt: now,
    updatedAt: now,
    vlan: input.vlan,
    purchased: input.purchased,
    addresses: new Map()
  }
  state.prefixes.set(prefix.id, prefix)
  if (input.purchased) state.prefixesBought++
  return prefix
}

function usable (prefix: SimPrefix, address: number): boolean {
  return address >= prefix.network + FIRST_USABLE && address <= prefix.network + LAST_USABLE
}

/**
 * A new address: the requested one, or the lowest free usable one. 409 when none is left
 * (what a client sees from a full block), 400 for an address outside the block, reserved,
 * or taken.
 */
export function createAddress (state: SimulatorState, prefix: SimPrefix, request: { ip?: string, label?: string, assigned_host?: string }, primary = false): SimAddress {
  const used = new Set([...prefix.addresses.values()].map((address) => address.ip))
  let ip: number | undefined
  if (request.ip !== undefined) {
    const wanted = parseIpv4(request.ip)
    if (wanted === undefined) throw badRequest(`${request.ip} is not an IPv4 address`)
    if (!usable(prefix, wanted)) throw badRequest(`${request.ip} is not a usable address of ${cidrOf(prefix)}`)
    if (used.has(wanted)) throw badRequest(`${request.ip} already exists in ${cidrOf(prefix)}`)
    ip = wanted
  } else {
    for (let candidate = prefix.network + FIRST_USABLE; candidate <= prefix.network + LAST_USABLE && ip === undefined; candidate++) {
      if (!used.has(candidate)) ip = candidate
    }
    if (ip === undefined) throw new HttpError(409, `no available IP address in ${cidrOf(prefix)}`)
  }
  const address: SimAddress = { id: state.nextAddressId++, ip, label: request.label ?? '', assignedHost: request.assigned_host ?? '', primary }
  prefix.addresses.set(address.id, address)
  prefix.updatedAt = state.now()
  if (!primary) state.ipsCreated++
  return address
}

export function addressOf (prefix: SimPrefix, ipId: string): SimAddress {
  const address = /^\d+$/.test(ipId) ? prefix.addresses.get(Number(ipId)) : undefined
  if (address === undefined) throw new HttpError(404, `IP address ${ipId} not found in prefix ${prefix.id}`)
  return address
}

export function updateAddress (state: SimulatorState, prefix: SimPrefix, address: SimAddress, change: { label?: string, assigned_host?: string }): SimAddress {
  if (address.primary && change.assigned_host !== undefined && change.assigned_host !== address.assignedHost) {
    throw badRequest('a host\'s main IP cannot be reassigned or unassigned')
  }
  if (change.label !== undefined) address.label = change.label
  if (change.assigned_host !== undefined) address.assignedHost = change.assigned_host
  prefix.updatedAt = state.now()
  return address
}

export function deleteAddress (state: SimulatorState, prefix: SimPrefix, address: SimAddress): void {
  if (address.primary) throw badRequest('a host\'s main IP cannot be deleted')
  prefix.addresses.delete(address.id)
  prefix.updatedAt = state.now()
  state.ipsDeleted++
}

// Views ----------------------------------------------------------------------------------------

export function addressView (address: SimAddress): IpAddress {
  return { id: address.id, ip: formatIpv4(address.ip), label: address.label, assigned_host: address.assignedHost }
}

export function prefixView (prefix: SimPrefix): PrefixResource {
  return {
    id: prefix.id,
    type: 'prefixes',
    label: prefix.label,
    ...(prefix.description === undefined ? {} : { description: prefix.description }),
    created_at: new Date(prefix.createdAt).toISOString(),
    updated_at: new Date(prefix.updatedAt).toISOString(),
    is_active: true,
    created_by: userOf(prefix.orgId),
    fields: {
      created_from: 'central',
      pod_location: prefix.pod,
      prefix_id: prefix.number,
      cidr: cidrOf(prefix),
      prefix_type: 'routed',
      length: BLOCK_LENGTH,
      managed_addressing: 'off',
      // a block delivered with the cloud belongs to it; a bought one can be moved
      alterable: prefix.purchased,
      cloud_id: prefix.cloudId,
      ...(prefix.vlan === undefined ? {} : { vlan_id: prefix.vlan.number, vlan_uuid: prefix.vlan.uuid, central_vlan_id: prefix.vlan.id }),
      product_addon: IP_BLOCK_ADDON
    }
  }
}

export function prefixDetail (prefix: SimPrefix): PrefixDetailed {
  return {
    id: prefix.number,
    cidr: cidrOf(prefix),
    ...(prefix.description === undefined ? {} : { description: prefix.description }),
    prefix_type: 'routed',
    usage: prefix.vlan?.usage ?? 'unused',
    status: prefix.vlan === undefined ? 'ACTIVE' : 'ROUTED',
    managed_addressing: 'off',
    ...(prefix.vlan === undefined ? {} : { vlan_id: prefix.vlan.number }),
    children: [],
    ip_addrs: [...prefix.addresses.values()].map(addressView)
  }
}

export function vlanView (vlan: SimVlan, prefixes: readonly SimPrefix[]): CloudStatsVlan {
  return {
    id: vlan.number,
    uuid: vlan.uuid,
    label: vlan.usage === 'inventory' ? 'Inventory' : 'Provider',
    vlan_type: 'routed',
    state: 'ROUTED',
    prefixes: prefixes.filter((prefix) => prefix.vlan === vlan).map((prefix) => ({
      id: prefix.number,
      cidr: cidrOf(prefix),
      prefix_type: 'routed',
      usage: vlan.usage,
      status: 'ROUTED',
      managed_addressing: 'off',
      ip_addrs: [...prefix.addresses.values()].map((address) => ({
        label: address.label,
        assigned_host: address.assignedHost === '' ? null : address.assignedHost,
        ip: formatIpv4(address.ip)
      }))
    }))
  }
}
