/**
 * The spec-drift recorder, shown hand-made answers that deviate from the pinned OpenMetal
 * spec the ways a live API may: each deviation is one finding at a JSON path, repeated
 * ones are counted, and nothing secret (tokens, header values, strings from bodies) is kept.
 */
import { describe, expect, test } from 'vitest'
import { ANSWER_SCHEMAS, SpecDriftRecorder, formatDrift, type DriftFinding } from '../../scripts/sandbox/spec-drift.ts'
import { PODS, productCatalog } from '@cycle-ial-openmetal/openmetal-simulator/catalog'
import { OPERATIONS, type Operation } from '../../src/openmetal/operations.ts'
import * as OM from '../../src/generated/openmetal.ts'

type Headers = Record<string, string | string[] | undefined>

function recorded (answers: Array<[string, unknown, Headers?, number?]>): SpecDriftRecorder {
  const recorder = new SpecDriftRecorder()
  const { observe } = recorder
  // a name outside the list too ('unknownCall'): the recorder must cope with an operation it has no schema for
  for (const [operation, body, headers, status] of answers) observe(operation as Operation, { status: status ?? 200, body, headers: headers ?? {} })
  return recorder
}

function findings (recorder: SpecDriftRecorder, operation: string): DriftFinding[] {
  return [...recorder.report().operations.find((entry) => entry.operation === operation)?.findings ?? []]
}

function line (finding: DriftFinding): string {
  return `${finding.kind} ${finding.path} ×${finding.count}`
}

const order = {
  id: 'ord_1',
  label: 'cycle-abc',
  description: 'Cycle server',
  type: 'order',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  is_active: true,
  created_by: 'user_1',
  access: { role: 'owner' },
  fields: {
    organization_id: 'org_1',
    items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1 }],
    clouds_deployed: [{ id: 'cld_1', provision_status: 'complete' }]
  }
}

const cloud = (id: string): unknown => ({ id, label: 'cycle-abc', created_at: '2026-01-01T00:00:00Z', fields: { cloud_type: 'baremetal', pod_location: 'pod_1', provision_status: 'complete', pending_delete: false } })

const prefix = (id: number): unknown => ({
  id: `pfx_${id}`,
  type: 'prefix',
  label: `block ${id}`,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  is_active: true,
  created_by: 'omapi',
  fields: { created_from: 'omapi', pod_location: 'pod_1', prefix_id: id, cidr: '203.0.113.0/28', prefix_type: 'routed', cloud_id: 'cld_1' }
})

describe('answers as the pinned spec describes them', () => {
  test('give no finding, and the report says so', () => {
    const recorder = recorded([
      ['exchangeToken', { access_token: 'tok', expires_in: 14400, token_type: 'Bearer' }],
      ['getLocations', { locations: { pod_1: PODS.pod_1, pod_5: PODS.pod_5 } }],
      ['getProducts', productCatalog()],
      ['getOrder', order],
      ['listClouds', [cloud('a'), cloud('b')]],
      ['listPrefixes', [prefix(1), prefix(2)]],
      ['deleteCloud', null]
    ])
    expect(recorder.report().findings).toBe(0)
    expect(recorder.format()).toBe('What the sandbox said that the spec does not: nothing beyond the pinned spec (7 answers from 7 operations).')
  })

  test('every operation the client names has the schema of its answer; deletes expect no body', () => {
    expect(Object.keys(ANSWER_SCHEMAS).sort()).toEqual([...OPERATIONS].sort())
    expect(ANSWER_SCHEMAS.getOrder).toBe(OM.GetOrder)
    expect(ANSWER_SCHEMAS.createOrder).toBe(OM.GetOrder)
    expect(ANSWER_SCHEMAS.probe).toBe(OM.Locations)
    expect(ANSWER_SCHEMAS.deleteCloud).toBeNull()
    expect(ANSWER_SCHEMAS.deleteIpAddress).toBeNull()
  })
})

