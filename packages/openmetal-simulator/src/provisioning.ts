/**
 * Orders and the clouds they deploy. Progress is a function of the clock: one
 * provisioningStepMs after the order the cloud exists in `pending`, then `in_progress`,
 * `awaiting_setup` and `complete` one step apart. An operator can pin any state
 * (`manual_setup` is the one the real API has no clock for). Nothing is scheduled; whoever
 * looks first makes the cloud exist, so an idle simulator holds no timers.
 */
import { randomUUID } from 'node:crypto'
import type { Cloud, CloudStats, CloudStatsNode, GetOrder, OrderRequest, OrderResponse } from './generated/openmetal.ts'
import { nodeHardware } from './catalog.ts'
import { HttpError, badRequest } from './http.ts'
import { macAddress, resourceId } from './ids.ts'
import { formatIpv4 } from './ipv4.ts'
import { addPrefix, createAddress, vlanLabel, vlanView } from './network.ts'
import { userOf, type PowerState, type SimCloud, type SimNode, type SimOrder, type SimVlan, type SimulatorState } from './state.ts'

export const PROVISION_STATES = ['pending', 'in_progress', 'awaiting_setup', 'complete'] as const
export const PROVISION_STATUSES = [...PROVISION_STATES, 'manual_setup'] as const
export type ProvisionStatus = typeof PROVISION_STATUSES[number]

export function isProvisionStatus (value: unknown): value is ProvisionStatus {
  return (PROVISION_STATUSES as readonly unknown[]).includes(value)
}

/** The state now and when it was entered; no status before the first step (no cloud yet). */
export function progressOf (state: SimulatorState, order: SimOrder): { status: ProvisionStatus | undefined, since: number } {
  if (order.pinned !== undefined) return { status: order.pinned.status as ProvisionStatus, since: order.pinned.at }
  const step = state.provisioningStepMs
  const elapsed = state.now() - order.origin
  const steps = step <= 0 ? PROVISION_STATES.length : Math.floor(elapsed / step)
  if (steps < 1) return { status: undefined, since: order.createdAt }
  const index = Math.min(steps, PROVISION_STATES.length) - 1
  return { status: PROVISION_STATES[index], since: order.origin + (index + 1) * Math.max(step, 0) }
}

export function createOrder (state: SimulatorState, orgId: string, request: OrderRequest): SimOrder {
  for (const item of request.fields.items) {
    const pod = state.stock[item.location]
    if (pod !== undefined) pod[item.hardware_sku] = (pod[item.hardware_sku] ?? 0) - item.quantity
  }
  const now = state.now()
  const order: SimOrder = { id: resourceId(), orgId, request, createdAt: now, origin: now, pinned: undefined, cloudId: undefined }
  state.orders.set(order.id, order)
  state.undeployed.add(order)
  state.ordersCreated++
  return order
}

/** Deploys the cloud of every order whose first step has passed. Called before each API call. */
/**
 * How long a deleted cloud stays pending delete before it is wiped, by default, in provisioning
 * steps: the real API wipes after three days; here a few steps, so a whole lifecycle ends with
 * nothing left (`wipeAfterMs` sets it).
 */
export const WIPE_AFTER_STEPS = 10

export function advance (state: SimulatorState): void {
  for (const order of state.undeployed) {
    if (progressOf(state, order).status !== undefined) deploy(state, order)
  }
  for (const cloud of state.deleting) {
    if (state.now() - (cloud.deletedAt ?? 0) >= state.wipeAfterMs) wipe(state, cloud)
  }
}

/** A deleted cloud's end: it, its VLANs and the blocks delivered with it are gone, and its order is no longer active. */
function wipe (state: SimulatorState, cloud: SimCloud): void {
  state.deleting.delete(cloud)
  state.clouds.delete(cloud.id)
  for (const vlan of cloud.vlans) state.vlans.delete(vlan.id)
  for (const [id, prefix] of state.prefixes) if (prefix.cloudId === cloud.id && !prefix.purchased) state.prefixes.delete(id)
  const order = state.orders.get(cloud.orderId)
  if (order !== undefined) order.wiped = true
}

/**
 * Pins an order in a state (and deploys its cloud if it had none yet); null releases the pin
 * and the clock takes over again, counting from the order's creation.
 */
export function setOrderStatus (state: SimulatorState, orderId: string, status: ProvisionStatus | null): void {
  const order = state.orders.get(orderId)
  if (order === undefined) throw new HttpError(404, `order ${orderId} not found`)
  order.pinned = status === null ? undefined : { status, at: state.now() }
  if (order.pinned !== undefined) deploy(state, order)
  else advance(state)
}

