/**
 * The server directory with a fake OpenMetal: which server_id tokens it accepts, whose orders
 * it hands out, and what it asks OpenMetal for (and when) to answer a status poll.
 */
import { describe, expect, test } from 'vitest'
import { OpenMetalHttpError } from '../../../src/openmetal/errors.ts'
import { ServerDirectory, cloudOfOrder, decodeServerId, type ServerQuery } from '../../../src/ial/servers.ts'
import type { IalCall } from '../../../src/ial/context.ts'
import type { OpenMetalClient } from '../../../src/openmetal/client.ts'
import type { CloudAnswer, CloudStatsAnswer, OrderAnswer } from '../../../src/openmetal/answers.ts'
import { cycleTag, serverIdCodec } from '../../../src/mapping/identifiers.ts'
import { AdapterError } from '../../../src/errors.ts'

const HUB = '651586fca6078e98982dbd90'
const SERVER = '651586fca6078e98982dbd91'
const OTHER_SERVER = '651586fca6078e98982dbd92'
const OTHER_HUB = '651586fca6078e98982dbd93'

type Operation = 'getOrder' | 'getCloud' | 'getCloudStats'
interface Asked { readonly operation: Operation, readonly id: string }

/** What ServerDirectory calls on the client, and nothing else. */
type DirectoryClient = Pick<OpenMetalClient, 'getOrder' | 'getCloud' | 'getCloudStats'>

function order (id: string, label: string, cloud?: { id: string, status: string }): OrderAnswer {
  return {
    id,
    label,
    is_active: true,
    fields: cloud === undefined ? {} : { clouds_deployed: [{ id: cloud.id, provision_status: cloud.status }] }
  }
}

function cloud (id: string, orderId: string, status = 'complete'): CloudAnswer {
  return { id, fields: { order_id: orderId, provision_status: status } }
}

function stats (...nodes: string[]): CloudStatsAnswer {
  return { cloud_state: 'RUNNING', nodes: nodes.map((uuid) => ({ uuid })) }
}

/**
 * An OpenMetal of the given orders, clouds and stats (tests may change them between calls)
 * that records every call as it starts and as it answers; `hold` keeps every answer back until
 * `release`, to see what was started together.
 */
function fakeOpenMetal (world: { orders?: OrderAnswer[], clouds?: CloudAnswer[], stats?: Record<string, CloudStatsAnswer> }) {
  const orders = new Map((world.orders ?? []).map((item) => [item.id, item]))
  const clouds = new Map((world.clouds ?? []).map((item) => [item.id ?? '', item]))
  const cloudStats = new Map(Object.entries(world.stats ?? {}))
  const started: Asked[] = []
  const answered: Asked[] = []
  let gate: Promise<void> = Promise.resolve()
  let open = (): void => {}
  const answer = async <T>(asked: Asked, value: () => T): Promise<T> => {
    started.push(asked)
    await gate
    answered.push(asked)
    return value()
  }
  const client: DirectoryClient = {
    getOrder: (id) => answer({ operation: 'getOrder', id }, () => orders.get(id)),
    getCloud: (id) => answer({ operation: 'getCloud', id }, () => clouds.get(id)),
    getCloudStats: (id) => answer({ operation: 'getCloudStats', id }, () => cloudStats.get(id))
  }
  return {
    client: client as OpenMetalClient,
    orders,
    clouds,
    started,
    answered,
    /** forgets what was asked so far */
    reset (): void { started.length = 0; answered.length = 0 },
    hold (): void { gate = new Promise((resolve) => { open = resolve }) },
    release (): void { open() }
  }
}

function call (hubId: string | undefined): IalCall {
  return { credentials: { kind: 'api-key', apiKey: 'key-of-org-a' }, hubId, hubConfig: {} }
}

const TAG = cycleTag.forServer(HUB, SERVER)
const TOKEN = serverIdCodec.encode({ orderId: 'ORD1', pod: 'pod_1' })
const TOKEN_WITH_CLOUD = serverIdCodec.encode({ orderId: 'ORD1', pod: 'pod_1', cloudId: 'CLD1' })

