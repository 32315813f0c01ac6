/**
 * What the adapter reads of each OpenMetal answer: the needed parts of the generated
 * schemas (src/generated/openmetal.ts), picked field by field. Everything not named here
 * is dropped unread by the tolerant reader (tolerant-reader.ts), so OpenMetal may add,
 * null or change it freely. Where a needed field is an enum OpenMetal controls, it is read
 * as a string and compared by the caller, so a new value is "not this one", never an error.
 */
import { Type, type Static, type TSchema } from 'typebox'
import * as OM from '../generated/openmetal.ts'
import { Tolerant } from './tolerant-reader.ts'

/** exchangeToken: the bearer token and how long it lives ("14400" reads as 14400). */
export const TokenAnswer = Type.Pick(OM.OAuthTokenResponse, ['access_token', 'expires_in'])
export type TokenAnswer = Static<typeof TokenAnswer>

/**
 * getAccountProfile: the UUID of the organisation the credentials act for, what leases are
 * keyed by; optional in the spec, required here (without it no lease can be keyed).
 */
export const AccountProfileAnswer = Type.Required(Type.Pick(OM.AccountProfile, ['account_uuid']))
export type AccountProfileAnswer = Static<typeof AccountProfileAnswer>

/** One pod of getLocations; every field is optional (a pod is known by its key). */
export const PodAnswer = Type.Partial(Type.Pick(OM.LocationDetails, ['label', 'displayName', 'region', 'code', 'latitude', 'longitude', 'release_status']))
export type PodAnswer = Static<typeof PodAnswer>

/** getLocations: pod key -> details (of the map `podMapIn` finds). */
export const PodsAnswer = Tolerant.MapOf(PodAnswer)
export type PodsAnswer = Static<typeof PodsAnswer>

/**
 * The pod map of a locations answer: wrapped in `locations` (the spec), or bare (how the
 * mapping brief describes it), where only entries that describe a place are pods (the bare
 * map may carry other keys, such as a timestamp).
 */
export function podMapIn (body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body
  const wrapped = (body as Record<string, unknown>).locations
  if (typeof wrapped === 'object' && wrapped !== null && !Array.isArray(wrapped)) return wrapped
  return Object.fromEntries(Object.entries(body).filter(([, details]) => {
    const place = typeof details === 'object' && details !== null ? details as Record<string, unknown> : {}
    return ['displayName', 'code', 'label'].some((key) => typeof place[key] === 'string')
  }))
}

/** The fields of `needed` that must be there, with those of `optional` that may be (one flat object). */
function fields<N extends TSchema, O extends TSchema> (needed: N, optional: O) {
  return Type.Evaluate(Type.Intersect([needed, Type.Partial(optional)]))
}

const hardware = OM.HardwareType.properties
const drive = Type.Pick(OM.DriveDetails, ['raw', 'count'])
const storageComponent = Type.Object({
  name: OM.StorageComponent.properties.name,
  type: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  // a drive entry that cannot be read is one drive less, not a SKU less
  drives: Tolerant.ListOf(drive)
})

/** One hardware type (SKU) of getProducts, as the server-models mapping reads it. */
export const HardwareAnswer = Type.Object({
  variant_label: Type.Optional(hardware.variant_label),
  processor: fields(Type.Pick(hardware.processor, ['raw_cores', 'raw_threads', 'cpuCount', 'name']), Type.Pick(hardware.processor, ['type', 'speed'])),
  ram: fields(Type.Pick(hardware.ram, ['raw']), Type.Pick(hardware.ram, ['type', 'speed'])),
  storage: Type.Optional(Type.Object({ nvme_ssd: Type.Optional(storageComponent), boot: Type.Optional(storageComponent) })),
  network: Type.Optional(Type.Pick(hardware.network, ['speed', 'count'])),
  gpu: Type.Optional(hardware.gpu),
  // an odd product (an add-on of a kind the spec does not know) does not hide the SKU
  products: Tolerant.ListOf(fields(Type.Pick(OM.HardwareProduct, ['name', 'add_on_code']), Type.Pick(OM.HardwareProduct, ['hourly_cost_mils', '30_day_cost_mils'])))
})
export type HardwareAnswer = Static<typeof HardwareAnswer>

/** getProducts: SKU -> hardware; add-ons are not read. */
export const ProductsAnswer = Type.Object({ hardware: Tolerant.MapOf(HardwareAnswer) })
export type ProductsAnswer = Static<typeof ProductsAnswer>

/** getAvailability: SKU -> stock ("3" reads as 3); `timestamp` and `pod_location` are not stock. */
export const AvailabilityAnswer = Type.Object(
  { timestamp: Type.Optional(Type.Unknown()), pod_location: Type.Optional(Type.Unknown()) },
  { additionalProperties: Type.Object({ count: Type.Integer() }), 'x-skip-unreadable': true }
)
export type AvailabilityAnswer = Static<typeof AvailabilityAnswer>

/** SKU -> stock of an availability answer, without its `timestamp` and `pod_location`. */
export function stockIn (answer: AvailabilityAnswer): Record<string, { count: number }> {
  const { timestamp: _timestamp, pod_location: _pod, ...stock } = answer as AvailabilityAnswer & { timestamp?: unknown, pod_location?: unknown }
  return stock as Record<string, { count: number }>
}

const order = OM.GetOrder.properties
const orderItem = order.fields.properties.items.items

