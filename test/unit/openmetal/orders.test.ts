/** Unit tests of src/openmetal/orders.ts: every replica agrees on the same one of several orders or blocks. */
import { describe, expect, test } from 'vitest'
import { canonicalOrder, oldest, standsForServer } from '../../../src/openmetal/orders.ts'
import type { OrderAnswer } from '../../../src/openmetal/answers.ts'

const NOW = Date.parse('2026-11-22T12:00:00Z')
const TAG = `cycle:${'a'.repeat(24)}:s1`

/** An order as the client reads it: only the fields the choice looks at. */
function order (id: string, options: { hoursAgo: number, active?: boolean, label?: string, deployed?: string[] }): Pick<OrderAnswer, 'id' | 'label' | 'is_active' | 'created_at' | 'fields'> {
  return {
    id,
    label: options.label ?? TAG,
    is_active: options.active ?? true,
    created_at: new Date(NOW - options.hoursAgo * 3_600_000).toISOString(),
    fields: options.deployed === undefined ? {} : { clouds_deployed: options.deployed.map((id) => ({ id })) }
  }
}

describe('canonicalOrder', () => {
  test('the oldest active order with the tag, whatever the order of the list; ties by ID', () => {
    const older = order('B', { hoursAgo: 2 })
    const newer = order('A', { hoursAgo: 1 })
    const inactive = order('Z', { hoursAgo: 9, active: false })
    const otherServer = order('Y', { hoursAgo: 9, label: `cycle:${'a'.repeat(24)}:s2` })
    expect(canonicalOrder([newer, otherServer, older, inactive], TAG)?.id).toBe('B')
    expect(canonicalOrder([older, newer], TAG)?.id).toBe('B')
    expect(canonicalOrder([{ ...newer, id: 'C' }, newer], TAG)?.id).toBe('A')
    expect(canonicalOrder([inactive, otherServer], TAG)).toBeUndefined()
  })

  test('an inactive order that deployed a cloud still stands for the server (it is never bought again)', () => {
    const fulfilled = order('F', { hoursAgo: 12, active: false, deployed: ['C1'] })
    expect(standsForServer(fulfilled)).toBe(true)
    expect(canonicalOrder([order('A', { hoursAgo: 1 }), fulfilled], TAG)?.id).toBe('F')
  })
})

describe('oldest', () => {
  test('by creation time, then by ID; a resource without a readable time sorts by its ID alone', () => {
    expect(oldest([{ id: '2', created_at: '2026-11-22T10:00:00Z' }, { id: '9', created_at: '2026-11-22T09:00:00Z' }])?.id).toBe('9')
    expect(oldest([{ id: '2', created_at: 'yesterday' }, { id: '1', created_at: '2026-11-22T09:00:00Z' }])?.id).toBe('1')
    expect(oldest([])).toBeUndefined()
  })
})
