/**
 * Routed prefixes, their addresses and the VLANs they route on. Every cloud comes with two
 * routed /28 blocks (one on its Inventory VLAN, one on its Provider VLAN); more can be
 * bought, and a bought block routes only once assigned to a VLAN; it can be unassigned and,
 * empty and on no VLAN, deleted. Addresses follow the real reservations: network, VRRP
 * gateway, two switch addresses and broadcast are never handed out, so a /28 has eleven
 * usable addresses.
 */
import type { CloudStatsVlan, IpAddress, PrefixDetailed, PrefixResource } from './generated/openmetal.ts'
import { IP_BLOCK_ADDON } from './catalog.ts'
import { HttpError, badRequest, notFound, validationFailure } from './http.ts'
import { resourceId } from './ids.ts'
import { BLOCK_LENGTH, FIRST_USABLE, LAST_USABLE, blockAt, formatIpv4, parseIpv4 } from './ipv4.ts'
import type { VlanResource } from './schemas.ts'
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

/** The organisation's block; 404 for an unknown one or another organisation's. */
export function prefixOf (state: SimulatorState, orgId: string, id: string | undefined): SimPrefix {
  const prefix = state.prefix(orgId, id ?? '')
  if (prefix === undefined) throw notFound(`IP Address Block ${id ?? ''}`)
  return prefix
}

/** The organisation's VLAN; 404 for an unknown one or another organisation's. */
export function vlanOf (state: SimulatorState, orgId: string, id: string | undefined): SimVlan {
  const vlan = state.vlan(orgId, id ?? '')
  if (vlan === undefined) throw notFound(`VLAN ${id ?? ''}`)
  return vlan
}

/** Why a block cannot go on a VLAN (the owner is already the same: lookups are per organisation), or undefined. */
export function placementProblem (prefix: { readonly pod: string }, vlan: SimVlan): string | undefined {
  return prefix.pod === vlan.pod ? undefined : `the IP Address Block is in ${prefix.pod} and VLAN ${vlan.id} in ${vlan.pod}`
}

/**
 * Assigns a block to a VLAN: same pod, and not on any VLAN yet (the real rules; the VLAN may
 * be another cloud's, since a block's cloud_id is billing only).
 */
export function assignPrefix (state: SimulatorState, prefix: SimPrefix, vlan: SimVlan): void {
  if (prefix.vlan !== undefined) throw validationFailure(`IP Address Block ${prefix.id} is already assigned to VLAN ${prefix.vlan.id}`)
  const problem = placementProblem(prefix, vlan)
  if (problem !== undefined) throw validationFailure(problem)
  prefix.vlan = vlan
  prefix.updatedAt = state.now()
}

/** Takes a bought block off its VLAN; its addresses stop routing and no new one can be made in it. */
export function unassignPrefix (state: SimulatorState, prefix: SimPrefix, vlan: SimVlan): void {
  if (prefix.vlan !== vlan) throw validationFailure(`IP Address Block ${prefix.id} is not assigned to VLAN ${vlan.id}`)
  if (!prefix.purchased) throw validationFailure(`IP Address Block ${prefix.id} came with cloud ${prefix.cloudId} (created_from central): only a user-created block can be unassigned`)
  prefix.vlan = undefined
  prefix.updatedAt = state.now()
}

/** Deletes a bought block once it is on no VLAN and holds no address; it stops billing. */
export function deletePrefix (state: SimulatorState, prefix: SimPrefix): void {
  if (!prefix.purchased) throw validationFailure(`IP Address Block ${prefix.id} came with cloud ${prefix.cloudId} (created_from central): only a user-created block can be deleted`)
  if (prefix.vlan !== undefined) throw validationFailure(`IP Address Block ${prefix.id} is assigned to VLAN ${prefix.vlan.id}: unassign it first (DELETE /v1/vlans/${prefix.vlan.id}/prefixes/${prefix.id})`)
  const inUse = [...prefix.addresses.values()].map((address) => formatIpv4(address.ip))
  if (inUse.length > 0) throw validationFailure(`IP Address Block ${prefix.id} has IP addresses in use (${inUse.join(', ')}): release them first`)
  state.prefixes.delete(prefix.id)
  state.prefixesDeleted++
}

function usable (prefix: SimPrefix, address: number): boolean {
  return address >= prefix.network + FIRST_USABLE && address <= prefix.network + LAST_USABLE
}

/**
 * A new address: the requested one, or the lowest free usable one. 409 when none is left
 * (what a client sees from a full block), 400 for an address outside the block, reserved,
 * or taken, and for a block that is on no VLAN.
 */
export function createAddress (state: SimulatorState, prefix: SimPrefix, request: { ip?: string, label?: string, assigned_host?: string }, primary = false): SimAddress {
  // a block on no VLAN routes nowhere: the real network refuses to hand out its addresses
  if (prefix.vlan === undefined) throw badRequest(`the IP block is not assigned to a VLAN (${prefix.id}, ${cidrOf(prefix)}): assign it with POST /v1/vlans/{vlanId}/prefixes/${prefix.id} first`)
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
      created_from: prefix.purchased ? 'user' : 'central',
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

/** What a VLAN is for, as its label says it (stats and /v1/vlans alike). */
export function vlanLabel (vlan: SimVlan): 'Inventory' | 'Provider' {
  return vlan.usage === 'inventory' ? 'Inventory' : 'Provider'
}

/** A VLAN as /v1/vlans answers it: a cloud's system VLAN, routed, made by Central, not alterable. */
export function vlanResource (vlan: SimVlan): VlanResource {
  const created = new Date(vlan.createdAt).toISOString()
  return {
    id: vlan.id,
    type: 'vlans',
    label: vlanLabel(vlan),
    created_at: created,
    updated_at: created,
    is_active: true,
    created_by: userOf(vlan.orgId),
    fields: {
      created_from: 'central',
      pod_location: vlan.pod,
      vlan_id: vlan.number,
      vlan_uuid: vlan.uuid,
      vlan_type: 'routed',
      alterable: false,
      cloud_id: vlan.cloudId
    }
  }
}

export function vlanView (vlan: SimVlan, prefixes: readonly SimPrefix[]): CloudStatsVlan {
  return {
    id: vlan.number,
    uuid: vlan.uuid,
    label: vlanLabel(vlan),
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
