/**
 * The at-most-once write workflow, driven with a fake client: what is looked for, when
 * something is bought, what becomes of the lease for every outcome, and whose lease it is.
 */
import { describe, expect, test } from 'vitest'
import { InProcessCoordinator } from '../../../src/coordination/in-process.ts'
import { LeaseBusyError } from '../../../src/coordination/coordinator.ts'
import { Leases } from '../../../src/coordination/leases.ts'
import { LEASE_OVER_DEADLINE_MS } from '../../../src/config.ts'
import type { Credentials } from '../../../src/openmetal/auth.ts'
import type { OrderAnswer, PrefixAnswer } from '../../../src/openmetal/answers.ts'
import type { TenantContext } from '../../../src/openmetal/client.ts'
import type { Listing } from '../../../src/openmetal/pagination.ts'
import {
  LabelledWrites, RECOVERY_GRACE_MS, findLabelled, sources, type CleanupEvent, type WriteClient
} from '../../../src/openmetal/labelled-writes.ts'
import { OpenMetalHttpError, OpenMetalIncompleteListError, OpenMetalTransportError, OpenMetalUnsettledWriteError } from '../../../src/openmetal/errors.ts'
import { orderRequestFor } from '../../../src/mapping/order.ts'

const API_KEY: Credentials = { kind: 'api-key', apiKey: 'key-of-org-a' }
const OAUTH: Credentials = { kind: 'oauth', clientId: 'client-of-org-a', secret: 'secret-of-org-a' }
const OTHER_ORG: Credentials = { kind: 'api-key', apiKey: 'key-of-org-b' }
const owner = { hubId: 'hub1', cycleServerId: 'srv1' }
const tag = 'cycle:hub1:srv1'
const orderRequest = orderRequestFor({ tag, hostname: 'node-1', hubName: undefined, sku: 'medium_v4', pod: 'pod_1', deploymentConfiguration: 'CFG1', sshPublicKey: 'ssh-ed25519 AAAA', sshKeyIds: [] })

function order (id: string, label: string, createdAt: string): OrderAnswer {
  return { id, label, is_active: true, created_at: createdAt, fields: { items: [{ location: 'pod_1', hardware_sku: 'medium_v4' }] } }
}

function block (id: string, label: string, createdAt: string): PrefixAnswer {
  return { id, label, created_at: createdAt, fields: { prefix_type: 'routed', pod_location: 'pod_1', cloud_id: 'CLD1', cidr: '198.51.100.0/28' } } as PrefixAnswer
}

type Step = 'ok' | 'lost' | 'refused' | 'lost-but-made' | 'unsent'

