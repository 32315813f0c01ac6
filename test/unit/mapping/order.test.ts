/** Unit tests of src/mapping/order.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { Value } from 'typebox/value'
import { orderRequestFor } from '../../../src/mapping/order.ts'
import type { ProvisionPlan } from '../../../src/mapping/order.ts'
import { OrderRequest } from '../../../src/generated/openmetal.ts'
import { HUB_SSH_PUBLIC_KEY } from '../../helpers/fixtures.ts'

/** A Cycle provision -> the one OpenMetal order that buys it. */
describe('src/mapping/order.ts', () => {
  const TAG = 'cycle:651586fca6078e98982dbd90:651586fca6078e98982dbd91'
  const SSH_KEY = HUB_SSH_PUBLIC_KEY

  function plan (overrides: Partial<ProvisionPlan> = {}): ProvisionPlan {
    return {
      tag: TAG,
      hostname: 'node-ams-1',
      hubName: 'acme-prod',
      sku: 'medium_v4',
      pod: 'pod_1',
      deploymentConfiguration: 'CFGcycleos1',
      sshPublicKey: SSH_KEY,
      sshKeyIds: [],
      ...overrides
    }
  }

  describe('orderRequestFor', () => {
    test('one bare-metal server of the SKU in the pod, labelled with the Cycle tag, booting the deployment configuration', () => {
      expect(orderRequestFor(plan())).toEqual({
        label: TAG,
        description: 'Cycle server node-ams-1 (hub acme-prod)',
        fields: {
          items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { deployment_configuration: 'CFGcycleos1' } }],
          config_options: { public_key: SSH_KEY }
        }
      })
    })

    test('saved key IDs are used when given, instead of the public key', () => {
      const request = orderRequestFor(plan({ sshKeyIds: ['KEY1', 'KEY2'] }))
      expect(request.fields.config_options).toEqual({ public_key_ids: ['KEY1', 'KEY2'] })
    })

    test('the key ID list in the request is a copy: later changes to the plan do not leak into it', () => {
      const ids = ['KEY1']
      const request = orderRequestFor(plan({ sshKeyIds: ids }))
      ids.push('KEY2')
      expect(request.fields.config_options?.public_key_ids).toEqual(['KEY1'])
    })

    test('without a hub name the description names only the server', () => {
      expect(orderRequestFor(plan({ hubName: undefined })).description).toBe('Cycle server node-ams-1')
    })

    test('very long hostnames and hub names are cut, not sent whole', () => {
      const request = orderRequestFor(plan({ hostname: 'h'.repeat(5000), hubName: 'n'.repeat(5000) }))
      expect(request.description?.length).toBeLessThanOrEqual('Cycle server  (hub )'.length + 300)
    })

    test('every plan yields a request that matches OpenMetal\'s OrderRequest schema', () => {
      const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)
      const arbitraryPlan: fc.Arbitrary<ProvisionPlan> = fc.record({
        tag: fc.string({ minLength: 1, maxLength: 120 }),
        hostname: fc.string({ maxLength: 300 }),
        hubName: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        sku: fc.stringMatching(/^[a-z0-9_]{1,32}$/),
        pod: fc.nat(9999).map((n) => `pod_${n}`),
        deploymentConfiguration: id,
        sshPublicKey: fc.option(fc.constant(SSH_KEY), { nil: undefined }),
        sshKeyIds: fc.array(id, { maxLength: 5 })
      })
      fc.assert(fc.property(arbitraryPlan, (input) => {
        // provision refuses a plan without any SSH key before it gets here
        fc.pre(input.sshPublicKey !== undefined || input.sshKeyIds.length > 0)
        const request = orderRequestFor(input)
        expect(Value.Check(OrderRequest, request)).toBe(true)
        expect(request.label).toBe(input.tag)
        expect(request.fields.items).toHaveLength(1)
        expect(request.fields.items[0]).toMatchObject({ quantity: 1, type: 'baremetal', hardware_sku: input.sku, location: input.pod, modifications: { deployment_configuration: input.deploymentConfiguration } })
        if (input.sshKeyIds.length > 0) {
          expect(request.fields.config_options).toEqual({ public_key_ids: input.sshKeyIds })
        } else {
          expect(request.fields.config_options).toEqual({ public_key: input.sshPublicKey })
        }
      }), { numRuns: 200 })
    })
  })
})
