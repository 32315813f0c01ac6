/**
 * IP block purchases with a fake OpenMetal: when a block is bought (and when nothing is), which
 * number and VLAN it gets, and which blocks and addresses are given back. What was asked of
 * OpenMetal is recorded, so a test can say what was not bought or deleted.
 */
import { describe, expect, test } from 'vitest'
import { IP_BLOCK_ADDON, IpBlockPurchases, type ServerPlace } from '../../../src/ial/ip-blocks.ts'
import type { IalCall } from '../../../src/ial/context.ts'
import type { OpenMetalClient } from '../../../src/openmetal/client.ts'
import type { LabelledWrites } from '../../../src/openmetal/labelled-writes.ts'
import type { PrefixAnswer, VlanAnswer } from '../../../src/openmetal/answers.ts'
import type { Listing } from '../../../src/openmetal/pagination.ts'
import { loadConfig } from '../../../src/config.ts'
import { decodeHubConfig, type HubConfig } from '../../../src/mapping/hub-config.ts'
import { cycleTag } from '../../../src/mapping/identifiers.ts'
import { AdapterError } from '../../../src/errors.ts'
import { OpenMetalHttpError, OpenMetalTransportError } from '../../../src/openmetal/errors.ts'

const HUB = '651586fca6078e98982dbd90'
const SERVER = '651586fca6078e98982dbd91'
const OTHER_SERVER = '651586fca6078e98982dbd92'
const OTHER_HUB = '651586fca6078e98982dbd93'
const PLACE: ServerPlace = { hubId: HUB, cycleServerId: SERVER, cloudId: 'CLD1', pod: 'pod_1' }

/** What IpBlockPurchases calls on the client and on the labelled writes, and nothing else. */
type BlockClient = Pick<OpenMetalClient, 'listVlans' | 'assignBlock' | 'addresses' | 'deleteIp' | 'releaseBlock'>
type BlockWrites = Pick<LabelledWrites, 'buyBlock'>

function hubConfig (settings: Record<string, unknown>): HubConfig {
  const decoded = decodeHubConfig(Buffer.from(JSON.stringify(settings)).toString('base64'))
  if (!decoded.ok) throw new Error(decoded.reason)
  return decoded.value
}

function call (config: HubConfig = {}): IalCall {
  return { credentials: { kind: 'api-key', apiKey: 'key-of-org-a' }, hubId: HUB, hubConfig: config }
}

const OPTED_IN = call(hubConfig({ ip_block_purchase: true }))

function block (id: string, label: string, fields: Partial<PrefixAnswer['fields']> = {}): PrefixAnswer {
  return { id, label, fields: { cloud_id: 'CLD1', pod_location: 'pod_1', prefix_type: 'routed', cidr: '203.0.113.16/28', ...fields } }
}

/** A block bought for this hub's server (another server's with `server`), on the Provider VLAN unless said otherwise. */
function bought (id: string, number: number, options: { server?: string, hub?: string, vlan?: string | undefined } = {}): PrefixAnswer {
  const vlan = 'vlan' in options ? options.vlan : 'VLAN-P'
  return block(id, cycleTag.forBlock(options.hub ?? HUB, options.server ?? SERVER, number), vlan === undefined ? {} : { central_vlan_id: vlan })
}

/** The cloud's own block, which came with it. */
const OWN_BLOCK = block('PFX-OWN', 'Cloud CLD1 public', { central_vlan_id: 'VLAN-P', cidr: '198.51.100.0/28' })

function vlan (id: string, label: string, fields: Partial<VlanAnswer['fields']> = {}): VlanAnswer {
  return { id, label, fields: { cloud_id: 'CLD1', pod_location: 'pod_1', vlan_type: 'routed', ...fields } }
}

const PROVIDER = vlan('VLAN-P', 'Provider')
const INVENTORY = vlan('VLAN-I', 'Inventory')

function whole<T> (items: T[]): Listing<T> {
  return { items, incomplete: undefined }
}

function ipLabel (server: string): string {
  return cycleTag.forIp(HUB, server, 'pool1', 'n1')
}

/**
 * An OpenMetal holding `vlans`, the addresses of each block (raw entries: one without a string
 * `ip` cannot be read, and the read fails when `mustRead` says it must be read, as the client's
 * does) and the blocks the labelled writes would find by label. `fail` makes a call throw.
 */