/** An order (listOrders item, getOrder, createOrder): its tag, state, pod and the cloud it deployed. */
export const OrderAnswer = Type.Object({
  id: order.id,
  label: order.label,
  is_active: order.is_active,
  created_at: Type.Optional(order.created_at),
  updated_at: Type.Optional(order.updated_at),
  fields: Type.Object({
    items: Type.Optional(Tolerant.ListOf(Type.Partial(Type.Pick(orderItem, ['location', 'hardware_sku'])))),
    // id, and the state under the schema's name or the prose's (the correction layer reads both, as strings)
    clouds_deployed: order.fields.properties.clouds_deployed
  })
})
export type OrderAnswer = Static<typeof OrderAnswer>

const cloudFields = OM.Cloud.properties.fields
/** getCloud, listClouds item: how far the cloud is, whether it is being deleted, and its tag (the inventory). */
export const CloudAnswer = Type.Object({
  id: Type.Optional(OM.Cloud.properties.id),
  label: Type.Optional(OM.Cloud.properties.label),
  created_at: Type.Optional(OM.Cloud.properties.created_at),
  fields: Type.Optional(Type.Partial(Type.Pick(cloudFields, ['order_id', 'pod_location', 'provision_status', 'pending_delete'])))
})
export type CloudAnswer = Static<typeof CloudAnswer>

const node = OM.CloudStatsNode.properties
/** One node of getCloudStats: what CycleOS needs to boot it (an entry without a uuid is not a node: skipped). */
export const NodeAnswer = Type.Object({
  uuid: Type.String(),
  ipaddress: Type.Optional(Tolerant.Address()),
  power_state: Type.Optional(Type.String()),
  networks: Type.Optional(Tolerant.ListOf(Type.Partial(Type.Pick(node.networks.items, ['mac_address']))))
})
export type NodeAnswer = Static<typeof NodeAnswer>

/** getCloudStats: the cloud's state and its nodes. */
export const CloudStatsAnswer = Type.Object({
  cloud_state: Type.Optional(Type.String()),
  nodes: Type.Optional(Tolerant.ListOf(NodeAnswer))
})
export type CloudStatsAnswer = Static<typeof CloudStatsAnswer>

const prefixFields = OM.PrefixResource.properties.fields.properties
/**
 * listPrefixes item, createPrefix: an IP block, whose cloud, pod, type and CIDR the
 * allocation needs, and the VLAN it is on (a bought block must be on one to route, and
 * taken off it before it can be deleted).
 */
export const PrefixAnswer = Type.Object({
  id: OM.PrefixResource.properties.id,
  label: Type.Optional(OM.PrefixResource.properties.label),
  created_at: Type.Optional(OM.PrefixResource.properties.created_at),
  fields: Type.Object({
    cloud_id: Type.Optional(prefixFields.cloud_id),
    pod_location: Type.Optional(Type.String()),
    // private, routed, allocation today; read as a string so a new type is "not routed"
    prefix_type: Type.Optional(Type.String()),
    cidr: Type.Optional(prefixFields.cidr),
    central_vlan_id: Type.Optional(prefixFields.central_vlan_id)
  })
})
export type PrefixAnswer = Static<typeof PrefixAnswer>

const vlanFields = OM.VlanResource.properties.fields.properties
/** listVlans item: a VLAN, its cloud, pod and type, and its label (which says Inventory or Provider). */
export const VlanAnswer = Type.Object({
  id: OM.VlanResource.properties.id,
  label: Type.Optional(OM.VlanResource.properties.label),
  fields: Type.Object({
    cloud_id: Type.Optional(vlanFields.cloud_id),
    pod_location: Type.Optional(Type.String()),
    // internal, routed, access today; read as a string
    vlan_type: Type.Optional(Type.String())
  })
})
export type VlanAnswer = Static<typeof VlanAnswer>

/** One address of a block (an entry without its address cannot be counted or released: skipped). */
export const AddressAnswer = Type.Object({
  ip: Tolerant.Address(),
  id: Type.Optional(OM.IpAddress.properties.id),
  label: Type.Optional(OM.IpAddress.properties.label)
})
export type AddressAnswer = Static<typeof AddressAnswer>

/** createIpAddress: the new address and its ID (the address may come with its prefix length). */
export const CreatedAddressAnswer = Type.Object({ id: Type.Integer(), ip: Tolerant.Address(), label: Type.Optional(Type.String()) })
export type CreatedAddressAnswer = Static<typeof CreatedAddressAnswer>

const configuration = OM.ImageConfiguration.properties
const configurationFields = configuration.fields.properties
/**
 * listConfigurations item, getConfiguration, createConfiguration, updateConfiguration: a
 * deployment configuration's label and its deployment mode (`kernel_args` is read without
 * the spec's length limit: a longer one OpenMetal kept is still the one to compare).
 */
export const ConfigurationAnswer = Type.Object({
  id: configuration.id,
  label: configuration.label,
  fields: Type.Optional(Type.Object({
    image_source: configurationFields.image_source,
    image_ramdisk_kernel: configurationFields.image_ramdisk_kernel,
    image_ramdisk_ramdisk: configurationFields.image_ramdisk_ramdisk,
    kernel_args: Type.Optional(Type.String()),
    cloud_init: configurationFields.cloud_init
  }))
})
export type ConfigurationAnswer = Static<typeof ConfigurationAnswer>