/** One order deploys one cloud: all its nodes, two routed VLANs, each with a routed /28. */
function deploy (state: SimulatorState, order: SimOrder): SimCloud {
  state.undeployed.delete(order)
  const existing = order.cloudId === undefined ? undefined : state.clouds.get(order.cloudId)
  if (existing !== undefined) return existing
  const items = order.request.fields.items
  const first = items[0]
  if (first === undefined) throw new Error(`order ${order.id} has no items`)
  const id = resourceId()
  const createdAt = Math.min(state.now(), order.origin + state.provisioningStepMs)
  const vlan = (usage: SimVlan['usage']): SimVlan => {
    const created: SimVlan = { id: resourceId(), orgId: order.orgId, cloudId: id, pod: first.location, number: state.nextVlanNumber++, uuid: randomUUID(), usage, createdAt }
    state.vlans.set(created.id, created)
    return created
  }
  const cloud: SimCloud = {
    id,
    orgId: order.orgId,
    orderId: order.id,
    pod: first.location,
    type: first.type,
    label: order.request.label,
    uuid: randomUUID(),
    createdAt,
    pendingDelete: false,
    nodes: items.flatMap((item) => Array<string>(item.quantity).fill(item.hardware_sku)).map((sku, index): SimNode => ({
      uuid: randomUUID(),
      hostname: `${sku.replace(/_/g, '-')}-${id.toLowerCase()}-${index + 1}`,
      mac: macAddress(),
      sku,
      powerState: 'power on',
      settlesAt: 0,
      lockedUntil: 0
    })),
    vlans: [vlan('inventory'), vlan('provider')]
  }
  const [inventoryVlan, providerVlan] = cloud.vlans
  const inventory = addPrefix(state, { orgId: order.orgId, cloudId: id, pod: cloud.pod, vlan: inventoryVlan, purchased: false, label: `${order.request.label} inventory` })
  addPrefix(state, { orgId: order.orgId, cloudId: id, pod: cloud.pod, vlan: providerVlan, purchased: false, label: `${order.request.label} provider` })
  for (const node of cloud.nodes) createAddress(state, inventory, { label: node.hostname, assigned_host: node.uuid }, true)
  state.clouds.set(id, cloud)
  order.cloudId = id
  return cloud
}

// Views ------------------------------------------------------------------------------------

function orderResponse (state: SimulatorState, order: SimOrder): OrderResponse {
  const { status, since } = progressOf(state, order)
  const { label, description, fields } = order.request
  return {
    id: order.id,
    type: 'orders',
    label,
    ...(description === undefined ? {} : { description }),
    created_at: new Date(order.createdAt).toISOString(),
    updated_at: new Date(Math.max(order.createdAt, since)).toISOString(),
    is_active: order.history !== true && order.wiped !== true,
    created_by: userOf(order.orgId),
    fields: {
      ...fields,
      organization_id: order.orgId,
      schema_version: '1',
      clouds_deployed: order.cloudId === undefined || status === undefined ? [] : [{ id: order.cloudId, provision_status: status }]
    }
  }
}

export function orderView (state: SimulatorState, order: SimOrder): GetOrder {
  return { ...orderResponse(state, order), access: { role: 'owner' } }
}

/** An order as GET /v1/orders lists it (the spec's OrderCollection). */
export function orderListView (state: SimulatorState, order: SimOrder): OrderResponse & { relation: Record<string, unknown> } {
  return {
    ...orderResponse(state, order),
    relation: { access: { account_id: userOf(order.orgId), type: 'organization', display_name: order.orgId, role: 'owner', has_billing: true } }
  }
}

export function cloudStatus (state: SimulatorState, cloud: SimCloud): ProvisionStatus {
  const order = state.orders.get(cloud.orderId)
  return (order === undefined ? undefined : progressOf(state, order).status) ?? 'pending'
}

function hostnameOf (cloud: SimCloud): string {
  return `${cloud.id.toLowerCase()}.sim.openmetal.test`
}

export function cloudView (state: SimulatorState, cloud: SimCloud): Cloud {
  const status = cloudStatus(state, cloud)
  const order = state.orders.get(cloud.orderId)
  const completed = status === 'complete' && order !== undefined ? progressOf(state, order).since : undefined
  return {
    id: cloud.id,
    label: cloud.label,
    created_at: new Date(cloud.createdAt).toISOString(),
    fields: {
      cloud_type: cloud.type,
      cloud_uuid: cloud.uuid,
      cloud_version: '1',
      owner_name: 'Simulated Owner',
      organization_id: cloud.orgId,
      hostname: hostnameOf(cloud),
      order_id: cloud.orderId,
      pod_location: cloud.pod,
      provision_status: status,
      ...(completed === undefined ? {} : { provision_completion_time: new Date(completed).toISOString() }),
      pending_delete: cloud.pendingDelete
    }
  }
}

