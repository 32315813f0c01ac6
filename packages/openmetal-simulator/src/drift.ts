/**
 * Drift mode: the small, plausible deviations from OpenMetal's spec that the real API shows
 * (nulls for optional fields, enum values the spec does not list, numbers as strings, unknown
 * fields and entries, addresses with their prefix length, paged lists). Every deviation is
 * made here, in one transform per route applied to a successful answer after its handler;
 * the handlers keep answering the spec's shapes. Requests are validated as without drift.
 */
import { HttpError, type Answer } from './http.ts'
import { stableId } from './ids.ts'
import { BLOCK_LENGTH, formatIpv4, parseIpv4 } from './ipv4.ts'
import { paginate } from './paging.ts'
import { userOf } from './state.ts'

export const DRIFTS = ['nulls', 'enums', 'strings', 'extras', 'cidr-ip', 'link-pages', 'wrapped-pages'] as const
export type Drift = typeof DRIFTS[number]

/** The drifts that change a body; applied in this order, so cidr-ip also reaches entries extras added. */
const BODY_DRIFTS = ['nulls', 'enums', 'strings', 'extras', 'cidr-ip'] as const satisfies readonly Drift[]
type BodyDrift = typeof BODY_DRIFTS[number]

export function isDrift (value: unknown): value is Drift {
  return (DRIFTS as readonly unknown[]).includes(value)
}

/** Drift names as a CLI or the admin API gives them (`all` = every drift), deduplicated, in DRIFTS order; 400 for an unknown name. */
export function parseDrifts (names: readonly unknown[]): Drift[] {
  const unknown = names.filter((name) => name !== 'all' && !isDrift(name))
  if (unknown.length > 0) throw new HttpError(400, `unknown drift ${unknown.map((name) => JSON.stringify(name)).join(', ')} (known: ${DRIFTS.join(', ')}, or all)`)
  return DRIFTS.filter((drift) => names.includes('all') || names.includes(drift))
}

export interface DriftContext {
  /** the simulator's own origin, e.g. http://127.0.0.1:8090 */
  readonly origin: string
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  /** the calling organisation; '' on public routes */
  readonly org: string
  readonly pageSize: number
}

type Json = Record<string, unknown>
type Edit = (body: unknown, context: DriftContext) => void
type ItemEdit = (item: Json, context: DriftContext) => void
type ItemEdits = Partial<Record<BodyDrift, ItemEdit>>

interface Shape {
  readonly edits: Partial<Record<BodyDrift, Edit>>
  /** paths of objects keyed by name (pods, SKUs), which get no unknown fields: `*` is any key or index, '' the body */
  readonly maps?: readonly string[]
}

// Small tools over parsed JSON -------------------------------------------------------------