describe('deviations', () => {
  test('null where the schema does not allow it; null where it does is fine', () => {
    const recorder = recorded([['getOrder', { ...order, description: null }], ['getProducts', { ...productCatalog() }]])
    expect(findings(recorder, 'getOrder')).toEqual([{ kind: 'null', path: '$.description', message: 'null where the spec does not allow it (a string is declared)', count: 1 }])
    expect(findings(recorder, 'getProducts')).toEqual([])
  })

  test('an enum value the pinned spec does not list: closed enums and the ones the corrections widened (x-spec-enum)', () => {
    const drifted = {
      ...order,
      access: { role: 'billing-admin' },
      fields: { ...order.fields, items: [{ ...order.fields.items[0], type: 'vps' }], clouds_deployed: [{ id: 'cld_1', provision_status: 'queued_for_datacenter_hands_and_a_very_long_tail' }] }
    }
    const recorder = recorded([['getOrder', drifted]])
    expect(findings(recorder, 'getOrder').map((finding) => `${finding.path}: ${finding.message}`)).toEqual([
      '$.access.role: value "billing-admin" the spec does not list (it lists: owner, member, maintainer)',
      '$.fields.items[].type: value "vps" the spec does not list (it lists: baremetal, pcc)',
      '$.fields.clouds_deployed[].provision_status: value "queued_for_datacenter_hands_and_a_very_…" the spec does not list (it lists: pending, in_progress, awaiting_setup, complete, manual_setup)'
    ])
  })

  test('a numeric string where an integer is declared, without the token or the number itself', () => {
    const recorder = recorded([['exchangeToken', { access_token: 'eyJ-very-secret-token', expires_in: '14400', token_type: 'Bearer' }]])
    expect(findings(recorder, 'exchangeToken')).toEqual([{ kind: 'type', path: '$.expires_in', message: 'a numeric string where an integer is declared', count: 1 }])
    expect(recorder.format()).not.toContain('14400')
  })

  test('other type differences: a fraction for an integer, a boolean string, an object where an array is declared', () => {
    const recorder = recorded([
      ['getAvailability', { timestamp: '2026-01-01T00:00:00Z', pod_location: 'pod_1', medium_v4: { count: 2.5, max_size: 2 } }],
      ['getCloud', { ...(cloud('a') as object), fields: { pending_delete: 'false' } }],
      ['listPrefixes', { prefixes: { a: prefix(1) } }]
    ])
    expect(findings(recorder, 'getAvailability').map(line)).toEqual(['type ${}.count ×1'])
    expect(findings(recorder, 'getCloud')).toEqual([{ kind: 'type', path: '$.fields.pending_delete', message: 'a boolean string where a boolean is declared', count: 1 }])
    expect(findings(recorder, 'listPrefixes')).toEqual([{ kind: 'type', path: '$', message: 'an object {prefixes} where an array is declared', count: 1 }])
  })

  test('fields the schema does not declare, at any depth; a required field that is absent', () => {
    const { created_by: _createdBy, ...rest } = order
    const recorder = recorded([['getOrder', { ...rest, region_id: 7, fields: { ...order.fields, billing: { plan: 'x' }, clouds_deployed: [{ id: 'c', provision_status: 'complete', nodes: [] }] } }]])
    expect(findings(recorder, 'getOrder').map((finding) => `${finding.kind} ${finding.path}: ${finding.message}`).sort()).toEqual([
      'extra $.fields.billing: not in the spec (an object)',
      'extra $.fields.clouds_deployed[].nodes: not in the spec (an array)',
      'extra $.region_id: not in the spec (an integer)',
      'missing $.created_by: required by the spec, absent'
    ])
    const bare = recorded([['getOrder', { ...order, fields: { clouds_deployed: [] } }]])
    expect(findings(bare, 'getOrder').map(line)).toEqual(['missing $.fields.items ×1', 'missing $.fields.organization_id ×1'])
    const hollow = recorded([['getOrder', { id: 'ord_1', fields: order.fields }]])
    expect(findings(hollow, 'getOrder').map((finding) => `${finding.path}: ${finding.message}`)).toEqual(['$: required by the spec, absent: label, type, created_at, updated_at, is_active, created_by, access'])
  })

  test('an address with a prefix length where a plain address is documented; a cidr field is not one', () => {
    const recorder = recorded([['createIpAddress', { id: 5, ip: '203.0.113.5/28', label: 'cycle' }], ['listPrefixes', [prefix(1)]]])
    expect(findings(recorder, 'createIpAddress')).toEqual([{ kind: 'format', path: '$.ip', message: 'an address with a prefix length (a.b.c.d/nn) where a plain address is documented', count: 1 }])
    expect(findings(recorder, 'listPrefixes')).toEqual([])
    expect(recorder.format()).not.toContain('203.0.113')
  })

  test('a body where none is documented, and the shape of an answer no schema is known for', () => {
    const recorder = recorded([['deleteCloud', { deleted: true, id: 'cld_1' }], ['deleteIpAddress', null], ['listFirewalls', [{ id: 1, vlan: 'x' }, { id: 2 }]]])
    expect(findings(recorder, 'deleteCloud')).toEqual([{ kind: 'body', path: '$', message: 'a body where none is documented: an object {deleted, id}', count: 1 }])
    expect(findings(recorder, 'deleteIpAddress')).toEqual([])
    expect(findings(recorder, 'listFirewalls')).toEqual([{ kind: 'shape', path: '$', message: 'no schema known for this operation; the answer is an array of an object (2 keys)', count: 1 }])
  })
})