function fakeOpenMetal (world: {
  vlans?: VlanAnswer[]
  vlansIncomplete?: string
  addresses?: Record<string, unknown[]>
  blocks?: PrefixAnswer[]
  /** OpenMetal makes a block without putting it on the VLAN asked for */
  dropsVlan?: boolean
  fail?: Record<string, Error>
} = {}) {
  const asked: string[] = []
  const requests: Array<Parameters<LabelledWrites['buyBlock']>> = []
  const blocks = [...(world.blocks ?? [])]
  let serial = 0
  const record = (what: string): void => {
    asked.push(what)
    const failure = world.fail?.[what]
    if (failure !== undefined) throw failure
  }
  const client: BlockClient = {
    listVlans: async () => {
      record('listVlans')
      return { items: world.vlans ?? [PROVIDER, INVENTORY], incomplete: world.vlansIncomplete }
    },
    assignBlock: async (vlanId, prefixId) => { record(`assignBlock ${vlanId} ${prefixId}`) },
    addresses: async (prefixId, _context, options = {}) => {
      record(`addresses ${prefixId}`)
      const entries = world.addresses?.[prefixId]
      if (entries === undefined) return undefined
      const items = entries.filter((entry) => {
        if (typeof (entry as { ip?: unknown }).ip === 'string') return true
        if (options.mustRead?.(entry) === true) throw new OpenMetalTransportError('getPrefixAddresses', 'malformed')
        return false
      })
      return whole(items as Array<{ ip: string, id?: number, label?: string }>)
    },
    deleteIp: async (prefixId, ipId) => { record(`deleteIp ${prefixId} ${ipId}`); return 'deleted' },
    releaseBlock: async (released) => { record(`releaseBlock ${released.id}`); return 'deleted' }
  }
  const writes: BlockWrites = {
    buyBlock: async (...args) => {
      const [request] = args
      requests.push(args)
      // as the labelled writes do: a block with the label is found, not bought again
      const found = blocks.find((item) => item.label === request.label)
      if (found !== undefined) return found
      record('createPrefix')
      const { central_vlan_id: vlanId, ...fields } = request.fields
      const made = block(`PFX-NEW${++serial}`, request.label, world.dropsVlan === true ? fields : { ...fields, central_vlan_id: vlanId })
      blocks.push(made)
      return made
    }
  }
  return { client: client as OpenMetalClient, writes: writes as LabelledWrites, asked, requests }
}

function purchases (om: ReturnType<typeof fakeOpenMetal>, env: Record<string, string> = {}): IpBlockPurchases {
  return new IpBlockPurchases(om.client, om.writes, loadConfig(env))
}

async function refusal (pending: Promise<unknown>): Promise<AdapterError> {
  const error = await pending.then(() => undefined, (thrown: unknown) => thrown)
  expect(error).toBeInstanceOf(AdapterError)
  return error as AdapterError
}

describe('IpBlockPurchases.allowed', () => {
  test.each([
    ['off', 'nothing', false, {}],
    ['on', 'nothing', true, {}],
    ['off', 'true', true, { ip_block_purchase: true }],
    ['on', 'false', false, { ip_block_purchase: false }]
  ])('operator %s, hub says %s: allowed is %s', (operator, _hub, allowed, settings) => {
    const blocks = purchases(fakeOpenMetal(), { OPENMETAL_IP_BLOCK_PURCHASE: operator === 'on' ? 'true' : 'false' })
    expect(blocks.allowed(call(hubConfig(settings)))).toBe(allowed)
  })
})

