/** Unit tests of src/openmetal/tolerant-reader.ts. */
import { describe, expect, test } from 'vitest'
import { Type, type TSchema } from 'typebox'
import { AvailabilityAnswer, OrderAnswer, PodsAnswer, TokenAnswer, stockIn } from '../../../src/openmetal/answers.ts'
import { Tolerant, readAnswer } from '../../../src/openmetal/tolerant-reader.ts'
import { UnreadableAnswer } from '../../../src/openmetal/errors.ts'
import { failure, read } from '../../helpers/reading.ts'

type Json = Record<string, unknown>

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
        { operation: 'getCloudStats', path: '/nodes/1/uuid', kind: '/nodes/[]/uuid', problem: 'is missing' },
        { operation: 'getCloudStats', path: '/nodes/2', kind: '/nodes/[]', problem: expect.any(String) },
        { operation: 'getCloudStats', path: '/nodes/3', kind: '/nodes/[]', problem: expect.any(String) },
        { operation: 'getCloudStats', path: '/nodes/4/cpu', kind: '/nodes/[]/cpu', problem: expect.any(String) }
      ])
    })

    test('a map skips each unreadable entry and reports it once', () => {
      const { value, skipped } = read(Tolerant.MapOf(Type.Object({ count: Type.Integer() })), {
        medium_v4: { count: '3' }, legacy_v1: { count: null }, note: 'stock refreshed hourly', large_v4: { count: 0 }
      }, 'getAvailability')
      expect(value).toStrictEqual({ medium_v4: { count: 3 }, large_v4: { count: 0 } })
      expect(skipped).toEqual([
        { operation: 'getAvailability', path: '/legacy_v1/count', kind: '/{}/count', problem: 'is missing' },
        { operation: 'getAvailability', path: '/note', kind: '/{}', problem: expect.any(String) }
      ])
    })

    test('a skip inside a kept item is reported once, at its own path', () => {
      const schema = Type.Object({ nodes: Tolerant.ListOf(Type.Object({ uuid: Type.String(), networks: Tolerant.ListOf(Type.Object({ mac: Type.String() })) })) })
      const { value, skipped } = read(schema, { nodes: [{ uuid: 'u0', networks: [{ mac: 'aa' }, {}] }] })
      expect(value).toStrictEqual({ nodes: [{ uuid: 'u0', networks: [{ mac: 'aa' }] }] })
      expect(skipped).toEqual([{ operation: 'getCloudStats', path: '/nodes/0/networks/1/mac', kind: '/nodes/[]/networks/[]/mac', problem: 'is missing' }])
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
