/**
 * Unit tests of the tolerant reading of OpenMetal answers: the reader's vocabulary
 * (src/openmetal/tolerant-reader.ts), each needed schema of src/openmetal/answers.ts over a
 * spec-shaped answer and the same answer drifted the way the live API drifts (DESIGN.md
 * section 6), and the property the whole design rests on: a mutation of an answer in a
 * field a route does not read never changes that route's answer. One file, because each test
 * file costs a fork and the unit suite must stay fast.
 */
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { Type, type TSchema } from 'typebox'
import { PODS, initialStock, productCatalog } from '@cycle-ial-openmetal/openmetal-simulator/catalog'
import type { CloudStats, Cloud, GetOrder, IpAddress, OAuthTokenResponse, PrefixDetailed, PrefixResource } from '../../src/generated/openmetal.ts'
import {
  AvailabilityAnswer, CloudAnswer, CloudStatsAnswer, CreatedAddressAnswer, OrderAnswer, PodsAnswer, PrefixAddressesAnswer, PrefixAnswer,
  ProductsAnswer, TokenAnswer, podMapIn, stockIn
} from '../../src/openmetal/answers.ts'
import { Tolerant, UnreadableAnswer, readAnswer, type SkippedPart } from '../../src/openmetal/tolerant-reader.ts'
import { locationsFromInventory, podsOf, serverModelsFromCatalog, stockBySku } from '../../src/mapping/catalog.ts'
import { provisionStatus } from '../../src/mapping/provision-status.ts'

type Json = Record<string, unknown>

/** readAnswer, with what it skipped. */
function read<S extends TSchema> (schema: S, body: unknown, operation = 'test'): { value: ReturnType<typeof readAnswer<S>>, skipped: SkippedPart[] } {
  const skipped: SkippedPart[] = []
  const value = readAnswer(schema, body, operation, (part) => { skipped.push(part) })
  return { value, skipped }
}

/** The UnreadableAnswer reading `body` throws. */
function failure (schema: TSchema, body: unknown): UnreadableAnswer {
  try {
    readAnswer(schema, body, 'test')
  } catch (error) {
    if (error instanceof UnreadableAnswer) return error
    throw error
  }
  throw new Error('expected the answer to be unreadable')
}

/** A deep copy of `body`, edited. */
function drifted<T> (body: T, edit: (copy: T) => void): T {
  const copy = structuredClone(body)
  edit(copy)
  return copy
}