describe('IpBlockPurchases.blockFor: when nothing is bought', () => {
  test('without the opt-in: 422 not-compatible, and OpenMetal is asked nothing', async () => {
    const om = fakeOpenMetal()
    const error = await refusal(purchases(om).blockFor(call(), PLACE, whole([OWN_BLOCK])))
    expect(error.code).toBe('422.not-compatible')
    expect(error.detail).toContain('OPENMETAL_IP_BLOCK_PURCHASE')
    expect(om.asked).toEqual([])
    expect(om.requests).toEqual([])
  })

  test('the hub turning it off overrides the operator turning it on', async () => {
    const om = fakeOpenMetal()
    const error = await refusal(purchases(om, { OPENMETAL_IP_BLOCK_PURCHASE: 'true' }).blockFor(call(hubConfig({ ip_block_purchase: false })), PLACE, whole([])))
    expect(error.code).toBe('422.not-compatible')
    expect(om.requests).toEqual([])
  })

  test('on a list of blocks that may be incomplete: 503, retry later', async () => {
    const om = fakeOpenMetal()
    const error = await refusal(purchases(om).blockFor(OPTED_IN, PLACE, { items: [], incomplete: 'page 2 could not be read' }))
    expect(error.status).toBe(503)
    expect(error.retryAfter).toBe(60)
    expect(om.requests).toEqual([])
  })

  test('at the cap: 422 naming the cap', async () => {
    const om = fakeOpenMetal()
    const error = await refusal(purchases(om, { OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '2' }).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK, bought('PFX1', 1), bought('PFX2', 2)])))
    expect(error.code).toBe('422.not-compatible')
    expect(error.detail).toContain('OPENMETAL_IP_BLOCKS_PER_SERVER_MAX=2')
    expect(om.requests).toEqual([])
  })

  test('a cap of 0 buys none', async () => {
    const om = fakeOpenMetal()
    const error = await refusal(purchases(om, { OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '0' }).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK])))
    expect(error.detail).toContain('OPENMETAL_IP_BLOCKS_PER_SERVER_MAX=0')
    expect(om.requests).toEqual([])
  })

  test.each([
    ['no Provider VLAN', [INVENTORY]],
    ['a Provider VLAN of another cloud only', [INVENTORY, vlan('VLAN-X', 'Provider', { cloud_id: 'CLD2' })]],
    ['a Provider VLAN of another pod only', [vlan('VLAN-X', 'Provider', { pod_location: 'pod_2' })]],
    ['an internal Provider VLAN only', [vlan('VLAN-X', 'Provider', { vlan_type: 'internal' })]],
    ['two Provider VLANs', [PROVIDER, vlan('VLAN-P2', 'provider 2')]]
  ])('%s: 422, nothing bought', async (_case, vlans) => {
    const om = fakeOpenMetal({ vlans })
    const error = await refusal(purchases(om).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK])))
    expect(error.code).toBe('422.not-compatible')
    expect(error.detail).toContain('Provider VLAN')
    expect(om.requests).toEqual([])
  })

  test('a list of VLANs that may be incomplete: 503, nothing bought', async () => {
    const om = fakeOpenMetal({ vlansIncomplete: 'no total' })
    const error = await refusal(purchases(om).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK])))
    expect(error.status).toBe(503)
    expect(om.requests).toEqual([])
  })
})

