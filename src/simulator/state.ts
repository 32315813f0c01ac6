/**
 * The simulator's world: organisations, orders that deploy clouds over time, nodes, routed
 * prefixes and their addresses, deployment configurations, SSH keys. In memory; time is
 * read from the clock on access, so nothing runs in the background.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Cloud, CloudStats, GetOrder, IpAddress, OrderRequest, PrefixDetailed, PrefixResource, ImageConfiguration } from '../generated/openmetal.ts'
import { formatIpv4, parseIpv4 } from '../mapping/cidr.ts'
import { initialStock } from './catalog.ts'

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

export const PROVISION_STATES = ['pending', 'in_progress', 'awaiting_setup', 'complete'] as const

interface SimOrder {
  readonly id: string
  readonly orgId: string
  readonly request: OrderRequest
  readonly createdAt: number
  updatedAt: number
  forcedStatus: string | undefined
  cloudId: string | undefined
}

interface SimNode {
  readonly uuid: string
  readonly hostname: string
  readonly mac: string
  lockedUntil: number
  powerState: string
}

interface SimCloud {
  readonly id: string
  readonly orgId: string
  readonly orderId: string
  readonly pod: string
  readonly label: string
  readonly uuid: string
  readonly createdAt: number
  pendingDelete: boolean
  readonly nodes: SimNode[]
  readonly prefixIds: string[]
}

interface SimAddress { id: number, ip: string, label: string, assigned_host: string }

interface SimPrefix {
  readonly id: string
  readonly prefixNumber: number
  readonly orgId: string
  readonly cloudId: string
  readonly pod: string
  readonly network: number
  readonly usage: 'inventory' | 'provider'
  readonly createdAt: string
  readonly addresses: Map<number, SimAddress>
  readonly vlanId: number
  readonly purchased: boolean
}

export interface RequestLogEntry { method: string, path: string, status: number | 'dropped' }

/** 198.18.0.0/15 (reserved for benchmarks): 8192 routed /28 blocks. */
const ADDRESS_SPACE = parseIpv4('198.18.0.0') ?? 0
const USABLE_FROM = 4
const USABLE_TO = 14

function id (length = 10): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('')
}

function mac (): string {
  return ['02', ...Array.from(randomBytes(5), (byte) => byte.toString(16).padStart(2, '0'))].join(':')
}

export class SimulatorState {
  readonly organizations: SimulatorOrganization[]
  readonly orders = new Map<string, SimOrder>()
  readonly clouds = new Map<string, SimCloud>()
  readonly prefixes = new Map<string, SimPrefix>()
  readonly configurations = new Map<string, ImageConfiguration & { orgId: string }>()
  readonly publicKeys = new Map<string, { id: string, orgId: string, label: string, key: string }>()
  readonly tokens = new Map<string, { orgId: string, expiresAt: number }>()
  stock = initialStock()
  requests: RequestLogEntry[] = []
  tokenExchanges = 0
  ordersCreated = 0
  prefixesBought = 0
  ipsCreated = 0
  ipsDeleted = 0
  private blocksUsed = 0
  private nextAddressId = 1000
  private nextPrefixNumber = 1
  private readonly clock: () => number
  private readonly stepMs: number

  constructor (options: { organizations: SimulatorOrganization[], clock: () => number, provisioningStepMs: number }) {
    this.organizations = options.organizations
    this.clock = options.clock
    this.stepMs = options.provisioningStepMs
  }

  reset (): void {
    this.orders.clear()
    this.clouds.clear()
    this.prefixes.clear()
    this.configurations.clear()
    this.publicKeys.clear()
    this.tokens.clear()
    this.stock = initialStock()
    this.requests = []
    this.tokenExchanges = 0
    this.ordersCreated = 0
    this.prefixesBought = 0
    this.ipsCreated = 0
    this.ipsDeleted = 0
  }

  // Credentials ----------------------------------------------------------------------------

