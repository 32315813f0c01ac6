import { expect, test } from 'vitest'
import { inventoryReport } from '../../../src/mapping/inventory.ts'
import type { Cloud, GetOrder } from '../../../src/generated/openmetal.ts'

const NOW = Date.parse('2026-11-22T12:00:00Z')
const HUB = 'a'.repeat(24)

function order (id: string, server: string, status: string | undefined, options: { active?: boolean, hoursAgo?: number, label?: string } = {}): GetOrder {
  const created = new Date(NOW - (options.hoursAgo ?? 1) * 3_600_000).toISOString()
  return {
    id,
    type: 'orders',
    label: options.label ?? `cycle:${HUB}:${server}`,
    created_at: created,
    updated_at: created,
    is_active: options.active ?? true,
    created_by: 'u',
    fields: { items: [], organization_id: 'o', clouds_deployed: status === undefined ? [] : [{ id: `C${id}`, provision_status: status }] },
    access: {}
  } as GetOrder
}

const cloud = (id: string, status: string, pendingDelete = false): Cloud => ({ id, fields: { provision_status: status, pending_delete: pendingDelete } })

test('lists what the adapter bought and flags what is stuck or orphaned', () => {
  const report = inventoryReport({
    now: NOW,
    orders: [
      order('1', 's1', 'complete'),
      order('2', 's2', 'manual_setup', { hoursAgo: 5 }),
      order('3', 's3', 'in_progress', { hoursAgo: 3 }),
      order('4', 's4', 'complete', { active: false }),
      order('5', 's5', 'complete'),
      order('6', 'x', 'complete', { label: 'someone else\'s order' })
    ],
    clouds: [cloud('C1', 'complete'), cloud('C2', 'manual_setup'), cloud('C3', 'in_progress'), cloud('C4', 'complete'), cloud('C5', 'complete', true)],
    addresses: [
      { prefixId: 'P1', address: { id: 1, ip: '198.51.100.5', label: `cycle:${HUB}:s1:ip:none:abc` } },
      { prefixId: 'P1', address: { id: 2, ip: '198.51.100.6', label: `cycle:${HUB}:s5:ip:none:def` } },
      { prefixId: 'P1', address: { id: 3, ip: '198.51.100.7', label: 'primary' } }
    ]
  })
  const findings = Object.fromEntries(report.servers.map((row) => [row.cycleServerId, row.findings]))
  expect(findings).toEqual({ s1: [], s2: ['manual-setup'], s3: ['stuck'], s4: ['orphaned-cloud'], s5: ['cloud-pending-delete'] })
  expect(report.ips.map((row) => [row.ip, row.findings])).toEqual([['198.51.100.5', []], ['198.51.100.6', ['orphaned-ip']]])
  expect(report.findings).toBe(5)
})

test('can be narrowed to one hub', () => {
  const other = inventoryReport({ now: NOW, orders: [order('1', 's1', 'complete')], clouds: [], addresses: [], hubId: 'b'.repeat(24) })
  expect(other.servers).toEqual([])
})

test('two orders standing for one Cycle server: both are flagged (which one Cycle holds is the operator\'s look), a dead one is not', () => {
  const report = inventoryReport({
    now: NOW,
    orders: [order('9', 's7', 'complete', { hoursAgo: 1 }), order('8', 's7', 'complete', { hoursAgo: 2 }), order('7', 's7', undefined, { hoursAgo: 3, active: false })],
    clouds: [cloud('C9', 'complete'), cloud('C8', 'complete')],
    addresses: []
  })
  expect(report.servers.map((row) => [row.orderId, row.findings])).toEqual([['9', ['duplicate-order']], ['8', ['duplicate-order']], ['7', []]])
})

test('a tagged cloud that no order deploys any more is listed as orphaned (it still bills)', () => {
  const tagged = (id: string, server: string, pendingDelete = false): Cloud => ({ ...cloud(id, 'complete', pendingDelete), label: `cycle:${HUB}:${server}`, created_at: new Date(NOW - 7_200_000).toISOString() })
  const report = inventoryReport({ now: NOW, orders: [order('1', 's1', 'complete')], clouds: [tagged('C1', 's1'), tagged('C77', 's9'), tagged('C78', 's8', true), { ...cloud('C79', 'complete'), label: 'not ours' }], addresses: [] })
  expect(report.servers.map((row) => [row.orderId, row.cloudId, row.state, row.findings, row.ageHours])).toEqual([
    ['1', 'C1', 'complete', [], 1],
    ['', 'C77', 'complete', ['orphaned-cloud'], 2],
    ['', 'C78', 'pending-delete', ['cloud-pending-delete'], 2]
  ])
})