describe('IpBlockPurchases.blockFor: what is bought', () => {
  test('a routed /28 of the cloud and pod, labelled with number 1, on the cloud\'s Provider VLAN', async () => {
    const om = fakeOpenMetal({ vlans: [vlan('VLAN-X', 'Provider', { cloud_id: 'CLD2' }), INVENTORY, PROVIDER] })
    const result = await purchases(om).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK]))
    expect(om.requests).toHaveLength(1)
    const [request, owner] = om.requests[0] ?? []
    expect(request).toEqual({
      label: `cycle:${HUB}:${SERVER}:block:1`,
      description: `IP block for Cycle server ${SERVER}`,
      fields: { prefix_type: 'routed', product_addon: IP_BLOCK_ADDON, cloud_id: 'CLD1', pod_location: 'pod_1', central_vlan_id: 'VLAN-P' }
    })
    // bought under this server's lease
    expect(owner).toEqual(PLACE)
    expect(result.fields.central_vlan_id).toBe('VLAN-P')
    // OpenMetal put it on the VLAN itself: no second call
    expect(om.asked).toEqual(['listVlans', 'createPrefix'])
  })

  test('the lowest free number; other servers\' and hubs\' blocks take none', async () => {
    const om = fakeOpenMetal()
    await purchases(om, { OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '4' }).blockFor(OPTED_IN, PLACE, whole([
      OWN_BLOCK, bought('PFX1', 1), bought('PFX3', 3), bought('PFXO', 2, { server: OTHER_SERVER }), bought('PFXH', 2, { hub: OTHER_HUB })
    ]))
    expect(om.requests.map(([request]) => request.label)).toEqual([cycleTag.forBlock(HUB, SERVER, 2)])
  })

  test('other servers\' blocks do not count towards this server\'s cap', async () => {
    const om = fakeOpenMetal()
    await purchases(om, { OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '1' }).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK, bought('PFXO', 1, { server: OTHER_SERVER })]))
    expect(om.requests.map(([request]) => request.label)).toEqual([cycleTag.forBlock(HUB, SERVER, 1)])
  })

  test('a bought block not on a VLAN yet (a crash between buying and assigning) is assigned, even at the cap, and nothing is bought', async () => {
    const stranded = bought('PFX2', 2, { vlan: undefined })
    const om = fakeOpenMetal({ blocks: [stranded] })
    const result = await purchases(om, { OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: '2' }).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK, bought('PFX1', 1), stranded]))
    expect(om.requests.map(([request]) => request.label)).toEqual([stranded.label])
    expect(om.asked).toEqual(['listVlans', 'assignBlock VLAN-P PFX2'])
    expect(result.id).toBe('PFX2')
    expect(result.fields.central_vlan_id).toBe('VLAN-P')
  })

  test('a block OpenMetal made without a VLAN is put on the Provider VLAN', async () => {
    const om = fakeOpenMetal({ dropsVlan: true })
    const result = await purchases(om).blockFor(OPTED_IN, PLACE, whole([OWN_BLOCK]))
    expect(om.asked).toEqual(['listVlans', 'createPrefix', 'assignBlock VLAN-P PFX-NEW1'])
    expect(result).toMatchObject({ id: 'PFX-NEW1', fields: { central_vlan_id: 'VLAN-P', cidr: '203.0.113.16/28' } })
  })
})

describe('IpBlockPurchases.releaseIfEmpty', () => {
  test('gives back this server\'s bought block once no usable address is in use', async () => {
    // .16 network, .17 gateway, .18 and .19 switches, .31 broadcast: OpenMetal's, not in use by anyone
    const om = fakeOpenMetal({ addresses: { PFX1: ['203.0.113.16', '203.0.113.17', '203.0.113.18', '203.0.113.19', '203.0.113.31'].map((ip) => ({ ip })) } })
    expect(await purchases(om).releaseIfEmpty(call(), bought('PFX1', 1), HUB, SERVER)).toBe(true)
    expect(om.asked).toEqual(['addresses PFX1', 'releaseBlock PFX1'])
  })

  test('keeps a block with an address in use', async () => {
    const om = fakeOpenMetal({ addresses: { PFX1: [{ ip: '203.0.113.17' }, { ip: '203.0.113.25', id: 9, label: ipLabel(OTHER_SERVER) }] } })
    expect(await purchases(om).releaseIfEmpty(call(), bought('PFX1', 1), HUB, SERVER)).toBe(false)
    expect(om.asked).not.toContain('releaseBlock PFX1')
  })

  test('keeps a block whose address list has an entry it cannot read (it could be an address in use)', async () => {
    const om = fakeOpenMetal({ addresses: { PFX1: [{ ip: 17, label: 'odd' }] } })
    await expect(purchases(om).releaseIfEmpty(call(), bought('PFX1', 1), HUB, SERVER)).rejects.toThrow(OpenMetalTransportError)
    expect(om.asked).not.toContain('releaseBlock PFX1')
  })

  test.each([
    ['the cloud\'s own block', OWN_BLOCK],
    ['another server\'s bought block', bought('PFX1', 1, { server: OTHER_SERVER })],
    ['another hub\'s bought block', bought('PFX1', 1, { hub: OTHER_HUB })],
    ['a bought block without a CIDR', block('PFX1', cycleTag.forBlock(HUB, SERVER, 1), { cidr: undefined })]
  ])('never gives back %s, and asks nothing', async (_case, candidate) => {
    const om = fakeOpenMetal({ addresses: { [candidate.id]: [] } })
    expect(await purchases(om).releaseIfEmpty(call(), candidate, HUB, SERVER)).toBe(false)
    expect(om.asked).toEqual([])
  })

  test('a block OpenMetal no longer has is not given back again', async () => {
    const om = fakeOpenMetal()
    expect(await purchases(om).releaseIfEmpty(call(), bought('PFX1', 1), HUB, SERVER)).toBe(false)
    expect(om.asked).toEqual(['addresses PFX1'])
  })
})