function isJson (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The object at `keys` below `value`, if there is one. */
function objectAt (value: unknown, ...keys: string[]): Json | undefined {
  let current = value
  for (const key of keys) current = isJson(current) ? current[key] : undefined
  return isJson(current) ? current : undefined
}

/** The object entries of the array at `keys` below `value` (the value itself with no keys). */
function itemsAt (value: unknown, ...keys: string[]): Json[] {
  const list = keys.length === 0 ? value : objectAt(value, ...keys.slice(0, -1))?.[keys.at(-1) ?? '']
  return Array.isArray(list) ? list.filter(isJson) : []
}

function numbersAsStrings (target: Json | undefined, ...keys: string[]): void {
  for (const key of keys) {
    const value = target?.[key]
    if (target !== undefined && typeof value === 'number') target[key] = String(value)
  }
}

function withLength (target: Json | undefined, key: string): void {
  const value = target?.[key]
  if (target !== undefined && typeof value === 'string' && !value.includes('/')) target[key] = `${value}/${BLOCK_LENGTH}`
}

function replace (target: Json | undefined, key: string, from: unknown, to: unknown): void {
  if (target !== undefined && target[key] === from) target[key] = to
}

function lift (edits: ItemEdits, over: (body: unknown) => Json[]): Partial<Record<BodyDrift, Edit>> {
  const lifted: Partial<Record<BodyDrift, Edit>> = {}
  for (const drift of BODY_DRIFTS) {
    const edit = edits[drift]
    if (edit !== undefined) lifted[drift] = (body, context) => { for (const item of over(body)) edit(item, context) }
  }
  return lifted
}

/** The edits on the body when it is an object. */
function single (edits: ItemEdits): Shape {
  return { edits: lift(edits, (body) => isJson(body) ? [body] : []) }
}

/** The edits on every item of a listed body; under extras, an entry of another kind first. */
function list (edits: ItemEdits, extra?: (context: DriftContext) => Json): Shape {
  const each = lift(edits, (body) => itemsAt(body))
  if (extra === undefined) return { edits: each }
  const extras: Edit = (body, context) => {
    each.extras?.(body, context)
    // the odd entry gets no item edits; the extras walk still adds unknown fields to it
    if (Array.isArray(body)) body.unshift(extra(context))
  }
  return { edits: { ...each, extras } }
}

// Resources --------------------------------------------------------------------------------

const ENTRY_DATE = '2024-01-15T09:30:00.000Z'

/** An old private resource made outside Central (omapi), without cloud or network numbers: the odd entry of a resource list. */
function legacyResource (org: string, type: string, label: string, fields: Json): Json {
  return {
    id: stableId(`${label} ${org}`),
    type,
    label,
    created_at: ENTRY_DATE,
    updated_at: ENTRY_DATE,
    is_active: true,
    created_by: userOf(org),
    fields: { created_from: 'omapi', pod_location: 'pod_1', ...fields }
  }
}

function orderEdits (listed: boolean): ItemEdits {
  return {
    nulls (order) {
      order.description ??= null
      const fields = objectAt(order, 'fields')
      if (listed && fields !== undefined) fields.config_options = null
    },
    enums (order) {
      order.type = 'subscription'
      const access = objectAt(order, 'access')
      if (!listed && access !== undefined) access.role = 'billing'
    }
  }
}

const cloudEdits: ItemEdits = {
  nulls (cloud) {
    cloud.description ??= null
    const fields = objectAt(cloud, 'fields')
    if (fields === undefined) return
    fields.hostname = null
    if (fields.provision_status !== 'complete') fields.provision_completion_time = null
  }
}

const prefixEdits: ItemEdits = {
  nulls (prefix) { prefix.description ??= null },
  enums (prefix) { replace(objectAt(prefix, 'fields'), 'managed_addressing', 'off', 'dhcp') },
  strings (prefix) { numbersAsStrings(objectAt(prefix, 'fields'), 'length', 'prefix_id') }
}

/** vlan_type stays: the adapter picks a routed VLAN by it. */
const vlanEdits: ItemEdits = {
  nulls (vlan) { vlan.description ??= null },
  strings (vlan) { numbersAsStrings(objectAt(vlan, 'fields'), 'vlan_id') }
}

const configurationEdits: ItemEdits = {
  nulls (configuration) { configuration.description ??= null }
}

/** What OpenMetal sells that the simulator's catalog does not: a RAM add-on, so enums has one to retype. */
const MEMORY_ADDON = { name: 'Memory upgrade 256GB', add_on_code: 'memory_256gb', hourly_cost: 0.25, hourly_cost_ltu: null, '30_day_cost': 180, hourly_cost_mils: 250, hourly_cost_ltu_mils: null, '30_day_cost_mils': 180_000, type: 'memory' }

const PRICE_KEYS = ['hourly_cost_mils', '30_day_cost_mils']

const productEdits: ItemEdits = {
  nulls (catalog) {
    for (const sku of Object.values(objectAt(catalog, 'hardware') ?? {}).filter(isJson)) {
      Object.assign(sku, { variant_label: null, display_name: null, publishedAt: null })
    }
  },
  enums (catalog) {
    for (const sku of Object.values(objectAt(catalog, 'hardware') ?? {})) {
      for (const product of itemsAt(sku, 'products')) product.type = 'server_v2'
    }
    const addons = objectAt(catalog, 'addons')
    if (addons === undefined) return
    if (itemsAt(addons, 'memory').length === 0) addons.memory = [{ ...MEMORY_ADDON }]
    for (const addon of itemsAt(addons, 'memory')) addon.type = 'memory_v2'
  },
  strings (catalog) {
    for (const sku of Object.values(objectAt(catalog, 'hardware') ?? {})) {
      numbersAsStrings(objectAt(sku, 'processor'), 'cpuCount', 'raw_cores', 'raw_threads')
      numbersAsStrings(objectAt(sku, 'network'), 'speed', 'count')
      for (const storage of Object.values(objectAt(sku, 'storage') ?? {})) {
        for (const drive of itemsAt(storage, 'drives')) numbersAsStrings(drive, 'count')
      }
      for (const product of itemsAt(sku, 'products')) numbersAsStrings(product, ...PRICE_KEYS)
    }
    for (const category of Object.values(objectAt(catalog, 'addons') ?? {})) {
      for (const addon of itemsAt(category)) numbersAsStrings(addon, ...PRICE_KEYS)
    }
  },
  extras (catalog) {
    const hardware = objectAt(catalog, 'hardware')
    if (hardware !== undefined) hardware.legacy_v1 = { id: 999, name: 'legacy_v1', products: null }
  }
}

const availabilityEdits: ItemEdits = {
  strings (availability) {
    for (const entry of Object.values(availability)) if (isJson(entry)) numbersAsStrings(entry, 'count', 'max_size')
  },
  extras (availability) { availability.note = 'stock refreshed hourly' }
}

const statsEdits: ItemEdits = {
  nulls (stats) {
    for (const node of itemsAt(stats, 'nodes')) Object.assign(node, { hostname: null, rack: null, maintenance: null })
  },
  enums (stats) {
    // a cloud being deleted still says so: only the healthy state is renamed
    replace(stats, 'cloud_state', 'RUNNING', 'HEALTHY')
    for (const node of itemsAt(stats, 'nodes')) replace(node, 'state', 'active', 'provisioned_v2')
    for (const vlan of itemsAt(stats, 'vlans')) vlan.vlan_type = 'evpn'
  },
  strings (stats) {
    for (const node of itemsAt(stats, 'nodes')) numbersAsStrings(node, 'cpu')
  },
  extras (stats) {
    const nodes = stats.nodes
    if (Array.isArray(nodes)) nodes.push({ type: 'switch', hostname: 'sw-a1' })
  },
  'cidr-ip' (stats) {
    for (const node of itemsAt(stats, 'nodes')) withLength(node, 'ipaddress')
    for (const vlan of itemsAt(stats, 'vlans')) {
      for (const prefix of itemsAt(vlan, 'prefixes')) {
        for (const address of itemsAt(prefix, 'ip_addrs')) withLength(address, 'ip')
      }
    }
  }
}

/** The VRRP gateway of a block: its network address + 1. */
function gatewayOf (cidr: unknown): string | undefined {
  const network = typeof cidr === 'string' ? parseIpv4(cidr.split('/')[0] ?? '') : undefined
  return network === undefined ? undefined : formatIpv4(network + 1)
}

const prefixDetailEdits: ItemEdits = {
  nulls (detail) {
    detail.description ??= null
    for (const address of itemsAt(detail, 'ip_addrs')) replace(address, 'assigned_host', '', null)
  },
  enums (detail) {
    Object.assign(detail, { usage: 'customer', status: 'RESERVED', managed_addressing: 'dhcp' })
  },
  strings (detail) {
    for (const address of itemsAt(detail, 'ip_addrs')) numbersAsStrings(address, 'id')
  },
  extras (detail) {
    const gateway = gatewayOf(detail.cidr)
    if (Array.isArray(detail.ip_addrs) && gateway !== undefined) detail.ip_addrs.unshift({ ip: gateway, label: 'gateway (reserved)' })
  },
  'cidr-ip' (detail) {
    for (const address of itemsAt(detail, 'ip_addrs')) withLength(address, 'ip')
  }
}

const createdIpEdits: ItemEdits = {
  strings (address) { numbersAsStrings(address, 'id') },
  'cidr-ip' (address) { withLength(address, 'ip') }
}

const SHAPES: Readonly<Record<string, Shape>> = {
  'GET /v1/oauth2/token': single({ strings: (token) => { numbersAsStrings(token, 'expires_in') } }),
  'GET /v2/inventory/locations': {
    ...single({ extras: (answer) => { const pods = objectAt(answer, 'locations'); if (pods !== undefined) pods.pod_99 = 'decommissioned' } }),
    maps: ['locations']
  },
  'GET /v1/products': { ...single(productEdits), maps: ['hardware', 'hardware.*.locations', 'hardware.*.storage', 'addons'] },
  'GET /v2/inventory/:pod/availability': { ...single(availabilityEdits), maps: [''] },
  'GET /v1/orders': list(orderEdits(true), ({ org }) => ({ id: stableId(`addon order ${org}`), type: 'addon', label: null, fields: { organization_id: org }, is_active: true, created_at: ENTRY_DATE })),
  'POST /v1/orders': single(orderEdits(false)),
  'GET /v1/orders/:orderId': single(orderEdits(false)),
  'GET /v1/clouds': list(cloudEdits, ({ org }) => ({ id: stableId(`bare cloud ${org}`), label: null })),
  'GET /v1/clouds/:cloudId': single(cloudEdits),
  'GET /v1/clouds/:cloudId/stats': single(statsEdits),
  'GET /v1/prefixes': list(prefixEdits, ({ org }) => legacyResource(org, 'prefixes', 'Legacy private block', { prefix_type: 'private' })),
  'POST /v1/prefixes': single(prefixEdits),
  'GET /v1/prefixes/:prefixId': single(prefixEdits),
  'PATCH /v1/prefixes/:prefixId': single(prefixEdits),
  'GET /v1/vlans': list(vlanEdits, ({ org }) => legacyResource(org, 'vlans', 'Legacy internal VLAN', { vlan_type: 'internal' })),
  'GET /v1/vlans/:vlanId': single(vlanEdits),
  'GET /v1/deployment/network/prefix/:prefixId': single(prefixDetailEdits),
  'POST /v1/deployment/network/prefixes/:prefixId/ip': single(createdIpEdits),
  'GET /v1/configurations': list(configurationEdits),
  'POST /v1/configurations': single(configurationEdits),
  'GET /v1/configurations/:configurationId': single(configurationEdits),
  'PATCH /v1/configurations/:configurationId': single(configurationEdits)
}

/** The list endpoints that page under link-pages and wrapped-pages. */
const PAGED = new Set(['GET /v1/orders', 'GET /v1/clouds', 'GET /v1/prefixes', 'GET /v1/vlans', 'GET /v1/configurations', 'GET /v1/public-keys'])

// extras: unknown fields on every object ---------------------------------------------------

function isMapAt (path: readonly string[], maps: readonly string[]): boolean {
  return maps.some((map) => {
    const pattern = map === '' ? [] : map.split('.')
    return pattern.length === path.length && pattern.every((segment, index) => segment === '*' || segment === path[index])
  })
}

function addUnknownFields (value: unknown, context: DriftContext, maps: readonly string[], path: readonly string[] = []): void {
  if (Array.isArray(value)) {
    for (const item of value) addUnknownFields(item, context, maps, [...path, '*'])
    return
  }
  if (!isJson(value)) return
  for (const [key, child] of Object.entries(value)) addUnknownFields(child, context, maps, [...path, key])
  if (isMapAt(path, maps)) return
  value.x_internal_ref ??= 'cx-7f3a9c'
  value.tags ??= []
  const id = value.id
  // the body itself, or an item of a listed body: a HAL-style link to the resource
  const resource = path.length === 0 ? (context.method === 'POST' ? id : undefined) : path.length === 1 && path[0] === '*' ? id : null
  if (resource === null) return
  value._links ??= { self: `${context.origin}${context.path}${typeof resource === 'string' || typeof resource === 'number' ? `/${resource}` : ''}` }
}

/**
 * The answer as a drifting OpenMetal gives it: the route's deviations for each active drift
 * (successful answers only), then paging for list endpoints under link-pages/wrapped-pages.
 * `route` is the matched route as `METHOD /template/:param`.
 */
export function applyDrift (drifts: ReadonlySet<Drift>, route: string, answer: Answer, context: DriftContext): Answer {
  if (drifts.size === 0 || answer.status < 200 || answer.status >= 300 || answer.body === undefined) return answer
  // views may share constants (the catalog's pods): edit a copy
  const body = structuredClone(answer.body)
  const shape = SHAPES[route]
  for (const drift of BODY_DRIFTS) {
    if (!drifts.has(drift)) continue
    shape?.edits[drift]?.(body, context)
    if (drift === 'extras') addUnknownFields(body, context, shape?.maps ?? [])
  }
  const link = drifts.has('link-pages')
  const wrapped = drifts.has('wrapped-pages')
  if (!PAGED.has(route) || !Array.isArray(body) || !(link || wrapped)) return { ...answer, body }
  const page = paginate(body, context, { link, wrapped })
  return { ...answer, body: page.body, headers: { ...answer.headers, ...page.headers } }
}
