/** OpenMetal answers shaped exactly as the pinned spec describes them, for unit tests to start from. */
import type { GetOrder } from '../../src/generated/openmetal.ts'

/** The Cycle tag of the order below: hub 651586fca6078e98982dbd90, server 651586fca6078e98982dbd91. */
export const ORDER_LABEL = 'cycle:651586fca6078e98982dbd90:651586fca6078e98982dbd91'

/** One bare-metal order (ORD7Qx2, medium_v4 in pod_1), with `fields` and then the order itself overridden. */
export function specOrder (fields: Partial<GetOrder['fields']> = {}, overrides: Partial<GetOrder> = {}): GetOrder {
  return {
    id: 'ORD7Qx2',
    type: 'order',
    label: ORDER_LABEL,
    description: 'Cycle server node-1',
    created_at: '2026-11-22T10:30:00.000Z',
    updated_at: '2026-11-22T11:00:00.000Z',
    is_active: true,
    created_by: 'user_1',
    fields: {
      items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { deployment_configuration: 'CFG1' } }],
      config_options: { public_key_ids: ['KEY1'] },
      organization_id: 'ORG1',
      ...fields
    },
    access: { role: 'owner' },
    ...overrides
  }
}
