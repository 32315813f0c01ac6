/** Unit tests of src/openmetal/answers.ts. */
import { describe, expect, test } from 'vitest'
import { type TSchema, Type } from 'typebox'
import { PODS, initialStock, productCatalog } from '@cycle-ial-openmetal/openmetal-simulator/catalog'
import type { CloudStats, Cloud, GetOrder, IpAddress, OAuthTokenResponse, PrefixDetailed, PrefixResource } from '../../../src/generated/openmetal.ts'
import { AvailabilityAnswer, CloudAnswer, CloudStatsAnswer, CreatedAddressAnswer, AddressAnswer, OrderAnswer, PodsAnswer, PrefixAnswer, ProductsAnswer, TokenAnswer, podMapIn, stockIn } from '../../../src/openmetal/answers.ts'
import { Tolerant, readAnswer } from '../../../src/openmetal/tolerant-reader.ts'
import { serverModelsFromCatalog, locationsFromInventory, podsOf, stockBySku } from '../../../src/mapping/catalog.ts'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { provisionStatus } from '../../../src/mapping/provision-status.ts'
import { failure, read } from '../../helpers/reading.ts'
import { ORDER_LABEL as LABEL, specOrder } from '../../helpers/openmetal-answers.ts'

type Json = Record<string, unknown>

/** A deep copy of `body`, edited. */
function drifted<T> (body: T, edit: (copy: T) => void): T {
  const copy = structuredClone(body)
  edit(copy)
  return copy
}

// Spec-shaped answers, as the simulator's views give them ---------------------------------

const UPDATED_AT = '2026-11-22T11:00:00.000Z'

const NODE_UUID = '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17'

