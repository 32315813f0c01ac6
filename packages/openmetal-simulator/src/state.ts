/**
 * The simulator's world: organisations and their credentials, orders, the clouds they deploy,
 * routed prefixes and their addresses, deployment configurations, SSH keys, stock, and the
 * counters tests assert on. Plain data in memory; the behaviour lives in provisioning.ts,
 * network.ts and the route modules. Nothing here runs in the background: provisioning
 * progress is computed from the clock when someone looks.
 */
import { randomBytes } from 'node:crypto'
import type { OrderRequest } from './generated/openmetal.ts'
import { initialStock, type Stock } from './catalog.ts'
import { historyOrder } from './history.ts'
import { resourceId } from './ids.ts'

export interface SimulatorOrganization {
  readonly id: string
  readonly clientId: string
  readonly clientSecret: string
  readonly apiKeys: readonly string[]
}

export const defaultOrganizations: SimulatorOrganization[] = [
  { id: 'org_sim_a', clientId: 'sim-client', clientSecret: 'sim-secret', apiKeys: ['sim-api-key'] },
  { id: 'org_sim_b', clientId: 'sim-client-b', clientSecret: 'sim-secret-b', apiKeys: ['sim-api-key-b'] }
]

export interface SimOrder {
  readonly id: string
  readonly orgId: string
  readonly request: OrderRequest
  readonly createdAt: number
  /** the instant provisioning counts its steps from; moved when an operator sets a state */
  origin: number
  /** a state held regardless of the clock (manual_setup), with the time it was set */
  pinned: { readonly status: string, readonly at: number } | undefined
  cloudId: string | undefined
  /** a seeded older order (history.ts): inactive, fulfilled long ago, without a cloud */
  readonly history?: boolean
  /** its cloud was deleted and wiped: the order is no longer active */
  wiped?: boolean
}

export type PowerState = 'power on' | 'power off' | 'rebooting'

export interface SimNode {
  readonly uuid: string
  readonly hostname: string
  readonly mac: string
  readonly sku: string
  powerState: PowerState
  /** a reboot reads as 'rebooting' until then, 'power on' after */
  settlesAt: number
  lockedUntil: number
}

/** One of a cloud's two system VLANs (created with the cloud, not alterable, never deleted). */
export interface SimVlan {
  /** the Central resource ID (`central_vlan_id`, the `vlanId` of /v1/vlans routes) */
  readonly id: string
  readonly orgId: string
  readonly cloudId: string
  readonly pod: string
  /** the 802.1Q number (`vlan_id`) */
  readonly number: number
  readonly uuid: string
  readonly usage: 'inventory' | 'provider'
  readonly createdAt: number
}

export interface SimCloud {
  readonly id: string
  readonly orgId: string
  readonly orderId: string
  readonly pod: string
  readonly type: 'baremetal' | 'pcc'
  readonly label: string
  readonly uuid: string
  readonly createdAt: number
  pendingDelete: boolean
  /** when it was deleted: it is wiped (gone from every list) WIPE_AFTER_STEPS provisioning steps later */
  deletedAt?: number
  readonly nodes: SimNode[]
  readonly vlans: SimVlan[]
}

export interface SimAddress {
  readonly id: number
  /** unsigned 32-bit */
  readonly ip: number
  label: string
  assignedHost: string
  /** a node's main IP: cannot be deleted, reassigned or unassigned */
  readonly primary: boolean
}

export interface SimPrefix {
  readonly id: string
  /** the numeric prefix ID of the network layer (PrefixDetailed.id, fields.prefix_id) */
  readonly number: number
  readonly orgId: string
  readonly cloudId: string
  readonly pod: string
  readonly network: number
  label: string
  description: string | undefined
  readonly createdAt: number
  updatedAt: number
  /** the VLAN the block routes on; a bought block routes nowhere until it is assigned one */
  vlan: SimVlan | undefined
  /** bought through POST /v1/prefixes (billable, `created_from: user`), as opposed to delivered with the cloud */
  readonly purchased: boolean
  readonly addresses: Map<number, SimAddress>
}