function query (overrides: Partial<ServerQuery> = {}): ServerQuery {
  return { serverId: TOKEN, cycleServerId: SERVER, ...overrides }
}

/** Settles every answer already given, and then some: a call that was going to start has. */
async function settle (): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve))
}

function caught (run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  return undefined
}

async function refusal (pending: Promise<unknown>): Promise<AdapterError> {
  const error = await pending.then(() => undefined, (thrown: unknown) => thrown)
  expect(error).toBeInstanceOf(AdapterError)
  return error as AdapterError
}

/** One complete server: order ORD1 of this hub's server, its cloud CLD1 on one node. */
function completeServer () {
  return fakeOpenMetal({
    orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' })],
    clouds: [cloud('CLD1', 'ORD1')],
    stats: { CLD1: stats('node-1') }
  })
}

describe('decodeServerId', () => {
  test('reads back the order, pod and cloud of a token it issued', () => {
    expect(decodeServerId(TOKEN_WITH_CLOUD)).toEqual({ orderId: 'ORD1', pod: 'pod_1', cloudId: 'CLD1' })
    expect(decodeServerId(TOKEN)).toEqual({ orderId: 'ORD1', pod: 'pod_1' })
  })

  test.each([
    ['another adapter\'s version', 'om2.ORD1.pod_1'],
    ['a bare OpenMetal order ID', 'ORD1'],
    ['no pod', 'om1.ORD1'],
    ['a pod that is not one', 'om1.ORD1.dc_1'],
    ['a path in the order ID', 'om1.ORD%2F..%2F1.pod_1'],
    ['a part too many', 'om1.ORD1.pod_1.CLD1.x'],
    ['nothing', '']
  ])('refuses %s with 422 invalid-argument', (_case, token) => {
    const error = caught(() => decodeServerId(token))
    expect(error).toBeInstanceOf(AdapterError)
    expect(error).toMatchObject({ status: 422, code: '422.invalid-argument', source: '/request/server_id' })
  })

  test('a malformed token asks OpenMetal nothing', async () => {
    const om = completeServer()
    const error = await refusal(new ServerDirectory(om.client).owned(call(HUB), query({ serverId: 'om1.ORD1' })))
    expect(error.code).toBe('422.invalid-argument')
    expect(om.started).toEqual([])
  })
})

describe('ServerDirectory.owned: whose order it is', () => {
  test('hands out the order tagged with the calling hub and Cycle server, with its cloud ID', async () => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status: 'in_progress' })] })
    const server = await new ServerDirectory(om.client).owned(call(HUB), query())
    expect(server.ref).toEqual({ orderId: 'ORD1', pod: 'pod_1' })
    expect(server.order.id).toBe('ORD1')
    expect(server.cloudId).toBe('CLD1')
  })

  test.each([
    ['another hub', cycleTag.forServer(OTHER_HUB, SERVER)],
    ['another Cycle server of this hub', cycleTag.forServer(HUB, OTHER_SERVER)],
    ['nobody (an order not made for Cycle)', 'my web server']
  ])('an order of %s is 404 serverNotFound, for owned and ownedOrGone alike', async (_case, label) => {
    const om = fakeOpenMetal({ orders: [order('ORD1', label, { id: 'CLD1', status: 'complete' })], clouds: [cloud('CLD1', 'ORD1')] })
    const directory = new ServerDirectory(om.client)
    const owned = await refusal(directory.owned(call(HUB), query({ withCloud: true })))
    expect(owned.code).toBe('404.infrastructure.server')
    expect(owned.status).toBe(404)
    expect((await refusal(directory.ownedOrGone(call(HUB), query()))).code).toBe('404.infrastructure.server')
    // nothing of someone else's cloud is read out
    expect(om.started.filter(({ operation }) => operation !== 'getOrder')).toEqual([])
  })

  test.each([undefined, ''])('a call without a hub (%j) owns nothing, not even an order of its Cycle server', async (hubId) => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG)] })
    const error = await refusal(new ServerDirectory(om.client).owned(call(hubId), query()))
    expect(error.code).toBe('404.infrastructure.server')
  })

  test('an order OpenMetal no longer has: 404 for owned, undefined (already gone) for ownedOrGone', async () => {
    const om = fakeOpenMetal({})
    const directory = new ServerDirectory(om.client)
    const error = await refusal(directory.owned(call(HUB), query()))
    expect(error.code).toBe('404.infrastructure.server')
    expect(await directory.ownedOrGone(call(HUB), query())).toBeUndefined()
  })
})