/** An OpenMetal of one list of orders, blocks and addresses per organisation, whose creates do what `next` says. */
function fakeOpenMetal () {
  const orders: OrderAnswer[] = []
  const blocks: PrefixAnswer[] = []
  const addresses: Array<{ ip: string, id: number, label: string }> = []
  const calls: string[] = []
  let next: Step = 'ok'
  let incomplete: string | undefined
  let serial = 0
  const organisationOf = (credentials: Credentials): string => credentials === OTHER_ORG ? 'org-b' : 'org-a'
  const outcome = <T>(operation: 'createOrder' | 'createPrefix' | 'createIpAddress', made: () => T): T => {
    calls.push(operation)
    const step = next
    next = 'ok'
    if (step === 'refused') throw new OpenMetalHttpError(operation, 400, undefined, undefined, 'refused')
    if (step === 'lost') throw new OpenMetalTransportError(operation, 'network')
    if (step === 'unsent') throw new OpenMetalTransportError(operation, 'deadline', new DOMException('the caller has gone', 'AbortError'), { sent: false })
    const result = made()
    if (step === 'lost-but-made') throw new OpenMetalTransportError(operation, 'network')
    return result
  }
  const listing = <T>(items: T[]): Listing<T> => ({ items: [...items], incomplete })
  const client: WriteClient = {
    organisation: async (context) => { calls.push('getAccountProfile'); return organisationOf(context.credentials) },
    listOrders: async () => { calls.push('listOrders'); return listing(orders) },
    listPrefixes: async () => { calls.push('listPrefixes'); return listing(blocks) },
    listConfigurations: async () => listing([]),
    addresses: async () => { calls.push('getPrefixAddresses'); return listing(addresses) },
    createOrder: async (request) => outcome('createOrder', () => {
      const made = order(`ORD${++serial}`, request.label, new Date(Date.UTC(2026, 0, 1, 0, 0, serial)).toISOString())
      orders.push(made)
      return made
    }),
    createPrefix: async (request) => outcome('createPrefix', () => {
      const made = block(`PFX${++serial}`, request.label, new Date(Date.UTC(2026, 0, 1, 0, 0, serial)).toISOString())
      blocks.push(made)
      return made
    }),
    createConfiguration: async () => { throw new Error('not used') },
    createIpAddress: async (_prefixId, request) => outcome('createIpAddress', () => {
      const made = { ip: `198.51.100.${++serial}`, id: serial, label: request.label }
      addresses.push(made)
      return { id: made.id, ip: made.ip }
    }),
    deleteIp: async (_prefixId, ipId) => {
      calls.push('deleteIpAddress')
      addresses.splice(addresses.findIndex((address) => address.id === ipId), 1)
      return 'deleted'
    },
    releaseBlock: async (released) => {
      calls.push('releaseBlock')
      blocks.splice(blocks.findIndex((candidate) => candidate.id === released.id), 1)
      return 'deleted'
    }
  }
  return {
    client,
    orders,
    blocks,
    addresses,
    calls,
    failNext (step: Step) { next = step },
    listIncomplete (reason: string | undefined) { incomplete = reason }
  }
}

function setUp (options: { cleanupDelaysMs?: number[], onCleanup?: (event: CleanupEvent) => void } = {}) {
  const openMetal = fakeOpenMetal()
  const coordinator = new InProcessCoordinator()
  const leases = new Leases(coordinator, { ttlMs: 60_000, waitMs: 0 })
  const writes = new LabelledWrites(openMetal.client, leases, { recoveryTimeoutMs: 500, ...options })
  /** whether the lease of this organisation's order need is free: taken (and given back) if so */
  const orderLeaseFree = async (organisation = 'org-a'): Promise<boolean> => {
    const acquired = await coordinator.tryAcquire(Leases.key('order', organisation, owner.hubId, owner.cycleServerId), 1000)
    if (!('held' in acquired)) return false
    await coordinator.release(acquired.held)
    return true
  }
  return { ...openMetal, coordinator, leases, writes, orderLeaseFree }
}

const as = (credentials: Credentials): TenantContext => ({ credentials })

describe('findLabelled', () => {
  test('what carries the label, from a fresh whole read that must be able to read it', async () => {
    const { client, orders } = fakeOpenMetal()
    orders.push(order('A', tag, '2026-01-01T00:00:00Z'), order('B', 'cycle:hub1:other', '2026-01-01T00:00:00Z'))
    const seen: Array<(item: unknown) => boolean> = []
    const source = sources.orders({ listOrders: async (_context, options) => { seen.push(options?.mustRead ?? (() => false)); return await client.listOrders(as(API_KEY)) } })
    expect((await findLabelled(source, tag, as(API_KEY))).map((found) => found.id)).toEqual(['A'])
    // the item the caller depends on must be readable; any other may be skipped
    expect(seen[0]?.({ label: tag })).toBe(true)
    expect(seen[0]?.({ label: 'cycle:hub1:other' })).toBe(false)
  })

  test('a list that may be incomplete refuses, since the missing part may hold the label', async () => {
    const { client, listIncomplete } = fakeOpenMetal()
    listIncomplete('a next page could not be followed')
    await expect(findLabelled(sources.orders(client), tag, as(API_KEY))).rejects.toBeInstanceOf(OpenMetalIncompleteListError)
  })
})