const TOKEN: OAuthTokenResponse = { access_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl', token_type: 'Bearer', expires_in: 14400, scope: 'openid profile' }

function availabilityOf (pod: string): Json {
  const stock = initialStock()[pod] ?? {}
  return { ...Object.fromEntries(Object.entries(stock).map(([sku, count]) => [sku, { count, max_size: Math.min(count, 10) }])), timestamp: UPDATED_AT, pod_location: pod }
}

function order (status = 'complete'): GetOrder {
  return specOrder({ schema_version: '1', clouds_deployed: [{ id: 'CLD9', provision_status: status }] }, { type: 'orders', label: LABEL, updated_at: UPDATED_AT })
}

function cloud (status = 'complete'): Cloud {
  return {
    id: 'CLD9',
    label: LABEL,
    created_at: '2026-11-22T10:31:00.000Z',
    fields: {
      cloud_type: 'baremetal',
      cloud_uuid: '8d1e6a52-1b7c-4f3e-a0d9-2c4b6e8f0a13',
      cloud_version: '1',
      owner_name: 'Simulated Owner',
      organization_id: 'ORG1',
      hostname: 'cld9.sim.openmetal.test',
      order_id: 'ORD7Qx2',
      pod_location: 'pod_1',
      provision_status: status,
      ...(status === 'complete' ? { provision_completion_time: UPDATED_AT } : {}),
      pending_delete: false
    }
  }
}

function stats (): CloudStats {
  return {
    name: 'CLD9',
    label: LABEL,
    cloud_uuid: '8d1e6a52-1b7c-4f3e-a0d9-2c4b6e8f0a13',
    cloud_state: 'RUNNING',
    cloud_hostname: 'cld9.sim.openmetal.test',
    cloud_hosts: [NODE_UUID],
    maintenance: false,
    creation_date: '2026-11-22T10:31:00.000Z',
    pending_number: 0,
    pending_tasks: [],
    pending_date: null,
    prevent_delete: false,
    nodes: [{
      uuid: NODE_UUID,
      state: 'active',
      power_state: 'power on',
      hostname: 'node-1',
      type: 'baremetal',
      cpu: 48,
      memory: '256 GB',
      networks: [{ mac_address: '0C:C4:7A:AB:CD:EF' }],
      ipaddress: '198.51.100.116',
      vlans: [{ vlan: 101, ip: '198.51.100.116', mtu: 1500, label: 'Inventory' }, { vlan: 102, ip: null, mtu: 1500, label: 'Provider' }],
      maintenance: false,
      creation_date: '2026-11-22T10:31:00.000Z'
    }],
    vlans: [{
      id: 101,
      uuid: 'b5c1e0f2-0000-4000-8000-000000000101',
      label: 'Inventory',
      vlan_type: 'routed',
      state: 'ROUTED',
      prefixes: [{ id: 12, cidr: '198.51.100.112/28', prefix_type: 'routed', usage: 'inventory', status: 'ROUTED', managed_addressing: 'off', ip_addrs: [{ label: 'node-1', assigned_host: NODE_UUID, ip: '198.51.100.116' }] }]
    }]
  }
}

const PREFIX: PrefixResource = {
  id: 'PFX3',
  type: 'prefixes',
  label: `${LABEL} inventory`,
  created_at: '2026-11-22T10:31:00.000Z',
  updated_at: '2026-11-22T10:31:00.000Z',
  is_active: true,
  created_by: 'user_1',
  fields: {
    created_from: 'central',
    pod_location: 'pod_1',
    prefix_id: 12,
    cidr: '198.51.100.112/28',
    prefix_type: 'routed',
    length: 28,
    managed_addressing: 'off',
    alterable: false,
    cloud_id: 'CLD9',
    vlan_id: 101,
    vlan_uuid: 'b5c1e0f2-0000-4000-8000-000000000101',
    central_vlan_id: 'VLN1',
    product_addon: 'ipv4_block_28'
  }
}

const ADDRESS: IpAddress = { id: 4711, ip: '198.51.100.117', label: `${LABEL}:ip`, assigned_host: '' }

const PREFIX_DETAIL: PrefixDetailed = {
  id: 12,
  cidr: '198.51.100.112/28',
  prefix_type: 'routed',
  usage: 'inventory',
  status: 'ROUTED',
  managed_addressing: 'off',
  vlan_id: 101,
  children: [],
  ip_addrs: [{ id: 4710, ip: '198.51.100.116', label: 'node-1', assigned_host: NODE_UUID }, ADDRESS]
}

/** What the live API adds to every object (extras drift). */
const EXTRAS = { x_internal_ref: 'cx-7f3a9c', tags: [], _links: { self: 'https://api.openmetal.io/v1/x' } }

const NOW = Date.parse(UPDATED_AT) + 30 * 60_000

// The property: what a route does not read cannot change its answer -----------------------

type Path = ReadonlyArray<string | number>

/** An object of an answer whose fields the needed schema names (`named`); any other field of it is not read. */
interface Site {
  readonly path: Path
  readonly named: ReadonlySet<string>
}

function isJson (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function typesOf (schema: Json): unknown[] {
  return Array.isArray(schema.type) ? schema.type : [schema.type]
}

/** The schema of a map's entries (`Tolerant.MapOf`, a record, additionalProperties). */
function entrySchemaOf (schema: Json): Json | undefined {
  if (isJson(schema.additionalProperties)) return schema.additionalProperties
  const patterns = isJson(schema.patternProperties) ? Object.values(schema.patternProperties) : []
  return patterns.length === 1 && isJson(patterns[0]) ? patterns[0] : undefined
}

/**
 * Every object of `value` whose fields `schema` names, found by walking the schema (its
 * properties, list items, map entries and the one member of a union that fits): a field
 * of such an object that the schema does not name is not read. A map (keyed by data) is
 * no such object, and below a schema that says nothing of its contents (unknown) every part
 * is read.
 */
function sitesOf (schema: Json, value: unknown, path: Path = []): Site[] {
  const members = schema.anyOf ?? schema.oneOf
  if (Array.isArray(members)) {
    const kind = Array.isArray(value) ? 'array' : isJson(value) ? 'object' : 'leaf'
    const fitting = (members as Json[]).filter((member) => typesOf(member).includes(kind))
    return fitting.length === 1 && fitting[0] !== undefined ? sitesOf(fitting[0], value, path) : []
  }
  if (Array.isArray(value)) {
    return typesOf(schema).includes('array') && isJson(schema.items) ? value.flatMap((item, index) => sitesOf(schema.items as Json, item, [...path, index])) : []
  }
  if (!isJson(value) || !typesOf(schema).includes('object')) return []
  const properties = isJson(schema.properties) ? schema.properties : {}
  const entry = entrySchemaOf(schema)
  const own = entry === undefined ? [{ path, named: new Set(Object.keys(properties)) }] : []
  return [...own, ...Object.entries(value).flatMap(([key, child]) => {
    const below = Object.hasOwn(properties, key) ? properties[key] : entry
    return isJson(below) ? sitesOf(below, child, [...path, key]) : []
  })]
}

function at (value: unknown, path: Path): Json {
  let current = value
  for (const key of path) current = (current as Record<string | number, unknown>)[key]
  if (!isJson(current)) throw new Error(`test setup: no object at /${path.join('/')}`)
  return current
}

function define (target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

interface Mutation {
  readonly site: number
  readonly kind: 'add' | 'delete' | 'replace' | 'null'
  readonly key: string
  readonly pick: number
  readonly value: unknown
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  site: fc.nat(),
  kind: fc.constantFrom('add', 'delete', 'replace', 'null'),
  key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'x_internal_ref', '_links', 'status', 'count', 'products')),
  pick: fc.nat(),
  value: fc.jsonValue({ maxDepth: 2 })
})