  issueToken (clientId: string, secret: string, ttlSeconds: number): string | undefined {
    const org = this.organizations.find((candidate) => candidate.clientId === clientId && candidate.clientSecret === secret)
    if (org === undefined) return undefined
    const token = randomBytes(24).toString('base64url')
    this.tokens.set(token, { orgId: org.id, expiresAt: this.clock() + ttlSeconds * 1000 })
    this.tokenExchanges++
    return token
  }

  orgOfBearer (token: string): string | undefined {
    const issued = this.tokens.get(token)
    if (issued !== undefined) return issued.expiresAt > this.clock() ? issued.orgId : undefined
    return this.organizations.find((org) => org.apiKeys.includes(token))?.id
  }

  expireTokens (): void {
    for (const token of this.tokens.values()) token.expiresAt = 0
  }

  // Orders and their progress ---------------------------------------------------------------

  createOrder (orgId: string, request: OrderRequest): GetOrder {
    const now = this.clock()
    const order: SimOrder = { id: id(), orgId, request, createdAt: now, updatedAt: now, forcedStatus: undefined, cloudId: undefined }
    for (const item of request.fields.items) {
      const pod = this.stock[item.location]
      if (pod !== undefined) pod[item.hardware_sku] = (pod[item.hardware_sku] ?? 0) - item.quantity
    }
    this.orders.set(order.id, order)
    this.ordersCreated++
    return this.orderView(order)
  }

  order (orgId: string, orderId: string): SimOrder | undefined {
    const order = this.orders.get(orderId)
    return order?.orgId === orgId ? order : undefined
  }

  /** The provisioning state now: advanced by the clock, unless an operator forced one. */
  statusOf (order: SimOrder): string | undefined {
    if (order.forcedStatus !== undefined) return order.forcedStatus
    const steps = Math.floor((this.clock() - order.createdAt) / this.stepMs)
    return steps < 1 ? undefined : PROVISION_STATES[Math.min(steps, PROVISION_STATES.length) - 1]
  }

  setOrderStatus (orderId: string, status: string): void {
    const order = this.orders.get(orderId)
    if (order === undefined) throw new Error(`no order ${orderId}`)
    this.materialize(order)
    order.forcedStatus = status
    order.updatedAt = this.clock()
  }

  /** Creates the order's cloud (nodes, routed prefixes) the first time it is due. */
  materialize (order: SimOrder): SimCloud | undefined {
    if (order.cloudId !== undefined) return this.clouds.get(order.cloudId)
    if (this.statusOf(order) === undefined && order.forcedStatus === undefined) return undefined
    const item = order.request.fields.items[0]
    const pod = item?.location ?? 'pod_1'
    const cloud: SimCloud = {
      id: id(),
      orgId: order.orgId,
      orderId: order.id,
      pod,
      label: order.request.label,
      uuid: randomUUID(),
      createdAt: this.clock(),
      pendingDelete: false,
      nodes: Array.from({ length: item?.quantity ?? 1 }, (_, index) => ({ uuid: randomUUID(), hostname: `${item?.hardware_sku ?? 'node'}-${index + 1}`, mac: mac(), lockedUntil: 0, powerState: 'power on' })),
      prefixIds: []
    }
    for (const usage of ['inventory', 'provider'] as const) cloud.prefixIds.push(this.addPrefix(order.orgId, cloud.id, pod, usage, false).id)
    const inventory = this.prefixes.get(cloud.prefixIds[0] ?? '')
    cloud.nodes.forEach((node, index) => {
      if (inventory === undefined) return
      const addressId = this.nextAddressId++
      inventory.addresses.set(addressId, { id: addressId, ip: formatIpv4(inventory.network + USABLE_FROM + index), label: `${node.hostname} primary`, assigned_host: node.uuid })
    })
    this.clouds.set(cloud.id, cloud)
    order.cloudId = cloud.id
    return cloud
  }