describe('buying an order', () => {
  test('bought once, read back, and the lease given back', async () => {
    const { writes, calls, orders, orderLeaseFree } = setUp()
    const bought = await writes.buyOrder(orderRequest, owner, as(API_KEY))
    expect(orders.map((found) => found.id)).toEqual([bought.id])
    expect(calls).toEqual(['getAccountProfile', 'listOrders', 'createOrder', 'listOrders'])
    expect(await orderLeaseFree()).toBe(true)
  })

  test('found once the lease is held: nothing bought, the lease given back', async () => {
    const { writes, calls, orders, orderLeaseFree } = setUp()
    orders.push(order('EXISTING', tag, '2026-01-01T00:00:00Z'))
    expect((await writes.buyOrder(orderRequest, owner, as(API_KEY))).id).toBe('EXISTING')
    expect(calls).not.toContain('createOrder')
    expect(await orderLeaseFree()).toBe(true)
  })

  test('OpenMetal holding two with the tag: the oldest stands', async () => {
    const { writes, orders } = setUp()
    orders.push(order('NEWER', tag, '2026-01-02T00:00:00Z'), order('OLDER', tag, '2026-01-01T00:00:00Z'))
    expect((await writes.findOrder(tag, as(API_KEY)))?.id).toBe('OLDER')
    expect((await writes.ordersTagged(tag, as(API_KEY))).map((found) => found.id).sort()).toEqual(['NEWER', 'OLDER'])
  })

  test('an answer lost, the order not found: possibly bought, so the lease is kept and a retry buys nothing', async () => {
    const { writes, failNext, orderLeaseFree, calls } = setUp()
    failNext('lost')
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toBeInstanceOf(OpenMetalUnsettledWriteError)
    expect(await orderLeaseFree()).toBe(false)
    const creates = calls.filter((call) => call === 'createOrder').length
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toBeInstanceOf(LeaseBusyError)
    expect(calls.filter((call) => call === 'createOrder').length).toBe(creates)
  })

  test('an answer lost, the order found by its tag: that is the answer, and the lease is given back', async () => {
    const { writes, failNext, orders, orderLeaseFree } = setUp()
    failNext('lost-but-made')
    const bought = await writes.buyOrder(orderRequest, owner, as(API_KEY))
    expect(orders.map((found) => found.id)).toEqual([bought.id])
    expect(await orderLeaseFree()).toBe(true)
  })

  test('refused by OpenMetal: nothing was made, so the lease is given back', async () => {
    const { writes, failNext, orderLeaseFree } = setUp()
    failNext('refused')
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toBeInstanceOf(OpenMetalHttpError)
    expect(await orderLeaseFree()).toBe(true)
  })

  test('a create cut off before it left (it waited for its turn): nothing was made, so nothing is looked for and the lease is given back', async () => {
    const { writes, failNext, orderLeaseFree, calls } = setUp()
    failNext('unsent')
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toMatchObject({ kind: 'deadline', sent: false })
    expect(calls.slice(calls.indexOf('createOrder'))).toEqual(['createOrder'])
    expect(await orderLeaseFree()).toBe(true)
  })

  test('the list failing before anything was sent gives the lease back', async () => {
    const { writes, listIncomplete, orderLeaseFree, calls } = setUp()
    listIncomplete('no total')
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toBeInstanceOf(OpenMetalIncompleteListError)
    expect(calls).not.toContain('createOrder')
    expect(await orderLeaseFree()).toBe(true)
  })

  test('a lease held elsewhere: busy, with when to come back, and nothing bought', async () => {
    const { writes, coordinator, calls } = setUp()
    await coordinator.tryAcquire(Leases.key('order', 'org-a', owner.hubId, owner.cycleServerId), 30_000)
    const failure = await writes.buyOrder(orderRequest, owner, as(API_KEY)).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(LeaseBusyError)
    expect((failure as LeaseBusyError).retryAfterSeconds).toBeLessThanOrEqual(30)
    expect(calls).toEqual(['getAccountProfile'])
  })

  test('the key is the organisation\'s: an OAuth client and an API key of one organisation share it, another organisation never reaches it', async () => {
    const { writes, coordinator, calls } = setUp()
    // org A's purchase in flight (its lease held)
    await coordinator.tryAcquire(Leases.key('order', 'org-a', owner.hubId, owner.cycleServerId), 30_000)
    await expect(writes.buyOrder(orderRequest, owner, as(OAUTH))).rejects.toBeInstanceOf(LeaseBusyError)
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toBeInstanceOf(LeaseBusyError)
    // the same hub and Cycle server IDs under other credentials: another key, neither blocked nor blocking
    await writes.buyOrder(orderRequest, owner, as(OTHER_ORG))
    expect(calls.filter((call) => call === 'createOrder')).toHaveLength(1)
    expect(Leases.key('order', 'org-a', 'hub1', 'srv1')).not.toBe(Leases.key('order', 'org-b', 'hub1', 'srv1'))
  })

  test('credentials OpenMetal refuses take no lease and buy nothing', async () => {
    const { client, coordinator } = setUp()
    const writes = new LabelledWrites({ ...client, organisation: async () => { throw new OpenMetalHttpError('getAccountProfile', 401, undefined, undefined) } }, new Leases(coordinator, { ttlMs: 60_000, waitMs: 0 }))
    await expect(writes.buyOrder(orderRequest, owner, as(API_KEY))).rejects.toMatchObject({ status: 401 })
    const acquired = await coordinator.tryAcquire(Leases.key('order', 'org-a', owner.hubId, owner.cycleServerId), 1000)
    expect('held' in acquired).toBe(true)
  })
})