describe('lists and pagination', () => {
  test('a list wrapped in {data, meta, links}: the wrapper, its pagination signals, and the items compared at data[]', () => {
    const recorder = recorded([['listClouds', {
      data: [cloud('a'), { ...(cloud('b') as object), description: null }],
      meta: { current_page: 1, last_page: 3, per_page: 2, total: 6 },
      links: { next: 'https://sandbox.api.central.openmetal.io/v1/clouds?page=2', prev: null },
      success: true
    }]])
    expect(findings(recorder, 'listClouds').map((finding) => `${finding.kind} ${finding.path}: ${finding.message}${finding.seen === undefined ? '' : ` [${finding.seen.join(', ')}]`}`)).toEqual([
      'wrapped $: a list wrapped in {data, meta, links, success} where a bare array is declared',
      'null $.data[].description: null where the spec does not allow it (a string is declared)',
      'pagination $.meta.current_page: pagination in the body [1]',
      'pagination $.meta.last_page: pagination in the body [3]',
      'pagination $.meta.per_page: pagination in the body [2]',
      'pagination $.meta.total: pagination in the body [6]',
      'pagination $.links.next: pagination in the body [a URL]',
      'pagination $.links.prev: pagination in the body [null]',
      'extra $.success: not in the spec, next to the wrapped list (a boolean)'
    ])
    expect(recorder.format()).not.toContain('page=2')
  })

  test('a cursor next to a bare object answer, and pagination headers: Link by rel, counts by value, cursors only described', () => {
    const headers = {
      link: '<https://sandbox.api.central.openmetal.io/v1/orders?page=2&per_page=50>; rel="next", <https://sandbox.api.central.openmetal.io/v1/orders?page=4&per_page=50>; rel="last"',
      'x-total-count': '181',
      'x-next-cursor': 'b3BhcXVlLWN1cnNvcg==',
      'x-ratelimit-remaining': '59',
      'content-type': 'application/json'
    }
    const recorder = recorded([['listOrders', [{ ...order, relation: {} }], headers], ['getLocations', { locations: {}, next_cursor: 'abc' }]])
    expect(findings(recorder, 'listOrders')).toEqual([
      { kind: 'pagination', path: 'header Link', message: 'pagination header (query page, per_page)', count: 1, seen: ['next', 'last'] },
      { kind: 'pagination', path: 'header X-Total-Count', message: 'pagination header', count: 1, seen: [181] },
      { kind: 'pagination', path: 'header X-Next-Cursor', message: 'pagination header', count: 1, seen: ['an opaque value (20 characters)'] },
      { kind: 'rate-limit', path: 'header X-Ratelimit-Remaining', message: 'rate-limit header', count: 1 },
      { kind: 'extra', path: '$[].access', message: 'not in the spec (an object)', count: 1 }
    ])
    expect(findings(recorder, 'getLocations')).toEqual([{ kind: 'pagination', path: '$.next_cursor', message: 'pagination in the body', count: 1, seen: ['a string'] }])
    expect(JSON.stringify(recorder.report())).not.toMatch(/b3BhcXVl|"59"|abc/)
  })
})