/** Applies a mutation to a field of one site that its schema does not name; whether it changed anything. */
function mutate (body: unknown, sites: readonly Site[], change: Mutation): boolean {
  const site = sites[change.site % sites.length]
  if (site === undefined) return false
  const target = at(body, site.path)
  const unnamed = Object.keys(target).filter((key) => !site.named.has(key))
  if (change.kind === 'add') {
    if (site.named.has(change.key) || Object.hasOwn(target, change.key)) return false
    define(target, change.key, change.value)
    return true
  }
  const key = unnamed[change.pick % Math.max(1, unnamed.length)]
  if (key === undefined) return false
  if (change.kind === 'delete') delete target[key]
  else define(target, key, change.kind === 'null' ? null : change.value)
  return true
}

/** The answers behind one route (by name), and the needed schema each is read with. */
type Answers = Record<string, unknown>

type Schemas = Record<string, TSchema>

function sitesOfAnswers (schemas: Schemas, answers: Answers): Site[] {
  return Object.entries(schemas).flatMap(([name, schema]) => sitesOf(schema as unknown as Json, answers[name]).map((site) => ({ ...site, path: [name, ...site.path] })))
}

/**
 * Runs the property: any few mutations of fields the needed schemas do not name leave
 * `route` answering exactly as before. Returns how many runs changed an answer.
 */
function assertUnreadFieldsDoNotMatter (schemas: Schemas, answers: Answers, route: (answers: Answers) => unknown): number {
  const sites = sitesOfAnswers(schemas, answers)
  const expected = route(answers)
  let changed = 0
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (changes) => {
    const copy = structuredClone(answers)
    let any = false
    for (const change of changes) any = mutate(copy, sites, change) || any
    if (any) changed++
    const answer = route(copy)
    // node's comparison is much faster than expect's on answers this size; expect explains a difference
    if (!isDeepStrictEqual(answer, expected)) expect(answer).toStrictEqual(expected)
  }), { numRuns: 200 })
  return changed
}

/** GET /v1/provider/server-models and /locations: products + locations + each pod's availability. */
const SERVER_MODELS_SCHEMAS: Schemas = {
  products: ProductsAnswer,
  // podMapIn unwraps the spec's `locations`: the pod map is what PodsAnswer reads
  locations: Type.Object({ locations: PodsAnswer }),
  ...Object.fromEntries(Object.keys(PODS).map((pod) => [`availability_${pod}`, AvailabilityAnswer]))
}