function powerStateOf (state: SimulatorState, node: SimNode): PowerState {
  return node.powerState === 'rebooting' && state.now() >= node.settlesAt ? 'power on' : node.powerState
}

/** The node's main IP, in the cloud's inventory block. */
function primaryIp (state: SimulatorState, cloud: SimCloud, node: SimNode): string | undefined {
  for (const prefix of state.prefixes.values()) {
    if (prefix.cloudId !== cloud.id) continue
    for (const address of prefix.addresses.values()) {
      if (address.primary && address.assignedHost === node.uuid) return formatIpv4(address.ip)
    }
  }
  return undefined
}

export function statsView (state: SimulatorState, cloud: SimCloud): CloudStats {
  const status = cloudStatus(state, cloud)
  // nodes are known (UUID, IP, MAC) once the hardware is assigned, from in_progress on
  const deployed = status !== 'pending'
  // what routes on the cloud's VLANs: cloud_id is billing only, so a block of another cloud may be there
  const prefixes = [...state.prefixes.values()].filter((prefix) => prefix.vlan?.cloudId === cloud.id)
  const node = (item: SimNode): CloudStatsNode => {
    const ip = primaryIp(state, cloud, item)
    const hardware = nodeHardware(item.sku)
    return {
      uuid: item.uuid,
      state: cloud.pendingDelete ? 'deleting' : status === 'complete' ? 'active' : 'deploying',
      power_state: powerStateOf(state, item),
      hostname: item.hostname,
      type: cloud.type,
      ...(hardware === undefined ? {} : hardware),
      networks: [{ mac_address: item.mac }],
      ...(ip === undefined ? {} : { ipaddress: ip }),
      vlans: cloud.vlans.map((vlan) => ({ vlan: vlan.number, ip: vlan.usage === 'inventory' ? ip ?? null : null, mtu: 1500, label: vlanLabel(vlan) })),
      maintenance: false,
      creation_date: new Date(cloud.createdAt).toISOString()
    }
  }
  return {
    name: cloud.id,
    label: cloud.label,
    cloud_uuid: cloud.uuid,
    cloud_state: cloud.pendingDelete ? 'PENDING-DELETE' : status === 'complete' ? 'RUNNING' : 'PROVISIONING',
    cloud_hostname: hostnameOf(cloud),
    cloud_hosts: deployed ? cloud.nodes.map((item) => item.uuid) : [],
    maintenance: false,
    creation_date: new Date(cloud.createdAt).toISOString(),
    pending_number: 0,
    pending_tasks: [],
    pending_date: null,
    prevent_delete: false,
    nodes: deployed ? cloud.nodes.map(node) : [],
    vlans: cloud.vlans.map((vlan) => vlanView(vlan, prefixes))
  }
}

// Actions ----------------------------------------------------------------------------------

/** Marks the cloud pending delete; deleting it again is as successful as the first time. */
export function deleteCloud (state: SimulatorState, cloud: SimCloud): void {
  if (cloud.pendingDelete) return
  cloud.pendingDelete = true
  cloud.deletedAt = state.now()
  state.deleting.add(cloud)
  state.cloudsDeleted++
}

export const POWER_STATES: readonly PowerState[] = ['power on', 'power off', 'rebooting']

/**
 * A power action. A node can only be driven once its cloud is complete and not being
 * deleted; before that (or while locked after the previous action) the real API's answer
 * is 409 "Node Locked", so that is what a client sees here too.
 */
export function setPower (state: SimulatorState, cloud: SimCloud, node: SimNode, requested: unknown, lockMs: number): PowerState {
  if (typeof requested !== 'string' || !(POWER_STATES as readonly string[]).includes(requested)) {
    throw badRequest(`Invalid power state request: power_state must be one of ${POWER_STATES.join(', ')}`)
  }
  const locked = 'Unable to process power state request - Node Locked. Please try again in a few minutes.'
  if (cloud.pendingDelete || cloudStatus(state, cloud) !== 'complete' || node.lockedUntil > state.now()) throw new HttpError(409, locked)
  const now = state.now()
  node.powerState = requested as PowerState
  node.settlesAt = now + lockMs
  node.lockedUntil = now + lockMs
  state.powerActions++
  return node.powerState
}