  orderView (order: SimOrder): GetOrder {
    const cloud = this.materialize(order)
    const status = this.statusOf(order)
    return {
      id: order.id,
      type: 'orders',
      label: order.request.label,
      ...(order.request.description === undefined ? {} : { description: order.request.description }),
      created_at: new Date(order.createdAt).toISOString(),
      updated_at: new Date(order.updatedAt).toISOString(),
      is_active: true,
      created_by: 'sim-user',
      fields: {
        ...order.request.fields,
        organization_id: order.orgId,
        schema_version: '1',
        clouds_deployed: cloud === undefined || status === undefined ? [] : [{ id: cloud.id, provision_status: status }]
      },
      access: { role: 'owner' }
    }
  }

  // Clouds ------------------------------------------------------------------------------------

  cloud (orgId: string, cloudId: string): SimCloud | undefined {
    const cloud = this.clouds.get(cloudId)
    return cloud?.orgId === orgId ? cloud : undefined
  }

  cloudStatus (cloud: SimCloud): string {
    const order = this.orders.get(cloud.orderId)
    return order === undefined ? 'complete' : this.statusOf(order) ?? 'pending'
  }

  cloudView (cloud: SimCloud): Cloud {
    const status = this.cloudStatus(cloud)
    return {
      id: cloud.id,
      label: cloud.label,
      created_at: new Date(cloud.createdAt).toISOString(),
      fields: {
        cloud_type: 'baremetal',
        cloud_uuid: cloud.uuid,
        cloud_version: '1',
        owner_name: 'Simulated Owner',
        organization_id: cloud.orgId,
        hostname: `${cloud.id.toLowerCase()}.sim.openmetal.test`,
        order_id: cloud.orderId,
        pod_location: cloud.pod,
        provision_status: status,
        ...(status === 'complete' ? { provision_completion_time: new Date(cloud.createdAt).toISOString() } : {}),
        pending_delete: cloud.pendingDelete
      }
    }
  }

  statsView (cloud: SimCloud): CloudStats {
    const status = this.cloudStatus(cloud)
    const deployed = status !== 'pending'
    const inventory = this.prefixes.get(cloud.prefixIds[0] ?? '')
    return {
      name: cloud.id,
      label: cloud.label,
      cloud_uuid: cloud.uuid,
      cloud_state: cloud.pendingDelete ? 'PENDING-DELETE' : status === 'complete' ? 'RUNNING' : 'PROVISIONING',
      cloud_hostname: `${cloud.id.toLowerCase()}.sim.openmetal.test`,
      cloud_hosts: deployed ? cloud.nodes.map((node) => node.uuid) : [],
      maintenance: false,
      creation_date: new Date(cloud.createdAt).toISOString(),
      pending_number: 0,
      pending_tasks: [],
      pending_date: null,
      prevent_delete: false,
      nodes: deployed
        ? cloud.nodes.map((node) => ({
          uuid: node.uuid,
          state: status === 'complete' ? 'active' : 'deploying',
          power_state: node.powerState,
          hostname: node.hostname,
          type: 'baremetal',
          networks: [{ mac_address: node.mac }],
          ipaddress: [...(inventory?.addresses.values() ?? [])].find((address) => address.assigned_host === node.uuid)?.ip ?? '',
          vlans: [],
          maintenance: false
        }))
        : [],
      vlans: cloud.prefixIds.flatMap((prefixId) => {
        const prefix = this.prefixes.get(prefixId)
        return prefix === undefined
          ? []
          : [{ id: prefix.vlanId, uuid: randomUUID(), label: prefix.usage, vlan_type: 'routed' as const, state: 'ROUTED' as const, prefixes: [{ id: prefix.prefixNumber, cidr: `${formatIpv4(prefix.network)}/28`, prefix_type: 'routed' as const, usage: prefix.usage, status: 'ROUTED' as const, managed_addressing: 'off' as const, ip_addrs: [...prefix.addresses.values()].map((address) => ({ label: address.label, assigned_host: address.assigned_host === '' ? null : address.assigned_host, ip: address.ip })) }] }]
      })
    }
  }