function serverModelsAnswers (): Answers {
  return {
    products: productCatalog(),
    locations: { locations: { ...PODS } },
    ...Object.fromEntries(Object.keys(PODS).map((pod) => [`availability_${pod}`, availabilityOf(pod)]))
  }
}

function serverModelsRoute (answers: Answers): unknown {
  const hardware = readAnswer(ProductsAnswer, answers.products, 'getProducts').hardware
  const inventory = readAnswer(PodsAnswer, podMapIn(answers.locations), 'getLocations')
  const availability = podsOf(inventory).map((pod) => ({ pod, inventory: stockIn(readAnswer(AvailabilityAnswer, answers[`availability_${pod.id}`], 'getAvailability')) }))
  return { models: serverModelsFromCatalog(hardware, stockBySku(availability)), locations: locationsFromInventory(inventory) }
}

/** GET /v1/server/provision-status: order + cloud + stats. */
const PROVISION_SCHEMAS: Schemas = { order: OrderAnswer, cloud: CloudAnswer, stats: CloudStatsAnswer }

function provisionAnswers (status: string): Answers {
  return { order: order(status), cloud: cloud(status), stats: stats() }
}

function provisionRoute (answers: Answers): unknown {
  return provisionStatus({
    order: readAnswer(OrderAnswer, answers.order, 'getOrder'),
    cloud: readAnswer(CloudAnswer, answers.cloud, 'getCloud'),
    stats: readAnswer(CloudStatsAnswer, answers.stats, 'getCloudStats'),
    now: NOW
  })
}