describe('aggregation', () => {
  test('pages of one list: one line per signal, with the values and rels seen on every page', () => {
    const page = (number: number, rels: string[]): [string, unknown, Headers] => ['listOrders', { data: [], meta: { current_page: number, last_page: 3 }, links: { next: number < 3 ? `/v1/orders?page=${number + 1}` : null }, _links: { self: '/v1/orders' } }, {
      link: rels.map((rel) => `<https://sandbox.api.central.openmetal.io/v1/orders?page=${rel === 'next' ? number + 1 : 1}&per_page=5>; rel="${rel}"`).join(', ')
    }]
    const recorder = recorded([page(1, ['next', 'last']), page(2, ['prev', 'next', 'last']), page(3, ['prev', 'first'])])
    expect(recorder.format().split('\n').slice(1)).toEqual([
      '  listOrders (200 ×3)',
      '    header Link          pagination header (query page, per_page): next, last, prev, first  ×3',
      '    $                    a list wrapped in {data, meta, links, _links} where a bare array is declared  ×3',
      '    $.meta.current_page  pagination in the body: 1, 2, 3  ×3',
      '    $.meta.last_page     pagination in the body: 3  ×3',
      '    $.links.next         pagination in the body: a URL, null  ×3',
      // a self link is no page relation
      '    $._links.self        not in the spec (a string)  ×3'
    ])
  })

  test('the same extra field on every object is one line at N paths in the text, every path in the report', () => {
    const tagged = <T extends object>(value: T): T & { x_ref: string } => ({ ...value, x_ref: 'r' })
    const body = tagged({ ...order, access: tagged(order.access), fields: tagged({ ...order.fields, items: order.fields.items.map(tagged), clouds_deployed: order.fields.clouds_deployed.map(tagged) }) })
    const recorder = recorded([['getOrder', body], ['getOrder', body]])
    expect(findings(recorder, 'getOrder').map(line)).toEqual(['extra $.access.x_ref ×2', 'extra $.fields.items[].x_ref ×2', 'extra $.fields.clouds_deployed[].x_ref ×2', 'extra $.fields.x_ref ×2', 'extra $.x_ref ×2'])
    expect(recorder.format().split('\n').slice(1)).toEqual(['  getOrder (200 ×2)', '    *.x_ref  not in the spec (a string) (at 5 paths)  ×10'])
  })

  test('the same finding on 40 list items is one finding with a count', () => {
    const items = Array.from({ length: 40 }, (_, index) => {
      const item = prefix(index) as { fields: Record<string, unknown> }
      return { ...item, fields: { ...item.fields, cloud_id: null, vlan_id: String(index) } }
    })
    const recorder = recorded([['listPrefixes', items]])
    expect(findings(recorder, 'listPrefixes').map(line)).toEqual(['null $[].fields.cloud_id ×40', 'type $[].fields.vlan_id ×40'])
    expect(recorder.format()).toContain('$[].fields.cloud_id  null where the spec does not allow it (a string is declared)  ×40')
  })

  test('maps keyed by data (pods, SKUs) use {} instead of the key', () => {
    const locations = Object.fromEntries(Object.entries(PODS).map(([pod, details]) => [pod, { ...details, timezone: 'UTC', release_status: pod === 'pod_5' ? 'beta' : details.release_status }]))
    const catalog = productCatalog()
    const hardware = Object.fromEntries(Object.entries(catalog.hardware).map(([sku, type]) => [sku, { ...type, ram: { ...type.ram, ecc: true } }]))
    const recorder = recorded([
      ['getLocations', { locations }],
      ['getProducts', { ...catalog, hardware }],
      ['getAvailability', { timestamp: 't', pod_location: 'pod_1', medium_v4: { count: 3, max_size: 3, reserved: 1 }, large_v4: { count: 1, max_size: 1, reserved: 0 } }],
      ['getAvailability', { timestamp: 't', pod_location: 'pod_2', medium_v4: { count: 0, max_size: 0, reserved: 0 } }]
    ])
    expect(findings(recorder, 'getLocations').map(line)).toEqual(['extra $.locations{}.timezone ×4', 'enum $.locations{}.release_status ×1'])
    expect(findings(recorder, 'getProducts').map(line)).toEqual([`extra $.hardware{}.ram.ecc ×${Object.keys(hardware).length}`])
    expect(findings(recorder, 'getAvailability').map(line)).toEqual(['extra ${}.reserved ×3'])
    expect(recorder.format()).not.toMatch(/pod_1|medium_v4/)
  })

  test('an object with many undeclared keys is reported once as a map', () => {
    const clouds = Object.fromEntries(Array.from({ length: 30 }, (_, index) => [`cloud_${index}`, { id: index }]))
    const recorder = recorded([['getCloudStats', { name: 'x', ...clouds }]])
    expect(findings(recorder, 'getCloudStats')).toEqual([{ kind: 'extra', path: '${}', message: '30 keys the spec does not declare (a map keyed by data?)', count: 1 }])
  })
})