  // Prefixes and addresses -------------------------------------------------------------------

  addPrefix (orgId: string, cloudId: string, pod: string, usage: 'inventory' | 'provider', purchased: boolean): SimPrefix {
    const prefix: SimPrefix = {
      id: id(),
      prefixNumber: this.nextPrefixNumber++,
      orgId,
      cloudId,
      pod,
      network: ADDRESS_SPACE + 16 * (this.blocksUsed++ % 8192),
      usage,
      createdAt: new Date(this.clock()).toISOString(),
      addresses: new Map(),
      vlanId: 100 + this.nextPrefixNumber,
      purchased
    }
    this.prefixes.set(prefix.id, prefix)
    if (purchased) this.prefixesBought++
    return prefix
  }

  prefix (orgId: string, prefixId: string): SimPrefix | undefined {
    const prefix = this.prefixes.get(prefixId)
    return prefix?.orgId === orgId ? prefix : undefined
  }

  prefixView (prefix: SimPrefix): PrefixResource {
    return {
      id: prefix.id,
      type: 'prefixes',
      label: `${prefix.usage} block`,
      created_at: prefix.createdAt,
      updated_at: prefix.createdAt,
      is_active: true,
      created_by: 'sim-user',
      fields: {
        created_from: 'central',
        pod_location: prefix.pod,
        prefix_id: prefix.prefixNumber,
        cidr: `${formatIpv4(prefix.network)}/28`,
        prefix_type: 'routed',
        length: 28,
        managed_addressing: 'off',
        alterable: prefix.purchased,
        cloud_id: prefix.cloudId,
        vlan_id: prefix.vlanId,
        product_addon: 'ipv4_block_28'
      }
    }
  }

  prefixDetail (prefix: SimPrefix): PrefixDetailed {
    return {
      id: prefix.prefixNumber,
      cidr: `${formatIpv4(prefix.network)}/28`,
      prefix_type: 'routed',
      usage: prefix.usage,
      status: 'ROUTED',
      managed_addressing: 'off',
      vlan_id: prefix.vlanId,
      children: [],
      ip_addrs: [...prefix.addresses.values()].map((address) => ({ ...address }))
    }
  }

  /** 'full' when no usable address is left; 'taken'/'outside' for a bad explicit address. */
  createAddress (prefix: SimPrefix, request: { ip?: string | undefined, label?: string | undefined, assigned_host?: string | undefined }): IpAddress | 'full' | 'taken' | 'outside' {
    const used = new Set([...prefix.addresses.values()].map((address) => parseIpv4(address.ip)))
    let address: number | undefined
    if (request.ip !== undefined) {
      const wanted = parseIpv4(request.ip)
      if (wanted === undefined || wanted < prefix.network + USABLE_FROM || wanted > prefix.network + USABLE_TO) return 'outside'
      if (used.has(wanted)) return 'taken'
      address = wanted
    } else {
      for (let candidate = prefix.network + USABLE_FROM; candidate <= prefix.network + USABLE_TO; candidate++) {
        if (!used.has(candidate)) { address = candidate; break }
      }
      if (address === undefined) return 'full'
    }
    const row: SimAddress = { id: this.nextAddressId++, ip: formatIpv4(address), label: request.label ?? '', assigned_host: request.assigned_host ?? '' }
    prefix.addresses.set(row.id, row)
    this.ipsCreated++
    return { ...row }
  }

  // Configurations -----------------------------------------------------------------------------

  addConfiguration (orgId: string, label: string, fields: ImageConfiguration['fields']): ImageConfiguration {
    const now = new Date(this.clock()).toISOString()
    const configuration = { id: id(), label, fields: { ...fields, organization_id: orgId }, created_at: now, updated_at: now, orgId }
    this.configurations.set(configuration.id, configuration)
    const { orgId: _orgId, ...view } = configuration
    return view
  }
}