describe('ServerDirectory.owned withCloud: what a status poll costs', () => {
  test.each(['pending', 'in_progress', 'awaiting_setup', 'manual_setup'])('while the order says the cloud is %s, only the order is asked', async (status) => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status })], clouds: [cloud('CLD1', 'ORD1', status)], stats: { CLD1: stats('node-1') } })
    const server = await new ServerDirectory(om.client).owned(call(HUB), query({ withCloud: true }))
    expect(om.started).toEqual([{ operation: 'getOrder', id: 'ORD1' }])
    expect(server.cloudId).toBe('CLD1')
    expect(server.cloud).toBeUndefined()
  })

  test('an order without a cloud yet asks the order only', async () => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG)] })
    const server = await new ServerDirectory(om.client).owned(call(HUB), query({ withCloud: true }))
    expect(om.started).toEqual([{ operation: 'getOrder', id: 'ORD1' }])
    expect(server.cloudId).toBeUndefined()
  })

  test('once complete, the cloud and its stats are fetched and the one node is remembered', async () => {
    const om = completeServer()
    const directory = new ServerDirectory(om.client)
    const server = await directory.owned(call(HUB), query({ withCloud: true }))
    expect(om.started).toEqual([
      { operation: 'getOrder', id: 'ORD1' },
      { operation: 'getCloud', id: 'CLD1' },
      { operation: 'getCloudStats', id: 'CLD1' }
    ])
    expect(server.cloud).toEqual(cloud('CLD1', 'ORD1'))
    expect(server.stats).toEqual(stats('node-1'))
    expect(directory.knownNode('CLD1')).toBe('node-1')
  })

  test.each([
    ['no node', stats()],
    ['two nodes', stats('node-1', 'node-2')],
    ['no node list', { cloud_state: 'RUNNING' }]
  ])('stats showing %s name no node', async (_case, cloudStats) => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' })], clouds: [cloud('CLD1', 'ORD1')], stats: { CLD1: cloudStats } })
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    expect(directory.knownNode('CLD1')).toBeUndefined()
  })

  test('a complete cloud OpenMetal no longer has is answered as null (gone), not as "not asked"', async () => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' })] })
    const server = await new ServerDirectory(om.client).owned(call(HUB), query({ withCloud: true }))
    expect(server.cloud).toBeNull()
  })

  test('without withCloud only the order is asked, even for a cloud seen complete', async () => {
    const om = completeServer()
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    om.reset()
    await directory.owned(call(HUB), query({ serverId: TOKEN_WITH_CLOUD }))
    expect(om.started).toEqual([{ operation: 'getOrder', id: 'ORD1' }])
  })

  test.each([
    ['the token', query({ serverId: TOKEN_WITH_CLOUD })],
    ['extra.cloud_id', query({ extra: { cloud_id: 'CLD1' } })],
    ['this replica\'s cache', query()]
  ])('after a complete cloud was seen, a hint from %s gets order, cloud and stats in one round trip', async (_case, next) => {
    const om = completeServer()
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    om.reset()
    om.hold()
    const pending = directory.owned(call(HUB), { ...next, withCloud: true })
    await settle()
    expect(om.started).toEqual([
      { operation: 'getOrder', id: 'ORD1' },
      { operation: 'getCloud', id: 'CLD1' },
      { operation: 'getCloudStats', id: 'CLD1' }
    ])
    expect(om.answered).toEqual([])
    om.release()
    const server = await pending
    expect(server.cloud).toEqual(cloud('CLD1', 'ORD1'))
    expect(server.stats).toEqual(stats('node-1'))
    // and nothing asked twice
    expect(om.started).toHaveLength(3)
  })

  test('a cloud whose own record was not complete yet is not fetched early next time', async () => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' })], clouds: [cloud('CLD1', 'ORD1', 'in_progress')], stats: { CLD1: stats('node-1') } })
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    om.reset()
    om.hold()
    const pending = directory.owned(call(HUB), query({ serverId: TOKEN_WITH_CLOUD, withCloud: true }))
    await settle()
    expect(om.started).toEqual([{ operation: 'getOrder', id: 'ORD1' }])
    om.release()
    await pending
  })

  test.each([
    ['that says so', cloud('CLD2', 'ORD2')],
    ['that does not say whose it is', { id: 'CLD2', fields: { provision_status: 'complete' } }]
  ])('a hint naming another order\'s complete cloud, %s, is not trusted: the order\'s own cloud is fetched and answered', async (_case, otherCloud) => {
    const om = fakeOpenMetal({
      orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' }), order('ORD2', cycleTag.forServer(HUB, OTHER_SERVER), { id: 'CLD2', status: 'complete' })],
      clouds: [cloud('CLD1', 'ORD1'), otherCloud],
      stats: { CLD1: stats('node-1'), CLD2: stats('node-2') }
    })
    const directory = new ServerDirectory(om.client)
    // CLD2 is seen complete through its own server
    await directory.owned(call(HUB), { serverId: serverIdCodec.encode({ orderId: 'ORD2', pod: 'pod_1' }), cycleServerId: OTHER_SERVER, withCloud: true })
    om.reset()
    const server = await directory.owned(call(HUB), query({ extra: { cloud_id: 'CLD2' }, withCloud: true }))
    expect(server.cloudId).toBe('CLD1')
    expect(server.cloud).toEqual(cloud('CLD1', 'ORD1'))
    expect(server.stats).toEqual(stats('node-1'))
    expect(om.started).toContainEqual({ operation: 'getCloud', id: 'CLD1' })
    expect(directory.knownNode('CLD1')).toBe('node-1')
  })

  test('a cloud that names another order is not taken from the early read, nor handed out when asked again: 503, until OpenMetal\'s records agree', async () => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' })], clouds: [cloud('CLD1', 'ORD1')], stats: { CLD1: stats('node-1') } })
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    // the order still names CLD1, but OpenMetal's cloud now says it belongs to ORD9
    om.clouds.set('CLD1', cloud('CLD1', 'ORD9'))
    om.reset()
    const refused = await directory.owned(call(HUB), query({ withCloud: true })).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(AdapterError)
    expect(refused).toMatchObject({ code: '503.not-ready', retryAfter: 60 })
    expect((refused as AdapterError).detail).toMatch(/order ORD1 names cloud CLD1, but the cloud's own record says it belongs to order ORD9/)
    expect(om.started.filter(({ operation }) => operation === 'getCloudStats')).toHaveLength(2)
    // once the records agree again, the server is handed out
    om.clouds.set('CLD1', cloud('CLD1', 'ORD1'))
    expect((await directory.owned(call(HUB), query({ withCloud: true }))).cloud?.id).toBe('CLD1')
  })

  test('cloudOfOrder: a cloud naming no order, or this one, is the order\'s; one naming another is refused', () => {
    const mine = order('ORD1', TAG, { id: 'CLD1', status: 'complete' })
    expect(cloudOfOrder(mine, cloud('CLD1', 'ORD1'))).toEqual(cloud('CLD1', 'ORD1'))
    expect(cloudOfOrder(mine, { id: 'CLD1' })).toEqual({ id: 'CLD1' })
    expect(cloudOfOrder(mine, undefined)).toBeUndefined()
    expect(() => cloudOfOrder(mine, cloud('CLD1', 'ORD2'))).toThrow(AdapterError)
  })

  test('a hint naming a cloud that cannot be read (another tenant\'s: 403) fails nothing: the order\'s own cloud is read', async () => {
    const otherTag = cycleTag.forServer(OTHER_HUB, OTHER_SERVER)
    const om = fakeOpenMetal({
      orders: [order('ORD1', TAG, { id: 'CLD1', status: 'complete' }), order('ORD2', otherTag, { id: 'CLD2', status: 'complete' })],
      clouds: [cloud('CLD1', 'ORD1'), cloud('CLD2', 'ORD2')],
      stats: { CLD1: stats('node-1'), CLD2: stats('node-2') }
    })
    const directory = new ServerDirectory(om.client)
    // CLD2 seen complete on this replica, for the hub that owns it
    await directory.owned(call(OTHER_HUB), query({ serverId: serverIdCodec.encode({ orderId: 'ORD2', pod: 'pod_1' }), cycleServerId: OTHER_SERVER, withCloud: true }))
    const read = om.client.getCloud.bind(om.client)
    om.client.getCloud = async (id, context) => id === 'CLD2' ? await Promise.reject(new OpenMetalHttpError('getCloud', 403, undefined, undefined)) : await read(id, context)
    om.reset()
    const found = await directory.owned(call(HUB), query({ extra: { cloud_id: 'CLD2' }, withCloud: true }))
    // the guess was made (and refused)
    expect(om.started).toContainEqual({ operation: 'getCloudStats', id: 'CLD2' })
    expect(found.cloudId).toBe('CLD1')
    expect(found.cloud?.id).toBe('CLD1')
  })

  test('a cloud read early for an order of another hub is not handed out', async () => {
    const om = completeServer()
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    const error = await refusal(directory.owned(call(OTHER_HUB), query({ serverId: TOKEN_WITH_CLOUD, withCloud: true })))
    expect(error.code).toBe('404.infrastructure.server')
  })

  test('an order gone since its cloud was seen complete is undefined for ownedOrGone, 404 for owned', async () => {
    const om = completeServer()
    const directory = new ServerDirectory(om.client)
    await directory.owned(call(HUB), query({ withCloud: true }))
    om.orders.delete('ORD1')
    expect(await directory.ownedOrGone(call(HUB), query({ serverId: TOKEN_WITH_CLOUD, withCloud: true }))).toBeUndefined()
    expect((await refusal(directory.owned(call(HUB), query({ serverId: TOKEN_WITH_CLOUD, withCloud: true })))).code).toBe('404.infrastructure.server')
  })
})