describe('IpBlockPurchases.releaseAll', () => {
  test('deletes only this server\'s addresses, gives back each of its blocks and nothing else', async () => {
    const om = fakeOpenMetal({
      addresses: {
        PFX1: [{ ip: '203.0.113.20', id: 1, label: ipLabel(SERVER) }, { ip: '203.0.113.21', id: 2, label: ipLabel(OTHER_SERVER) }, { ip: '203.0.113.22', id: 3 }],
        PFX2: [{ ip: '203.0.113.24', id: 4, label: ipLabel(SERVER) }]
      }
    })
    const cloudBlocks = whole([OWN_BLOCK, bought('PFX1', 1), bought('PFX2', 2), bought('PFXO', 1, { server: OTHER_SERVER })])
    expect(await purchases(om).releaseAll(call(), cloudBlocks, HUB, SERVER)).toEqual([])
    expect(om.asked).toEqual([
      'addresses PFX1', 'deleteIp PFX1 1', 'releaseBlock PFX1',
      'addresses PFX2', 'deleteIp PFX2 4', 'releaseBlock PFX2'
    ])
  })

  test('an unreadable entry that may be this server\'s address stops the release; another\'s is passed over', async () => {
    const mine = fakeOpenMetal({ addresses: { PFX1: [{ ip: 20, id: 1, label: ipLabel(SERVER) }] } })
    await expect(purchases(mine).releaseAll(call(), whole([bought('PFX1', 1)]), HUB, SERVER)).rejects.toThrow(OpenMetalTransportError)
    expect(mine.asked).toEqual(['addresses PFX1'])

    const theirs = fakeOpenMetal({ addresses: { PFX1: [{ ip: 20, id: 1, label: ipLabel(OTHER_SERVER) }] } })
    expect(await purchases(theirs).releaseAll(call(), whole([bought('PFX1', 1)]), HUB, SERVER)).toEqual([])
    expect(theirs.asked).toEqual(['addresses PFX1', 'releaseBlock PFX1'])
  })

  test('a block OpenMetal refuses to give back is left behind with its reason, and the next is still given back', async () => {
    const om = fakeOpenMetal({
      addresses: { PFX1: [], PFX2: [] },
      fail: { 'releaseBlock PFX1': new OpenMetalHttpError('unassignPrefix', 409, undefined, undefined, 'the VLAN is a system VLAN') }
    })
    const left = await purchases(om).releaseAll(call(), whole([bought('PFX1', 1), bought('PFX2', 2)]), HUB, SERVER)
    expect(left).toEqual([{ prefixId: 'PFX1', reason: 'OpenMetal answered 409 to unassignPrefix: the VLAN is a system VLAN' }])
    expect(om.asked).toContain('releaseBlock PFX2')
  })

  test('an address OpenMetal refuses to delete leaves its block behind, not given back', async () => {
    const om = fakeOpenMetal({
      addresses: { PFX1: [{ ip: '203.0.113.20', id: 1, label: ipLabel(SERVER) }] },
      fail: { 'deleteIp PFX1 1': new OpenMetalHttpError('deleteIpAddress', 400, undefined, undefined) }
    })
    const left = await purchases(om).releaseAll(call(), whole([bought('PFX1', 1)]), HUB, SERVER)
    expect(left).toEqual([{ prefixId: 'PFX1', reason: 'OpenMetal answered 400 to deleteIpAddress' }])
    expect(om.asked).not.toContain('releaseBlock PFX1')
  })

  test.each([
    ['a 5xx', new OpenMetalHttpError('deletePrefix', 503, undefined, undefined)],
    ['a 429', new OpenMetalHttpError('deletePrefix', 429, 5, undefined)],
    ['a transport failure', new OpenMetalTransportError('deletePrefix', 'network')]
  ])('%s, which may pass, is thrown so that Cycle\'s retry gives the block back', async (_case, failure) => {
    const om = fakeOpenMetal({ addresses: { PFX1: [] }, fail: { 'releaseBlock PFX1': failure } })
    await expect(purchases(om).releaseAll(call(), whole([bought('PFX1', 1)]), HUB, SERVER)).rejects.toBe(failure)
  })
})