export interface ConfigurationFields {
  image_source?: string
  image_ramdisk_kernel?: string
  image_ramdisk_ramdisk?: string
  kernel_args?: string
  image_os_hash_algo?: 'md5' | 'sha256' | 'sha512'
  image_os_hash_value?: string
  cloud_init?: { data?: string }
}

export interface SimConfiguration {
  readonly id: string
  readonly orgId: string
  label: string
  description: string | undefined
  fields: ConfigurationFields
  readonly createdAt: number
  updatedAt: number
}

export interface SimPublicKey {
  readonly id: string
  readonly orgId: string
  readonly label: string
  readonly description: string | undefined
  readonly keyData: string
  readonly fingerprint: string
  readonly createdAt: number
}

export interface RequestLogEntry {
  readonly method: string
  readonly path: string
  /** when it arrived (Date.now()) */
  readonly at: number
  /** 'dropped' when a fault destroyed the socket, 'abandoned' when the client left first */
  status: number | 'dropped' | 'abandoned'
}

interface Owned { readonly orgId: string }

/** The ID of the simulated user who acts for an organisation (`created_by`). */
export function userOf (orgId: string): string {
  return `usr_${orgId}`
}

export class SimulatorState {
  readonly organizations: readonly SimulatorOrganization[]
  readonly provisioningStepMs: number
  /** how long a deleted cloud stays pending delete before it is wiped */
  readonly wipeAfterMs: number
  readonly clock: () => number

  readonly orders = new Map<string, SimOrder>()
  readonly clouds = new Map<string, SimCloud>()
  readonly prefixes = new Map<string, SimPrefix>()
  /** every cloud's VLANs by Central ID, in creation order */
  readonly vlans = new Map<string, SimVlan>()
  readonly configurations = new Map<string, SimConfiguration>()
  readonly publicKeys = new Map<string, SimPublicKey>()
  readonly tokens = new Map<string, { readonly orgId: string, expiresAt: number }>()
  /** orders whose cloud does not exist yet, so lists need not scan every order */
  readonly undeployed = new Set<SimOrder>()
  /** clouds pending delete, to be wiped once their time has come */
  readonly deleting = new Set<SimCloud>()
  stock: Stock = initialStock()

  /** every API call (admin routes excluded), in arrival order */
  requests: RequestLogEntry[] = []
  tokenExchanges = 0
  ordersCreated = 0
  cloudsDeleted = 0
  powerActions = 0
  /** routed blocks bought with POST /v1/prefixes: each one costs the customer money */
  prefixesBought = 0
  /** bought blocks deleted with DELETE /v1/prefixes/{id}: each one stops billing */
  prefixesDeleted = 0
  ipsCreated = 0
  ipsDeleted = 0

  blocksUsed = 0
  nextAddressId = 1000
  nextPrefixNumber = 400
  nextVlanNumber = 100
  /** older orders each organisation starts with (history.ts); set with setHistoryOrders */
  historyOrders = 0

  constructor (options: { organizations: readonly SimulatorOrganization[], provisioningStepMs: number, wipeAfterMs: number, clock: () => number }) {
    this.organizations = options.organizations
    this.provisioningStepMs = options.provisioningStepMs
    this.wipeAfterMs = options.wipeAfterMs
    this.clock = options.clock
  }

  now (): number {
    return this.clock()
  }

  /** Forgets every resource, token and counter and re-seeds the history; organisations and options stay. */
  reset (): void {
    for (const map of [this.orders, this.clouds, this.prefixes, this.vlans, this.configurations, this.publicKeys, this.tokens]) map.clear()
    this.undeployed.clear()
    this.deleting.clear()
    this.stock = initialStock()
    this.requests = []
    this.tokenExchanges = 0
    this.ordersCreated = 0
    this.cloudsDeleted = 0
    this.powerActions = 0
    this.prefixesBought = 0
    this.prefixesDeleted = 0
    this.ipsCreated = 0
    this.ipsDeleted = 0
    this.blocksUsed = 0
    this.seedHistory()
  }