describe('buying an IP block', () => {
  const request = { label: 'cycle:hub1:srv1:block:1', fields: { prefix_type: 'routed' as const, pod_location: 'pod_1' as const, cloud_id: 'CLD1' } }

  test('found by its label instead of bought twice', async () => {
    const { writes, blocks, calls } = setUp()
    const first = await writes.buyBlock(request, owner, as(API_KEY))
    const again = await writes.buyBlock(request, owner, as(API_KEY))
    expect(again.id).toBe(first.id)
    expect(blocks).toHaveLength(1)
    expect(calls.filter((call) => call === 'createPrefix')).toHaveLength(1)
  })

  test('another with the label appearing meanwhile: the oldest stands and the new one goes back at once', async () => {
    const { blocks, client } = setUp()
    const older = block('OLD', request.label, '2025-01-01T00:00:00Z')
    // the fresh look before buying sees nothing; the look after buying sees both
    let looks = 0
    const racing = new LabelledWrites({
      ...client,
      listPrefixes: async (context, options) => {
        if (looks++ === 1) blocks.push(older)
        return await client.listPrefixes(context, options)
      }
    }, new Leases(new InProcessCoordinator(), { ttlMs: 60_000, waitMs: 0 }))
    expect((await racing.buyBlock(request, owner, as(API_KEY))).id).toBe('OLD')
    expect(blocks.map((found) => found.id)).toEqual(['OLD'])
  })
})

describe('creating an address', () => {
  test('an answer lost and the address not found yet: the caller hears so, and the address is deleted once it turns up', async () => {
    const events: CleanupEvent[] = []
    const { writes, failNext, addresses, calls } = setUp({ cleanupDelaysMs: [20, 20], onCleanup: (event) => events.push(event) })
    failNext('lost')
    await expect(writes.createAddress('PFX', { label: 'cycle:hub1:srv1:ip:none:aa' }, as(API_KEY))).rejects.toBeInstanceOf(OpenMetalUnsettledWriteError)
    // it shows up later (OpenMetal had made it after all)
    addresses.push({ ip: '198.51.100.9', id: 99, label: 'cycle:hub1:srv1:ip:none:aa' })
    await expect.poll(() => events).toEqual([{ prefixId: 'PFX', outcome: 'deleted' }])
    expect(addresses).toEqual([])
    expect(calls).toContain('deleteIpAddress')
  })

  test('refused: OpenMetal\'s refusal, a known outcome, so nothing is looked for', async () => {
    const { writes, failNext, calls } = setUp()
    failNext('refused')
    expect(await writes.createAddress('PFX', { label: 'cycle:hub1:srv1:ip:none:bb' }, as(API_KEY))).toMatchObject({ refused: { status: 400 } })
    expect(calls.slice(calls.indexOf('createIpAddress'))).toEqual(['createIpAddress'])
  })
})

test('a lease outlasts the purchase it guards: the look past the deadline fits in the margin the configuration demands', () => {
  expect(RECOVERY_GRACE_MS).toBeLessThan(LEASE_OVER_DEADLINE_MS)
})