describe('ServerDirectory.cloudHint', () => {
  test('prefers the token\'s cloud, then extra.cloud_id, then what this replica learnt', async () => {
    const om = fakeOpenMetal({ orders: [order('ORD1', TAG, { id: 'CLD1', status: 'pending' })] })
    const directory = new ServerDirectory(om.client)
    expect(directory.cloudHint(query())).toBeUndefined()
    await directory.owned(call(HUB), query())
    expect(directory.cloudHint(query())).toBe('CLD1')
    expect(directory.cloudHint(query({ extra: { cloud_id: 'CLDX' } }))).toBe('CLDX')
    expect(directory.cloudHint(query({ serverId: TOKEN_WITH_CLOUD.replace('CLD1', 'CLDT'), extra: { cloud_id: 'CLDX' } }))).toBe('CLDT')
    // the hint asks OpenMetal nothing
    expect(om.started).toHaveLength(1)
  })

  test.each([
    ['a path', '../orders/ORD2'],
    ['empty', ''],
    ['too long', 'C'.repeat(65)],
    ['not text', 42],
    ['null', null]
  ])('extra.cloud_id that is not an ID (%s) is no hint', (_case, cloudId) => {
    const directory = new ServerDirectory(fakeOpenMetal({}).client)
    expect(directory.cloudHint(query({ extra: { cloud_id: cloudId } }))).toBeUndefined()
  })

  test('a malformed token is refused, not hinted', () => {
    const directory = new ServerDirectory(fakeOpenMetal({}).client)
    expect(() => directory.cloudHint(query({ serverId: 'om1.ORD1', extra: { cloud_id: 'CLD1' } }))).toThrow(AdapterError)
  })
})
