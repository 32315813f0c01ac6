import { describe, expect, test } from 'vitest'
import { unhonourableOption } from '../../../src/mapping/provision-options.ts'

describe('provision options an OpenMetal order cannot honour', () => {
  test.each([
    ['a reservation', { reservation_id: 'res-1' }, 'reservation_id'],
    ['storage encryption', { encrypt_storage: true }, 'encrypt_storage'],
    ['more attached storage than the model\'s disks', { attached_storage_size: 4001 }, 'attached_storage_size'],
    ['the same, as a numeric string', { attached_storage_size: '4001' }, 'attached_storage_size'],
    ['an attached storage size that is no number', { attached_storage_size: 'lots' }, 'attached_storage_size'],
    ['a negative one', { attached_storage_size: -1 }, 'attached_storage_size']
  ])('%s is refused by name', (_name, options, option) => {
    expect(unhonourableOption(options, 4000)?.option).toBe(option)
  })

  test.each([
    ['none', null],
    ['empty', {}],
    ['what Cycle sends by default', { reservation_id: null, encrypt_storage: false, attached_storage_size: 0 }],
    ['storage within the model\'s disks', { attached_storage_size: 4000 }],
    ['an empty reservation', { reservation_id: '' }],
    ['an option this adapter does not know (Go ignores unknown fields; so does the adapter)', { something_new: true }]
  ])('%s is accepted', (_name, options) => {
    expect(unhonourableOption(options, 4000)).toBeUndefined()
  })
})
