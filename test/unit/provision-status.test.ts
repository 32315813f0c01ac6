import { describe, expect, test } from 'vitest'
import { provisionStatus, ServerGone } from '../../src/mapping/provision-status.ts'
import type { Cloud, CloudStats, GetOrder } from '../../src/generated/openmetal.ts'

const NOW = Date.parse('2026-11-22T12:00:00Z')

function order (deployed: Array<{ id: string, provision_status?: string, provisioning_status?: string }>, overrides: Partial<GetOrder> = {}): GetOrder {
  return {
    id: 'ORD1', type: 'orders', label: 'cycle:h:s', created_at: '2026-11-22T10:00:00Z', updated_at: '2026-11-22T11:00:00Z', is_active: true, created_by: 'u',
    fields: { items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1 }], organization_id: 'org', clouds_deployed: deployed },
    access: {},
    ...overrides
  } as GetOrder
}

const cloud = (fields: Partial<NonNullable<Cloud['fields']>> = {}): Cloud => ({ id: 'CL1', fields: { provision_status: 'complete', pending_delete: false, ...fields } })
const stats = (nodes: CloudStats['nodes'], state = 'RUNNING'): CloudStats => ({ cloud_state: state, nodes })
const node = { uuid: '6f1c9a52-0000-4000-8000-000000000001', ipaddress: '198.51.100.116', networks: [{ mac_address: 'AA:BB:CC:00:11:22' }] }

describe('provision status', () => {
  test('an order without a cloud yet is ordered, not provisioned', () => {
    expect(provisionStatus({ order: order([]), now: NOW })).toMatchObject({ provisioned: false, state: 'ordered', auth: { uuid: null, initial_ips: null, mac_addr: null } })
  })

  test.each(['pending', 'in_progress', 'awaiting_setup', 'some_future_state'])('%s is not provisioned and says so in extra', (status) => {
    const result = provisionStatus({ order: order([{ id: 'CL1', provision_status: status }]), now: NOW })
    expect(result).toMatchObject({ provisioned: false, state: status, cloudId: 'CL1', extra: { state: status, cloud_id: 'CL1', order_id: 'ORD1' } })
  })

  test('the prose spelling provisioning_status is read too', () => {
    expect(provisionStatus({ order: order([{ id: 'CL1', provisioning_status: 'in_progress' }]), now: NOW }).state).toBe('in_progress')
  })

  test('manual_setup is not provisioned, with the reason and how long it has lasted', () => {
    const result = provisionStatus({ order: order([{ id: 'CL1', provision_status: 'manual_setup' }]), now: NOW })
    expect(result).toMatchObject({ provisioned: false, state: 'manual_setup', extra: { reason: expect.stringContaining('OpenMetal staff'), manual_setup_since: '2026-11-22T11:00:00Z', manual_setup_minutes: 60 } })
  })

  test('complete with a known node is provisioned with uuid, primary IP and MAC', () => {
    const result = provisionStatus({ order: order([{ id: 'CL1', provision_status: 'complete' }]), cloud: cloud(), stats: stats([node]), now: NOW })
    expect(result).toMatchObject({ provisioned: true, auth: { uuid: node.uuid, initial_ips: ['198.51.100.116'], mac_addr: 'aa:bb:cc:00:11:22' }, extra: { node_uuid: node.uuid } })
  })

  test('complete but the node is not known yet is not provisioned', () => {
    expect(provisionStatus({ order: order([{ id: 'CL1', provision_status: 'complete' }]), cloud: cloud(), stats: stats([]), now: NOW })).toMatchObject({ provisioned: false, state: 'awaiting_node' })
    expect(provisionStatus({ order: order([{ id: 'CL1', provision_status: 'complete' }]), cloud: cloud(), stats: stats([{ ...node, networks: [] }]), now: NOW }).provisioned).toBe(false)
  })

  test('the cloud\'s own status wins over the order\'s copy', () => {
    expect(provisionStatus({ order: order([{ id: 'CL1', provision_status: 'complete' }]), cloud: cloud({ provision_status: 'in_progress' }), stats: stats([node]), now: NOW }).provisioned).toBe(false)
  })

  test.each([
    ['a pending-delete cloud', cloud({ pending_delete: true }), stats([node])],
    ['a PENDING-DELETE stats state', cloud(), stats([node], 'PENDING-DELETE')],
    ['a DELETED stats state', cloud(), stats([node], 'DELETED')]
  ])('%s is an explicit end, not an endless poll', (_name, theCloud, theStats) => {
    expect(() => provisionStatus({ order: order([{ id: 'CL1', provision_status: 'in_progress' }]), cloud: theCloud, stats: theStats, now: NOW })).toThrow(ServerGone)
  })

  test('an inactive order that never deployed a cloud is gone', () => {
    expect(() => provisionStatus({ order: order([], { is_active: false }), now: NOW })).toThrow(ServerGone)
  })
})