describe('src/openmetal/answers.ts', () => {
  test('TokenAnswer: the token and its lifetime; "14400" and unknown fields read the same', () => {
    const drift = { ...TOKEN, ...EXTRAS, expires_in: '14400', scope: null, token_type: 'bearer_v2', refresh_expires_in: 0 }
    expect(read(TokenAnswer, TOKEN).value).toStrictEqual({ access_token: TOKEN.access_token, expires_in: 14400 })
    expect(read(TokenAnswer, drift).value).toStrictEqual(read(TokenAnswer, TOKEN).value)
  })

  test('PodsAnswer (through podMapIn): pods, wrapped or bare; nulls, numeric coordinates, extras and a decommissioned pod read the same', () => {
    const spec = { locations: { ...PODS } }
    const drift = drifted(spec as Json, (body) => {
      const pods = body.locations as Record<string, Json>
      for (const pod of Object.values(pods)) Object.assign(pod, EXTRAS, { timezone: null, status: 'maintenance_v2' })
      Object.assign(pods.pod_1 ?? {}, { latitude: '39.0438', longitude: '-77.4874' })
      pods.pod_99 = 'decommissioned' as unknown as Json
      body.timestamp = 1764600000
    })
    const expected = Object.fromEntries(Object.entries(PODS).map(([id, pod]) => [id, { ...pod }]))
    expect(read(PodsAnswer, podMapIn(spec)).value).toStrictEqual(expected)
    const { value, skipped } = read(PodsAnswer, podMapIn(drift), 'getLocations')
    expect(value).toStrictEqual(expected)
    expect(skipped).toEqual([{ operation: 'getLocations', path: '/pod_99', kind: '/{}', problem: expect.any(String) }])
    // the bare map reads as the wrapped one; a top-level timestamp is not a pod
    expect(read(PodsAnswer, podMapIn({ ...PODS, timestamp: 1764600000 })).value).toStrictEqual(expected)
  })

  test('ProductsAnswer: the hardware as the server models read it; nulls, new enum values, numeric strings, extras and an odd SKU read the same', () => {
    const spec = productCatalog()
    const drift = drifted(spec as unknown as Json, (body) => {
      const hardware = body.hardware as Record<string, Json>
      for (const sku of Object.values(hardware)) {
        Object.assign(sku, EXTRAS, { display_name: null, publishedAt: null, model: null, createdAt: 1717426785 })
        const processor = sku.processor as Json
        const network = sku.network as Json
        for (const key of ['cpuCount', 'raw_cores', 'raw_threads']) processor[key] = String(processor[key])
        for (const key of ['speed', 'count']) network[key] = String(network[key])
        Object.assign(processor, { compute_cores: null, id: 'p-17' })
        for (const component of Object.values(sku.storage as Record<string, Json>)) {
          Object.assign(component, { model: null, raw: 6400 })
          for (const drive of component.drives as Json[]) Object.assign(drive, { count: String(drive.count), id: null })
        }
        for (const product of sku.products as Json[]) {
          Object.assign(product, EXTRAS, { type: 'server_v2', bandwidth: null, hourly_cost: '1.38' })
          for (const key of ['hourly_cost_mils', '30_day_cost_mils']) product[key] = String(product[key])
        }
        sku.locations = { pod_1: { release_status: 'sold-out' }, pod_9: null }
      }
      hardware.legacy_v1 = { id: 999, name: 'legacy_v1', products: null }
      body.addons = { memory: [{ name: 'Memory upgrade 256GB', add_on_code: 'memory_256gb', type: 'memory_v2', hourly_cost_mils: '250' }] }
    })
    const { value: fromSpec, skipped: noSkips } = read(ProductsAnswer, spec, 'getProducts')
    expect(noSkips).toEqual([])
    expect(Object.keys(fromSpec.hardware)).toEqual(Object.keys(spec.hardware))
    expect(fromSpec.hardware.medium_v4).toStrictEqual({
      variant_label: 'v4',
      processor: { raw_cores: 24, raw_threads: 48, name: 'Intel Xeon Silver 4510', cpuCount: 2, type: '2 x Intel Xeon Silver 4510', speed: '2.4/4.1Ghz' },
      ram: { raw: '256', type: 'DDR5', speed: '4800MHz' },
      storage: {
        nvme_ssd: { name: 'nvme_ssd', type: 'nvme_ssd', drives: [{ raw: '6400', count: 1 }] },
        boot: { name: 'boot', type: null, drives: [{ raw: '480', count: 2 }] }
      },
      network: { speed: 10, count: 2 },
      gpu: null,
      products: [{ name: 'Baremetal - medium v4', add_on_code: 'baremetal_medium_v4', hourly_cost_mils: 1380, '30_day_cost_mils': 792_000 }]
    })
    const { value, skipped } = read(ProductsAnswer, drift, 'getProducts')
    expect(value).toStrictEqual(fromSpec)
    expect(skipped).toEqual([{ operation: 'getProducts', path: '/hardware/legacy_v1/processor', kind: '/hardware/{}/processor', problem: 'is missing' }])
    expect(serverModelsFromCatalog(value.hardware, new Map())).toStrictEqual(serverModelsFromCatalog(fromSpec.hardware, new Map()))
  })

  test('ProductsAnswer: an odd product or drive entry is skipped, not the SKU it belongs to', () => {
    const spec = productCatalog()
    const odd = drifted(spec as unknown as Json, (body) => {
      const medium = (body.hardware as Record<string, Json>).medium_v4 as Json
      ;(medium.products as unknown[]).push({ name: 'Support plan', type: 'service' }, null)
      ;(((medium.storage as Record<string, Json>).nvme_ssd as Json).drives as unknown[]).push({ raw: null })
    })
    const { value, skipped } = read(ProductsAnswer, odd, 'getProducts')
    expect(value).toStrictEqual(read(ProductsAnswer, spec, 'getProducts').value)
    expect(skipped.map((part) => part.path)).toEqual(['/hardware/medium_v4/storage/nvme_ssd/drives/1/raw', '/hardware/medium_v4/products/1/add_on_code', '/hardware/medium_v4/products/2'])
  })

  test('AvailabilityAnswer (through stockIn): SKU -> count; numeric strings, extras and a note read the same', () => {
    const spec = availabilityOf('pod_1')
    const drift = drifted(spec, (body) => {
      for (const entry of Object.values(body)) {
        if (typeof entry === 'object' && entry !== null) Object.assign(entry, { count: String((entry as Json).count), max_size: null, backorder: true })
      }
      Object.assign(body, { note: 'stock refreshed hourly', timestamp: 1764600000, pod_location: { id: 'pod_1' } })
    })
    const expected = { medium_v4: { count: 500 }, large_v4: { count: 200 }, xl_v4: { count: 40 }, xxl_v4: { count: 0 }, xl_v4_gpu: { count: 0 } }
    expect(stockIn(read(AvailabilityAnswer, spec).value)).toStrictEqual(expected)
    const { value, skipped } = read(AvailabilityAnswer, drift, 'getAvailability')
    expect(stockIn(value)).toStrictEqual(expected)
    expect(skipped).toEqual([{ operation: 'getAvailability', path: '/note', kind: '/{}', problem: expect.any(String) }])
  })

  test('OrderAnswer: tag, state, pod and deployed cloud; nulls, new enum values, numeric strings and extras read the same', () => {
    const spec = order()
    const drift = drifted(spec as unknown as Json, (body) => {
      Object.assign(body, EXTRAS, { description: null, type: 'subscription', created_by: null, access: { role: 'billing' }, relation: { access: { has_billing: 'yes' } } })
      const fields = body.fields as Json
      Object.assign(fields, { config_options: null, organization_id: 42, schema_version: null })
      for (const item of fields.items as Json[]) Object.assign(item, EXTRAS, { type: 'baremetal_v2', quantity: '1', modifications: null })
      for (const entry of fields.clouds_deployed as Json[]) Object.assign(entry, EXTRAS, { region: null })
    })
    const expected = {
      id: 'ORD7Qx2',
      label: LABEL,
      is_active: true,
      created_at: '2026-11-22T10:30:00.000Z',
      updated_at: UPDATED_AT,
      fields: { items: [{ hardware_sku: 'medium_v4', location: 'pod_1' }], clouds_deployed: [{ id: 'CLD9', provision_status: 'complete' }] }
    }
    expect(read(OrderAnswer, spec).value).toStrictEqual(expected)
    expect(read(OrderAnswer, drift).value).toStrictEqual(expected)
    // an ID as a number and a state as a string read as what the spec says
    expect(read(OrderAnswer, { ...spec, id: 7, is_active: 'true' }).value).toMatchObject({ id: '7', is_active: true })
  })

  test('CloudAnswer: the cloud\'s progress, deletion and tag; nulls, new enum values and extras read the same', () => {
    const spec = cloud()
    const drift = drifted(spec as unknown as Json, (body) => {
      Object.assign(body, EXTRAS, { description: null })
      Object.assign(body.fields as Json, EXTRAS, { hostname: null, cloud_type: 'openstack_v2', cloud_version: 2, owner_name: null, pending_delete: 'false' })
    })
    const expected = { id: 'CLD9', label: LABEL, created_at: '2026-11-22T10:31:00.000Z', fields: { order_id: 'ORD7Qx2', pod_location: 'pod_1', provision_status: 'complete', pending_delete: false } }
    expect(read(CloudAnswer, spec).value).toStrictEqual(expected)
    expect(read(CloudAnswer, drift).value).toStrictEqual(expected)
    // a cloud whose completion time is not known yet (null) reads too
    expect(read(CloudAnswer, drifted(cloud('in_progress') as unknown as Json, (body) => { (body.fields as Json).provision_completion_time = null })).value).toMatchObject({ fields: { provision_status: 'in_progress' } })
  })

  test('CloudStatsAnswer: state and nodes; nulls, new enum values, numeric strings, an address with its prefix length and odd list items read the same', () => {
    const spec = stats()
    const drift = drifted(spec as unknown as Json, (body) => {
      Object.assign(body, EXTRAS, { pending_date: null, description: null })
      const nodes = body.nodes as unknown[]
      for (const node of nodes as Json[]) {
        Object.assign(node, EXTRAS, { hostname: null, rack: null, maintenance: null, state: 'provisioned_v2', cpu: '48', ipaddress: '198.51.100.116/28' })
        ;(node.networks as unknown[]).push('bond0', null)
      }
      nodes.push({ type: 'switch', hostname: 'sw-a1' }, null)
      for (const vlan of body.vlans as Json[]) vlan.vlan_type = 'evpn'
    })
    const expected = { cloud_state: 'RUNNING', nodes: [{ uuid: NODE_UUID, ipaddress: '198.51.100.116', power_state: 'power on', networks: [{ mac_address: '0C:C4:7A:AB:CD:EF' }] }] }
    expect(read(CloudStatsAnswer, spec).value).toStrictEqual(expected)
    const { value, skipped } = read(CloudStatsAnswer, drift, 'getCloudStats')
    expect(value).toStrictEqual(expected)
    expect(skipped.map((part) => part.path)).toEqual(['/nodes/0/networks/1', '/nodes/0/networks/2', '/nodes/1/uuid', '/nodes/2'])
    expect(skipped.every((part) => part.operation === 'getCloudStats' && part.problem !== '')).toBe(true)
  })

  test('PrefixAnswer: block, cloud, pod, type and CIDR; nulls, new enum values, numeric strings and extras read the same', () => {
    const spec = PREFIX
    const drift = drifted(spec as unknown as Json, (body) => {
      Object.assign(body, EXTRAS, { description: null, type: 'prefixes_v2', is_active: 'yes' })
      Object.assign(body.fields as Json, { managed_addressing: 'dhcp', created_from: 'import', length: '28', prefix_id: '12', vlan_id: null, alterable: 'no' })
    })
    const expected = { id: 'PFX3', label: `${LABEL} inventory`, created_at: spec.created_at, fields: { cloud_id: 'CLD9', pod_location: 'pod_1', prefix_type: 'routed', cidr: '198.51.100.112/28', central_vlan_id: spec.fields.central_vlan_id } }
    expect(read(PrefixAnswer, spec).value).toStrictEqual(expected)
    expect(read(PrefixAnswer, drift).value).toStrictEqual(expected)
    // a type OpenMetal adds later is read as it is, for the caller to compare
    expect(read(PrefixAnswer, { ...spec, fields: { ...spec.fields, prefix_type: 'anycast' } }).value.fields.prefix_type).toBe('anycast')
  })

  test('AddressAnswer, over a block\'s ip_addrs: nulls, new enum values, IDs as strings, prefix lengths and odd list items read the same', () => {
    const spec = PREFIX_DETAIL
    const drift = drifted(spec as unknown as Json, (body) => {
      Object.assign(body, EXTRAS, { description: null, usage: 'customer', status: 'RESERVED', managed_addressing: 'dhcp', children: null })
      const addresses = body.ip_addrs as unknown[]
      for (const address of addresses as Json[]) Object.assign(address, EXTRAS, { id: String(address.id), ip: `${String(address.ip)}/28`, assigned_host: address.assigned_host === '' ? null : address.assigned_host })
      addresses.unshift({ label: 'reserved', assigned_host: null }, null)
    })
    const expected = [{ ip: '198.51.100.116', id: 4710, label: 'node-1' }, { ip: '198.51.100.117', id: 4711, label: `${LABEL}:ip` }]
    const addresses = Tolerant.ListOf(AddressAnswer)
    expect(read(addresses, spec.ip_addrs).value).toStrictEqual(expected)
    const { value, skipped } = read(addresses, (drift as { ip_addrs: unknown }).ip_addrs, 'getPrefixAddresses')
    expect(value).toStrictEqual(expected)
    expect(skipped.map((part) => part.path)).toEqual(['/0/ip', '/1'])
  })

  test('CreatedAddressAnswer: the new address and its ID; the ID as a string, CIDR notation, nulls and extras read the same', () => {
    const drift = { ...ADDRESS, ...EXTRAS, id: '4711', ip: '198.51.100.117/28', assigned_host: null }
    const expected = { id: 4711, ip: '198.51.100.117', label: `${LABEL}:ip` }
    expect(read(CreatedAddressAnswer, ADDRESS).value).toStrictEqual(expected)
    expect(read(CreatedAddressAnswer, drift).value).toStrictEqual(expected)
    expect(failure(CreatedAddressAnswer, { ...ADDRESS, ip: null }).message).toBe('/ip is missing')
  })
})