  /** Changes how many history orders each organisation has, re-seeding them if that changes. */
  setHistoryOrders (count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`historyOrders must be an integer >= 0, not ${count}`)
    if (count === this.historyOrders) return
    this.historyOrders = count
    this.seedHistory()
  }

  /**
   * Replaces the history with `historyOrders` orders per organisation (history.ts), placed
   * before the orders that exist (a Map lists in insertion order).
   */
  private seedHistory (): void {
    const current = [...this.orders.values()].filter((order) => order.history !== true)
    this.orders.clear()
    const now = this.now()
    for (const org of this.organizations) {
      for (let index = 0; index < this.historyOrders; index++) {
        const { request, createdAt } = historyOrder(index, this.historyOrders, now)
        const order: SimOrder = { id: resourceId(), orgId: org.id, request, createdAt, origin: createdAt, pinned: undefined, cloudId: undefined, history: true }
        this.orders.set(order.id, order)
      }
    }
    for (const order of current) this.orders.set(order.id, order)
  }

  counters (): Record<string, number> {
    return {
      requests: this.requests.length,
      tokenExchanges: this.tokenExchanges,
      ordersCreated: this.ordersCreated,
      cloudsDeleted: this.cloudsDeleted,
      powerActions: this.powerActions,
      prefixesBought: this.prefixesBought,
      prefixesDeleted: this.prefixesDeleted,
      ipsCreated: this.ipsCreated,
      ipsDeleted: this.ipsDeleted
    }
  }

  // Credentials ------------------------------------------------------------------------------

  issueToken (clientId: string, secret: string, ttlSeconds: number): string | undefined {
    const org = this.organizations.find((candidate) => candidate.clientId === clientId && candidate.clientSecret === secret)
    if (org === undefined) return undefined
    const token = randomBytes(32).toString('base64url')
    this.tokens.set(token, { orgId: org.id, expiresAt: this.now() + ttlSeconds * 1000 })
    this.tokenExchanges++
    return token
  }

  /** The organisation a bearer token or API key acts for; undefined when unknown or expired. */
  orgOfBearer (token: string): string | undefined {
    const issued = this.tokens.get(token)
    if (issued !== undefined) return issued.expiresAt > this.now() ? issued.orgId : undefined
    return this.organizations.find((org) => org.apiKeys.includes(token))?.id
  }

  expireTokens (): void {
    for (const token of this.tokens.values()) token.expiresAt = 0
  }

  // Tenant-scoped lookups: another organisation's resource does not exist -----------------

  order (orgId: string, id: string): SimOrder | undefined {
    return owned(this.orders, orgId, id)
  }

  cloud (orgId: string, id: string): SimCloud | undefined {
    return owned(this.clouds, orgId, id)
  }

  prefix (orgId: string, id: string): SimPrefix | undefined {
    return owned(this.prefixes, orgId, id)
  }

  vlan (orgId: string, id: string): SimVlan | undefined {
    return owned(this.vlans, orgId, id)
  }

  configuration (orgId: string, id: string): SimConfiguration | undefined {
    return owned(this.configurations, orgId, id)
  }

  publicKey (orgId: string, id: string): SimPublicKey | undefined {
    return owned(this.publicKeys, orgId, id)
  }

  /** The organisation's resources of one kind, oldest first. */
  listOf<T extends Owned> (map: Map<string, T>, orgId: string): T[] {
    return [...map.values()].filter((item) => item.orgId === orgId)
  }

  findNode (uuid: string): { cloud: SimCloud, node: SimNode } | undefined {
    for (const cloud of this.clouds.values()) {
      const node = cloud.nodes.find((candidate) => candidate.uuid === uuid)
      if (node !== undefined) return { cloud, node }
    }
    return undefined
  }
}

function owned<T extends Owned> (map: Map<string, T>, orgId: string, id: string): T | undefined {
  const item = map.get(id)
  return item?.orgId === orgId ? item : undefined
}