describe('src/openmetal/tolerant-reader.ts', () => {
  const optional = <S extends TSchema>(schema: S) => Type.Object({ value: Type.Optional(schema) })
  const required = <S extends TSchema>(schema: S) => Type.Object({ value: schema })

  describe('null', () => {
    test('in an optional field that may not be null reads as absent', () => {
      const { value } = read(optional(Type.String()), { value: null })
      expect(value).toStrictEqual({})
      expect(Object.hasOwn(value, 'value')).toBe(false)
    })

    test('in a field that may be null stays null', () => {
      expect(read(optional(Type.Union([Type.String(), Type.Null()])), { value: null }).value).toStrictEqual({ value: null })
      expect(read(required(Type.Union([Type.Integer(), Type.Null()])), { value: null }).value).toStrictEqual({ value: null })
    })

    test.each([
      ['a string', Type.String()],
      ['an integer', Type.Integer()],
      ['an object', Type.Object({ id: Type.String() })],
      ['a list', Type.Array(Type.String())]
    ])('in a required field (%s) fails, naming the field', (_name, schema) => {
      expect(failure(required(schema), { value: null })).toMatchObject({ field: '/value', problem: 'is missing', message: '/value is missing' })
    })

    test('as the whole answer fails, naming the answer', () => {
      const error = failure(TokenAnswer, null)
      expect(error.field).toBe('')
      expect(error.message).toMatch(/^the answer /)
    })
  })

  describe('numbers and strings', () => {
    test.each<[string, TSchema, unknown, unknown]>([
      ['an integer as a numeric string', Type.Integer(), '14400', 14400],
      ['an integer as a numeric string with spaces', Type.Integer(), ' 14400 ', 14400],
      ['a negative integer as a string', Type.Integer(), '-3', -3],
      ['a number as a decimal string', Type.Number(), '12.5', 12.5],
      ['a nullable integer as a string', Type.Union([Type.Integer(), Type.Null()]), '792000', 792_000],
      ['a number that is a number', Type.Number(), 3.25, 3.25],
      ['a numeric string where a string is declared', Type.String(), '14400', '14400'],
      ['an integer where a string is declared (an ID)', Type.String(), 12345, '12345'],
      ['a decimal where a string is declared', Type.String(), 12.5, '12.5'],
      ['zero where a string is declared', Type.String(), 0, '0'],
      ['a nullable string as a number', Type.Union([Type.String(), Type.Null()]), 42, '42'],
      ['"true" where a boolean is declared', Type.Boolean(), 'true', true],
      ['"false" where a boolean is declared', Type.Boolean(), 'false', false],
      ['"true" where a string is declared', Type.String(), 'true', 'true']
    ])('%s: %j reads as %j', (_name, schema, raw, expected) => {
      expect(read(required(schema), { value: raw }).value).toStrictEqual({ value: expected })
    })

    test.each<[string, TSchema, unknown]>([
      ['a decimal string for an integer', Type.Integer(), '12.5'],
      ['a word for an integer', Type.Integer(), 'abc'],
      ['a word for a number', Type.Number(), 'abc'],
      ['an empty string for a number', Type.Number(), ''],
      ['an exponent for a number', Type.Number(), '1e3'],
      ['a number with a unit', Type.Integer(), '256GB'],
      ['"TRUE" for a boolean', Type.Boolean(), 'TRUE'],
      ['"1" for a boolean', Type.Boolean(), '1'],
      ['a boolean for a string', Type.String(), true],
      ['an object for a string', Type.String(), { id: 1 }],
      ['a list for an object', Type.Object({}), []]
    ])('%s (%j) fails, naming the field', (_name, schema, raw) => {
      const error = failure(Type.Object({ outer: Type.Object({ value: schema }) }), { outer: { value: raw } })
      expect(error.field).toBe('/outer/value')
      expect(error.message.startsWith('/outer/value ')).toBe(true)
    })

    test('the token answer says which field is unusable', () => {
      expect(failure(TokenAnswer, { access_token: 'tok', expires_in: 'abc' }).field).toBe('/expires_in')
      expect(failure(TokenAnswer, { access_token: 'tok', expires_in: '12.5' }).field).toBe('/expires_in')
      expect(failure(TokenAnswer, { expires_in: 14400 }).message).toBe('/access_token is missing')
    })
  })

  describe('Tolerant.Address', () => {
    test.each([
      ['203.0.113.5/28', '203.0.113.5'],
      ['203.0.113.5/32', '203.0.113.5'],
      ['10.0.0.1/8', '10.0.0.1'],
      [' 203.0.113.5/28 ', '203.0.113.5'],
      ['203.0.113.5', '203.0.113.5'],
      ['2001:db8::1/64', '2001:db8::1/64'],
      ['203.0.113.5/280', '203.0.113.5/280'],
      ['203.0.113.5/28/1', '203.0.113.5/28/1'],
      ['not an address/28', 'not an address/28'],
      ['', '']
    ])('%j reads as %j', (raw, expected) => {
      expect(read(required(Tolerant.Address()), { value: raw }).value).toStrictEqual({ value: expected })
    })

    test('an address in a plain string field keeps its prefix length (only fields marked as addresses are read so)', () => {
      expect(read(required(Type.String()), { value: '203.0.113.5/28' }).value).toStrictEqual({ value: '203.0.113.5/28' })
    })

    test('an address keeps the constraints of its base schema', () => {
      const dotted = Tolerant.Address(Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+\\.\\d+$' }))
      expect(read(required(dotted), { value: '203.0.113.5/28' }).value).toStrictEqual({ value: '203.0.113.5' })
      expect(failure(required(dotted), { value: '2001:db8::1/64' }).field).toBe('/value')
    })
  })

  describe('Tolerant.ListOf and Tolerant.MapOf', () => {
    const Node = Type.Object({ uuid: Type.String(), cpu: Type.Optional(Type.Integer()) })

    test('a list skips each unreadable item and reports it once, with the operation, where and why', () => {
      const { value, skipped } = read(Type.Object({ nodes: Tolerant.ListOf(Node) }), {
        nodes: [{ uuid: 'u0' }, { type: 'switch' }, null, 'bond0', { uuid: 'u4', cpu: 'many' }, { uuid: 'u5', cpu: '48' }]
      }, 'getCloudStats')
      expect(value).toStrictEqual({ nodes: [{ uuid: 'u0' }, { uuid: 'u5', cpu: 48 }] })
      expect(skipped).toEqual([
        { operation: 'getCloudStats', path: '/nodes/1/uuid', problem: 'is missing' },
        { operation: 'getCloudStats', path: '/nodes/2', problem: expect.any(String) },
        { operation: 'getCloudStats', path: '/nodes/3', problem: expect.any(String) },
        { operation: 'getCloudStats', path: '/nodes/4/cpu', problem: expect.any(String) }
      ])
    })

    test('a map skips each unreadable entry and reports it once', () => {
      const { value, skipped } = read(Tolerant.MapOf(Type.Object({ count: Type.Integer() })), {
        medium_v4: { count: '3' }, legacy_v1: { count: null }, note: 'stock refreshed hourly', large_v4: { count: 0 }
      }, 'getAvailability')
      expect(value).toStrictEqual({ medium_v4: { count: 3 }, large_v4: { count: 0 } })
      expect(skipped).toEqual([
        { operation: 'getAvailability', path: '/legacy_v1/count', problem: 'is missing' },
        { operation: 'getAvailability', path: '/note', problem: expect.any(String) }
      ])
    })

    test('a skip inside a kept item is reported once, at its own path', () => {
      const schema = Type.Object({ nodes: Tolerant.ListOf(Type.Object({ uuid: Type.String(), networks: Tolerant.ListOf(Type.Object({ mac: Type.String() })) })) })
      const { value, skipped } = read(schema, { nodes: [{ uuid: 'u0', networks: [{ mac: 'aa' }, {}] }] })
      expect(value).toStrictEqual({ nodes: [{ uuid: 'u0', networks: [{ mac: 'aa' }] }] })
      expect(skipped).toEqual([{ operation: 'test', path: '/nodes/0/networks/1/mac', problem: 'is missing' }])
    })

    test('a plain list with an unreadable item fails the answer, naming the item\'s field', () => {
      expect(failure(Type.Object({ nodes: Type.Array(Node) }), { nodes: [{ uuid: 'u0' }, { type: 'switch' }] }).message).toBe('/nodes/1/uuid is missing')
    })

    test('a map entry named "__proto__" is data (an own property), never a prototype', () => {
      const body = JSON.parse('{"__proto__": {"label": "Polluted", "latitude": "1.5", "isAdmin": true}, "pod_1": {"label": "US-East"}}') as unknown
      const { value } = read(PodsAnswer, body)
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
      expect(Object.keys(value)).toEqual(['__proto__', 'pod_1'])
      expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toStrictEqual({ label: 'Polluted', latitude: 1.5 })
      expect((value as Json).label).toBeUndefined()
      expect(({} as Json).label).toBeUndefined()
      // and it stays data through stockIn's rest spread
      const stock = stockIn(readAnswer(AvailabilityAnswer, JSON.parse('{"__proto__": {"count": "3"}, "pod_location": "pod_1"}'), 'getAvailability'))
      expect(Object.getPrototypeOf(stock)).toBe(Object.prototype)
      expect(Object.getOwnPropertyDescriptor(stock, '__proto__')?.value).toStrictEqual({ count: 3 })
    })
  })

  describe('fields the schema does not name', () => {
    test('are dropped at every depth: the result holds exactly the needed fields', () => {
      const schema = Type.Object({
        id: Type.String(),
        fields: Type.Object({ state: Type.Optional(Type.String()), items: Type.Array(Type.Object({ sku: Type.String() })) }),
        nodes: Tolerant.ListOf(Type.Object({ uuid: Type.String() })),
        pods: Tolerant.MapOf(Type.Object({ code: Type.Optional(Type.String()) }))
      })
      const body = {
        id: 'ORD1',
        type: 'orders',
        _links: { self: 'https://x' },
        fields: { state: 'ok', organization_id: 'ORG1', items: [{ sku: 'medium_v4', quantity: 1 }] },
        nodes: [{ uuid: 'u0', hostname: 'n0', vlans: [{ vlan: 1 }] }],
        pods: { pod_1: { code: 'iad3', latitude: 1 } }
      }
      expect(read(schema, body).value).toStrictEqual({ id: 'ORD1', fields: { state: 'ok', items: [{ sku: 'medium_v4' }] }, nodes: [{ uuid: 'u0' }], pods: { pod_1: { code: 'iad3' } } })
    })

    test('are dropped under a nullable object too', () => {
      const schema = Type.Object({ owner: Type.Union([Type.Object({ id: Type.String() }), Type.Null()]) })
      expect(read(schema, { owner: { id: 'u1', email: 'someone@example.com' } }).value).toStrictEqual({ owner: { id: 'u1' } })
      expect(read(schema, { owner: { id: 7, email: 'someone@example.com' } }).value).toStrictEqual({ owner: { id: '7' } })
      expect(read(schema, { owner: null }).value).toStrictEqual({ owner: null })
    })

    test('may hold anything, including what would fail a needed field', () => {
      const schema = Type.Object({ id: Type.String() })
      expect(read(schema, { id: 'x', count: 'abc', is_active: 'maybe', nested: { deep: [null, {}] } }).value).toStrictEqual({ id: 'x' })
    })
  })

  describe('UnreadableAnswer', () => {
    test('names a missing nested field by its path', () => {
      const error = failure(OrderAnswer, { id: 'ORD1', label: 'cycle:a:b', is_active: true, fields: { clouds_deployed: [{ provision_status: 'complete' }] } })
      expect(error).toBeInstanceOf(UnreadableAnswer)
      expect(error).toMatchObject({ name: 'UnreadableAnswer', field: '/fields/clouds_deployed/0/id', problem: 'is missing' })
      expect(error.message).toBe('/fields/clouds_deployed/0/id is missing')
    })
  })
})

// Spec-shaped answers, as the simulator's views give them ---------------------------------

const UPDATED_AT = '2026-11-22T11:00:00.000Z'
const NOW = Date.parse(UPDATED_AT) + 30 * 60_000
const NODE_UUID = '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17'
const LABEL = 'cycle:651586fca6078e98982dbd90:651586fca6078e98982dbd91'

const TOKEN: OAuthTokenResponse = { access_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl', token_type: 'Bearer', expires_in: 14400, scope: 'openid profile' }

function availabilityOf (pod: string): Json {
  const stock = initialStock()[pod] ?? {}
  return { ...Object.fromEntries(Object.entries(stock).map(([sku, count]) => [sku, { count, max_size: Math.min(count, 10) }])), timestamp: UPDATED_AT, pod_location: pod }
}

function order (status = 'complete'): GetOrder {
  return {
    id: 'ORD7Qx2',
    type: 'orders',
    label: LABEL,
    description: 'Cycle server node-1',
    created_at: '2026-11-22T10:30:00.000Z',
    updated_at: UPDATED_AT,
    is_active: true,
    created_by: 'user_1',
    fields: {
      items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { deployment_configuration: 'CFG1' } }],
      config_options: { public_key_ids: ['KEY1'] },
      organization_id: 'ORG1',
      schema_version: '1',
      clouds_deployed: [{ id: 'CLD9', provision_status: status }]
    },
    access: { role: 'owner' }
  }
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
    expect(skipped).toEqual([{ operation: 'getLocations', path: '/pod_99', problem: expect.any(String) }])
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
    expect(skipped).toEqual([{ operation: 'getProducts', path: '/hardware/legacy_v1/processor', problem: 'is missing' }])
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
    expect(skipped).toEqual([{ operation: 'getAvailability', path: '/note', problem: expect.any(String) }])
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

  test('PrefixAddressesAnswer: the block\'s addresses; nulls, new enum values, IDs as strings, prefix lengths and odd list items read the same', () => {
    const spec = PREFIX_DETAIL
    const drift = drifted(spec as unknown as Json, (body) => {
      Object.assign(body, EXTRAS, { description: null, usage: 'customer', status: 'RESERVED', managed_addressing: 'dhcp', children: null })
      const addresses = body.ip_addrs as unknown[]
      for (const address of addresses as Json[]) Object.assign(address, EXTRAS, { id: String(address.id), ip: `${String(address.ip)}/28`, assigned_host: address.assigned_host === '' ? null : address.assigned_host })
      addresses.unshift({ label: 'reserved', assigned_host: null }, null)
    })
    const expected = {
      cidr: '198.51.100.112/28',
      ip_addrs: [{ ip: '198.51.100.116', id: 4710, label: 'node-1' }, { ip: '198.51.100.117', id: 4711, label: `${LABEL}:ip` }]
    }
    expect(read(PrefixAddressesAnswer, spec).value).toStrictEqual(expected)
    const { value, skipped } = read(PrefixAddressesAnswer, drift, 'getPrefixAddresses')
    expect(value).toStrictEqual(expected)
    expect(skipped.map((part) => part.path)).toEqual(['/ip_addrs/0/ip', '/ip_addrs/1'])
  })

  test('CreatedAddressAnswer: the new address and its ID; the ID as a string, CIDR notation, nulls and extras read the same', () => {
    const drift = { ...ADDRESS, ...EXTRAS, id: '4711', ip: '198.51.100.117/28', assigned_host: null }
    const expected = { id: 4711, ip: '198.51.100.117', label: `${LABEL}:ip` }
    expect(read(CreatedAddressAnswer, ADDRESS).value).toStrictEqual(expected)
    expect(read(CreatedAddressAnswer, drift).value).toStrictEqual(expected)
    expect(failure(CreatedAddressAnswer, { ...ADDRESS, ip: null }).message).toBe('/ip is missing')
  })
})

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