describe('tolerant reading (property): a mutation in a field a route does not read never changes its answer', () => {
  test('the walk of the needed schemas finds the objects a route reads, and only the fields it names', () => {
    const named = (sites: Site[], path: string): ReadonlySet<string> | undefined => sites.find((site) => site.path.join('/') === path)?.named
    const sites = sitesOfAnswers(SERVER_MODELS_SCHEMAS, serverModelsAnswers())
    expect(named(sites, 'products')).toEqual(new Set(['hardware']))
    expect(named(sites, 'products/hardware/medium_v4/processor')).toEqual(new Set(['raw_cores', 'raw_threads', 'cpuCount', 'name', 'type', 'speed']))
    expect(named(sites, 'products/hardware/medium_v4/products/0')).toEqual(new Set(['name', 'add_on_code', 'hourly_cost_mils', '30_day_cost_mils']))
    expect(named(sites, 'products/hardware/medium_v4/storage/boot/drives/0')).toEqual(new Set(['raw', 'count']))
    expect(named(sites, 'availability_pod_1/medium_v4')).toEqual(new Set(['count']))
    expect(named(sites, 'locations/locations/pod_1')).toEqual(new Set(['label', 'displayName', 'region', 'code', 'latitude', 'longitude', 'release_status']))
    // maps are keyed by data, and what a schema leaves open (the GPU) is read whole: no sites there
    expect(named(sites, 'products/hardware')).toBeUndefined()
    expect(named(sites, 'availability_pod_1')).toBeUndefined()
    expect(sites.some((site) => site.path.includes('gpu'))).toBe(false)
    const provision = sitesOfAnswers(PROVISION_SCHEMAS, provisionAnswers('complete'))
    expect(named(provision, 'stats/nodes/0')).toEqual(new Set(['uuid', 'ipaddress', 'power_state', 'networks']))
    expect(named(provision, 'order/fields/clouds_deployed/0')).toEqual(new Set(['id', 'provision_status', 'provisioning_status']))
  })

  test('server models and locations (products + locations + availability)', () => {
    expect(assertUnreadFieldsDoNotMatter(SERVER_MODELS_SCHEMAS, serverModelsAnswers(), serverModelsRoute)).toBeGreaterThan(150)
  })

  test.each(['complete', 'manual_setup'])('provision status of a %s server (order + cloud + stats)', (status) => {
    expect(assertUnreadFieldsDoNotMatter(PROVISION_SCHEMAS, provisionAnswers(status), provisionRoute)).toBeGreaterThan(150)
  })

  test('control: a mutation of a field a route reads does change its answer', () => {
    const models = serverModelsAnswers()
    const cheaper = drifted(models, (answers) => { at(answers, ['products', 'hardware', 'medium_v4', 'products', 0]).hourly_cost_mils = 1379 })
    expect(serverModelsRoute(cheaper)).not.toStrictEqual(serverModelsRoute(models))

    const provision = provisionAnswers('complete')
    expect(provisionRoute(provision)).toMatchObject({ provisioned: true, auth: { uuid: NODE_UUID } })
    const other = drifted(provision, (answers) => { at(answers, ['stats', 'nodes', 0]).uuid = '00000000-0000-4000-8000-000000000000' })
    expect(provisionRoute(other)).not.toStrictEqual(provisionRoute(provision))
  })
})
