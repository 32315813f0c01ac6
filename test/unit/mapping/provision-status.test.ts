/** Unit tests of src/mapping/provision-status.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { provisionStatus, ServerGone } from '../../../src/mapping/provision-status.ts'
import type { Cloud, CloudStats, CloudStatsNode, GetOrder } from '../../../src/generated/openmetal.ts'
import { CloudStatsAnswer } from '../../../src/openmetal/answers.ts'
import { readAnswer } from '../../../src/openmetal/tolerant-reader.ts'
import { specOrder } from '../../helpers/openmetal-answers.ts'

/** order -> cloud -> stats ==> what Cycle's provision-status poll sees. */
describe('src/mapping/provision-status.ts', () => {
  const UPDATED_AT = '2026-11-22T11:00:00.000Z'
  const NOW = Date.parse(UPDATED_AT) + 95 * 60_000 + 30_000

  type Deployed = NonNullable<GetOrder['fields']['clouds_deployed']>[number]

  function order (deployed: Deployed[] | undefined, overrides: Partial<GetOrder> = {}): GetOrder {
    return specOrder(deployed === undefined ? {} : { clouds_deployed: deployed }, { updated_at: UPDATED_AT, ...overrides })
  }

  const cloud = (fields: NonNullable<Cloud['fields']> = {}): Cloud => ({ id: 'CLD9', label: 'cloud', fields: { provision_status: 'complete', pending_delete: false, pod_location: 'pod_1', ...fields } })
  /** stats as the client reads them (a node without a uuid is not a node: skipped) */
  const stats = (nodes: CloudStatsNode[], cloudState = 'ACTIVE'): CloudStatsAnswer => readAnswer(CloudStatsAnswer, { cloud_state: cloudState, nodes } satisfies CloudStats, 'getCloudStats')
  const NODE: CloudStatsNode = {
    uuid: '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17',
    state: 'ACTIVE',
    power_state: 'power on',
    ipaddress: '198.51.100.116',
    networks: [{ mac_address: '0C:C4:7A:AB:CD:EF' }, { mac_address: '0C:C4:7A:AB:CD:F0' }]
  }
  const complete = (nodes: CloudStatsNode[], cloudFields: NonNullable<Cloud['fields']> = {}) =>
    provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'complete' }]), cloud: cloud(cloudFields), stats: stats(nodes), now: NOW })

  describe('before OpenMetal deploys a cloud', () => {
    test.each([['no clouds_deployed field', undefined], ['an empty clouds_deployed list', []]])('%s: ordered, not provisioned', (_name, deployed) => {
      const status = provisionStatus({ order: order(deployed), now: NOW })
      expect(status).toEqual({
        provisioned: false,
        state: 'ordered',
        cloudId: undefined,
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { order_id: 'ORD7Qx2', state: 'ordered' }
      })
    })

    test('an inactive order without a cloud is gone: Cycle must stop polling', () => {
      expect(() => provisionStatus({ order: order([], { is_active: false }), now: NOW })).toThrow(ServerGone)
      expect(() => provisionStatus({ order: order(undefined, { is_active: false }), now: NOW })).toThrow(/ORD7Qx2/)
    })
  })

  describe('while OpenMetal deploys', () => {
    test.each(['pending', 'in_progress', 'awaiting_setup'])('%s: not provisioned, the state in extra', (state) => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: state }]), now: NOW })
      expect(status).toEqual({
        provisioned: false,
        state,
        cloudId: 'CLD9',
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { order_id: 'ORD7Qx2', cloud_id: 'CLD9', state }
      })
    })

    test.each(['pending', 'in_progress', 'awaiting_setup', 'complete'])('the prose spelling provisioning_status=%s is read too', (state) => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provisioning_status: state }]), now: NOW })
      expect(status.state).toBe(state === 'complete' ? 'awaiting_node' : state)
      expect(status.provisioned).toBe(false)
    })

    test('a cloud entry without any status counts as pending', () => {
      expect(provisionStatus({ order: order([{ id: 'CLD9' }]), now: NOW }).state).toBe('pending')
    })

    test('an unknown future status is not provisioned and is passed on', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'quantum_entangling' }]), now: NOW })
      expect(status).toMatchObject({ provisioned: false, state: 'quantum_entangling', extra: { state: 'quantum_entangling' } })
    })

    test('the cloud\'s own status wins over the order\'s copy', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'complete' }]), cloud: cloud({ provision_status: 'in_progress' }), stats: stats([NODE]), now: NOW })
      expect(status).toMatchObject({ provisioned: false, state: 'in_progress' })
    })
  })

  describe('manual_setup', () => {
    test('is not provisioned and says why and for how many whole minutes, counted from the order\'s update', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'manual_setup' }]), now: NOW })
      expect(status).toMatchObject({
        provisioned: false,
        state: 'manual_setup',
        cloudId: 'CLD9',
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { state: 'manual_setup', manual_setup_since: UPDATED_AT, manual_setup_minutes: 95 }
      })
      expect(status.extra.reason).toEqual(expect.stringMatching(/OpenMetal staff/))
    })

    test('reported by the cloud rather than the order, too', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'in_progress' }]), cloud: cloud({ provision_status: 'manual_setup' }), now: NOW })
      expect(status.state).toBe('manual_setup')
    })

    test('minutes are never negative (clock skew) and null when the timestamp is unreadable', () => {
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'manual_setup' }]), now: Date.parse(UPDATED_AT) - 60_000 }).extra.manual_setup_minutes).toBe(0)
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'manual_setup' }], { updated_at: 'yesterday-ish' }), now: NOW }).extra.manual_setup_minutes).toBeNull()
    })
  })

  describe('complete', () => {
    test('with a node that has uuid, IP and MAC: provisioned, with what CycleOS needs to boot', () => {
      expect(complete([NODE])).toEqual({
        provisioned: true,
        state: 'complete',
        cloudId: 'CLD9',
        auth: { uuid: NODE.uuid, initial_ips: ['198.51.100.116'], mac_addr: '0c:c4:7a:ab:cd:ef' },
        extra: { order_id: 'ORD7Qx2', cloud_id: 'CLD9', state: 'complete', node_uuid: NODE.uuid }
      })
    })

    test('the first usable node and the first non-empty MAC are used', () => {
      const status = complete([{ uuid: 'u0', ipaddress: '' }, { ...NODE, networks: [{}, { mac_address: '' }, { mac_address: 'AA:BB:CC:DD:EE:FF' }] }])
      expect(status.auth).toEqual({ uuid: NODE.uuid, initial_ips: ['198.51.100.116'], mac_addr: 'aa:bb:cc:dd:ee:ff' })
    })

    test.each([
      ['no stats at all', undefined],
      ['no nodes yet', stats([])],
      ['a node without a uuid', stats([{ ...NODE, uuid: undefined }])],
      ['a node without an IP address', stats([{ ...NODE, ipaddress: undefined }])],
      ['a node with an empty IP address', stats([{ ...NODE, ipaddress: '' }])],
      ['a node without networks', stats([{ ...NODE, networks: undefined }])],
      ['a node without a MAC', stats([{ ...NODE, networks: [{}] }])],
      ['a node with an empty MAC', stats([{ ...NODE, networks: [{ mac_address: '' }] }])]
    ])('%s: not provisioned yet (awaiting_node)', (_name, theStats) => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'complete' }]), cloud: cloud(), stats: theStats, now: NOW })
      expect(status).toEqual({
        provisioned: false,
        state: 'awaiting_node',
        cloudId: 'CLD9',
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { order_id: 'ORD7Qx2', cloud_id: 'CLD9', state: 'awaiting_node' }
      })
    })
  })

  describe('deleted clouds end the poll', () => {
    test.each([
      ['the cloud is pending_delete', cloud({ pending_delete: true }), stats([NODE])],
      ['stats say PENDING-DELETE', cloud(), stats([NODE], 'PENDING-DELETE')],
      ['stats say DELETED', cloud(), stats([NODE], 'DELETED')],
      ['stats say DELETED and no cloud was fetched', undefined, stats([], 'DELETED')]
    ])('%s: ServerGone, whatever the deploy status', (_name, theCloud, theStats) => {
      for (const state of ['pending', 'in_progress', 'manual_setup', 'complete']) {
        expect(() => provisionStatus({ order: order([{ id: 'CLD9', provision_status: state }]), cloud: theCloud, stats: theStats, now: NOW })).toThrow(ServerGone)
      }
    })

    test('ServerGone names the cloud', () => {
      expect(() => complete([NODE], { pending_delete: true })).toThrow(/CLD9/)
    })

    test('a cloud OpenMetal no longer knows (404) after it started deploying is gone; while pending it may not be visible yet', () => {
      for (const state of ['in_progress', 'awaiting_setup', 'manual_setup', 'complete']) {
        expect(() => provisionStatus({ order: order([{ id: 'CLD9', provision_status: state }]), cloud: null, now: NOW })).toThrow(/CLD9 no longer exists/)
      }
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'pending' }]), cloud: null, now: NOW })).toMatchObject({ provisioned: false, state: 'pending' })
      // not asked is not missing
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'in_progress' }]), now: NOW })).toMatchObject({ provisioned: false, state: 'in_progress' })
    })
  })

  describe('invariants over arbitrary answers', () => {
    const text = fc.oneof(fc.constantFrom('pending', 'in_progress', 'awaiting_setup', 'manual_setup', 'complete', ''), fc.string({ maxLength: 12 }))
    const node: fc.Arbitrary<CloudStatsNode> = fc.record({
      uuid: fc.option(fc.uuid(), { nil: undefined }),
      ipaddress: fc.option(fc.constantFrom('198.51.100.116', '203.0.113.5', ''), { nil: undefined }),
      networks: fc.option(fc.array(fc.record({ mac_address: fc.option(fc.constantFrom('0C:C4:7A:AB:CD:EF', 'aa:bb:cc:dd:ee:ff', ''), { nil: undefined }) }), { maxLength: 3 }), { nil: undefined })
    })

    test('provisioned exactly when complete with a full node; auth is all set or all null', () => {
      fc.assert(fc.property(text, fc.option(text, { nil: undefined }), fc.array(node, { maxLength: 3 }), (orderState, cloudState, nodes) => {
        const status = provisionStatus({
          order: order([{ id: 'CLD9', provision_status: orderState }]),
          cloud: cloudState === undefined ? undefined : { id: 'CLD9', fields: { provision_status: cloudState } },
          stats: stats(nodes),
          now: NOW
        })
        expect(status.cloudId).toBe('CLD9')
        expect(status.extra.state).toBe(status.state)
        if (status.provisioned) {
          expect(cloudState ?? orderState).toBe('complete')
          expect(status.auth.uuid).toEqual(expect.any(String))
          expect(status.auth.initial_ips).toHaveLength(1)
          expect(status.auth.initial_ips?.[0]).not.toBe('')
          expect(status.auth.mac_addr).toBe(status.auth.mac_addr?.toLowerCase())
          expect(status.auth.mac_addr).not.toBe('')
        } else {
          expect(status.auth).toEqual({ uuid: null, initial_ips: null, mac_addr: null })
        }
      }), { numRuns: 300 })
    })
  })
})