describe('what the report never holds', () => {
  test('no credential, token, header value or body string, whatever the answers carry', () => {
    const secrets = ['eyJhbGciOi.secret-access-token', 'refresh-secret-77', 'Bearer header-token-99', 'Basic c2VjcmV0OnBhaXI=', 'cookie-value-42', 'org-secret-label', 'sandbox-secret-0042']
    const recorder = recorded([
      ['exchangeToken', { access_token: secrets[0], refresh_token: secrets[1], expires_in: '14400', scope: null }, { authorization: secrets[2], 'proxy-authorization': secrets[3], 'set-cookie': [secrets[4] ?? ''], 'x-api-key': secrets[6] }],
      ['getOrder', { ...order, label: secrets[5], client_secret: secrets[6] }],
      ['exchangeToken', { error: 'invalid_client', error_description: secrets[6] }, { 'www-authenticate': secrets[2] }, 401],
      ['unknownCall', { token: secrets[0], list: [secrets[1]] }, { authorization: secrets[2] }]
    ])
    const everything = `${JSON.stringify(recorder.report())}\n${recorder.format()}`
    for (const secret of secrets) expect(everything).not.toContain(secret)
    expect(everything).not.toMatch(/secret-|token-|c2VjcmV0/)
    expect(findings(recorder, 'exchangeToken').map(line)).toEqual(['type $.expires_in ×1', 'null $.scope ×1', 'extra $.refresh_token ×1'])
    expect(findings(recorder, 'getOrder').map(line)).toEqual(['extra $.client_secret ×1'])
    expect(findings(recorder, 'unknownCall').map((finding) => finding.message)).toEqual(['no schema known for this operation; the answer is an object {token, list}'])
  })
})

describe('status and robustness', () => {
  test('error answers are counted per status, not compared', () => {
    const recorder = recorded([['getCloud', { error: 'not found', weird: [1] }, {}, 404], ['getCloud', { error: 'gone' }, {}, 404], ['setPowerState', { message: 'locked' }, {}, 409], ['getCloud', cloud('a')]])
    const report = recorder.report()
    expect(report.operations.map(({ operation, answers, errors, findings }) => ({ operation, answers, errors, findings: findings.length }))).toEqual([
      { operation: 'getCloud', answers: { 200: 1 }, errors: { 404: 2 }, findings: 0 },
      { operation: 'setPowerState', answers: {}, errors: { 409: 1 }, findings: 0 }
    ])
    expect(recorder.format()).toBe([
      'What the sandbox said that the spec does not: nothing beyond the pinned spec (4 answers from 2 operations).',
      '  error answers (not compared): getCloud 404 ×2; setPowerState 409'
    ].join('\n'))
  })

  test('observe is bound and never throws, even on answers no JSON parser produces', () => {
    const recorder = new SpecDriftRecorder()
    const observe = recorder.observe
    const hostile = { get status (): number { throw new Error('boom') }, body: null, headers: {} }
    expect(() => { observe('getCloud', hostile) }).not.toThrow()
    let deep: unknown = { id: 'x' }
    for (let index = 0; index < 500; index++) deep = { fields: deep }
    expect(() => { observe('getCloud', { status: 200, body: deep, headers: {} }) }).not.toThrow()
    expect(() => { observe('getOrder', { status: 200, body: 'not an object', headers: {} }) }).not.toThrow()
    expect(findings(recorder, 'getOrder')).toEqual([{ kind: 'type', path: '$', message: 'a string where an object is declared', count: 1 }])
  })

  test('no answer seen at all', () => {
    expect(new SpecDriftRecorder().format()).toBe('What the sandbox said that the spec does not: no answer was seen.')
  })
})

describe('a report of any size', () => {
  test('200,000 findings of one operation are printed, one line each, without running out of stack', () => {
    const findings = Array.from({ length: 200_000 }, (_, index): DriftFinding => ({ kind: 'extra', path: `header X-Odd-${index}`, message: 'not in the spec', count: 1 }))
    const text = formatDrift({ answers: 1, findings: findings.length, operations: [{ operation: 'listOrders', answers: { 200: 1 }, errors: {}, findings }] })
    const lines = text.split('\n')
    expect(lines).toHaveLength(2 + findings.length)
    expect(lines[2]).toBe(`    ${'header X-Odd-0'.padEnd(19)}  not in the spec`)
  })
})
