/** Unit tests of src/openmetal/shared-lookup.ts. */
import { describe, expect, test, afterAll, beforeAll, beforeEach } from 'vitest'
import { SharedLookup } from '../../../src/openmetal/shared-lookup.ts'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TokenCache, type Credentials } from '../../../src/openmetal/auth.ts'
import { OpenMetalTransportError } from '../../../src/openmetal/errors.ts'
import type { OpenMetalClient } from '../../../src/openmetal/client.ts'
import { createClient } from '../../../src/openmetal/create-client.ts'
import { loadConfig } from '../../../src/config.ts'
import { toAdapterError } from '../../../src/errors.ts'

/** Single-flight lookups with an optional TTL, on a fake clock. */
describe('src/openmetal/shared-lookup.ts', () => {
  /** A load the test settles by hand, counting how often it ran. */
  function manualLoads<V> () {
    const settle: Array<{ resolve (value: V): void, reject (error: Error): void }> = []
    return {
      settle,
      get calls () { return settle.length },
      load: () => new Promise<V>((resolve, reject) => { settle.push({ resolve, reject }) })
    }
  }

  function clock () {
    let now = 1_000
    return { now: () => now, advance (ms: number) { now += ms } }
  }

  describe('SharedLookup.get', () => {
    test('concurrent identical gets share one load and all see its value', async () => {
      const shared = new SharedLookup<string>()
      const loads = manualLoads<string>()
      const answers = Array.from({ length: 20 }, () => shared.get('listClouds:tenant-a', 0, loads.load))
      expect(loads.calls).toBe(1)
      loads.settle[0]?.resolve('clouds')
      expect(await Promise.all(answers)).toEqual(Array.from({ length: 20 }, () => 'clouds'))
    })

    test('different keys load separately', async () => {
      const shared = new SharedLookup<string>()
      const loads = manualLoads<string>()
      const a = shared.get('tenant-a', 0, loads.load)
      const b = shared.get('tenant-b', 0, loads.load)
      expect(loads.calls).toBe(2)
      loads.settle[0]?.resolve('A')
      loads.settle[1]?.resolve('B')
      expect([await a, await b]).toEqual(['A', 'B'])
    })

    test('with ttl 0 nothing is kept once the load settles', async () => {
      const shared = new SharedLookup<number>()
      let calls = 0
      const load = async () => ++calls
      expect(await shared.get('k', 0, load)).toBe(1)
      expect(await shared.get('k', 0, load)).toBe(2)
      expect(shared.peek('k')).toBeUndefined()
    })

    test('with ttl > 0 the value is reused until it expires', async () => {
      const time = clock()
      const shared = new SharedLookup<number>({ now: time.now })
      let calls = 0
      const load = async () => ++calls
      expect(await shared.get('catalog', 60_000, load)).toBe(1)
      time.advance(59_999)
      expect(await shared.get('catalog', 60_000, load)).toBe(1)
      expect(shared.peek('catalog')).toBe(1)
      time.advance(1)
      expect(shared.peek('catalog')).toBeUndefined()
      expect(await shared.get('catalog', 60_000, load)).toBe(2)
      expect(calls).toBe(2)
    })

    test('failures are not cached: every waiter sees the failure, the next get loads again', async () => {
      const time = clock()
      const shared = new SharedLookup<string>({ now: time.now })
      const loads = manualLoads<string>()
      const waiters = [shared.get('k', 60_000, loads.load), shared.get('k', 60_000, loads.load)]
      loads.settle[0]?.reject(new Error('503'))
      for (const waiter of waiters) await expect(waiter).rejects.toThrow('503')
      expect(shared.peek('k')).toBeUndefined()
      const retry = shared.get('k', 60_000, loads.load)
      expect(loads.calls).toBe(2)
      loads.settle[1]?.resolve('ok')
      expect(await retry).toBe('ok')
      expect(shared.peek('k')).toBe('ok')
    })

    test('a load that throws synchronously inside an async function is a rejected get, not a crash', async () => {
      const shared = new SharedLookup<string>()
      await expect(shared.get('k', 1000, async () => { throw new Error('boom') })).rejects.toThrow('boom')
      expect(await shared.get('k', 1000, async () => 'fine')).toBe('fine')
    })
  })

  describe('SharedLookup.remember and peek', () => {
    test('a remembered value is served by get without loading, until its TTL ends', async () => {
      const time = clock()
      const shared = new SharedLookup<string>({ now: time.now })
      shared.remember('order:ORD1:cloud', 'CLD9', 10_000)
      expect(shared.peek('order:ORD1:cloud')).toBe('CLD9')
      let calls = 0
      expect(await shared.get('order:ORD1:cloud', 10_000, async () => { calls++; return 'other' })).toBe('CLD9')
      expect(calls).toBe(0)
      time.advance(10_000)
      expect(shared.peek('order:ORD1:cloud')).toBeUndefined()
      expect(await shared.get('order:ORD1:cloud', 10_000, async () => { calls++; return 'reloaded' })).toBe('reloaded')
      expect(calls).toBe(1)
    })

    test('remember replaces an older value', () => {
      const shared = new SharedLookup<string>()
      shared.remember('k', 'old', 60_000)
      shared.remember('k', 'new', 60_000)
      expect(shared.peek('k')).toBe('new')
    })

    test('peek of an unknown key is undefined', () => {
      expect(new SharedLookup<string>().peek('nothing')).toBeUndefined()
    })

    test('clear forgets everything', () => {
      const shared = new SharedLookup<string>()
      shared.remember('a', '1', 60_000)
      shared.clear()
      expect(shared.peek('a')).toBeUndefined()
    })

    test('maxEntries bounds what is kept, dropping the oldest first', () => {
      const shared = new SharedLookup<number>({ maxEntries: 3 })
      for (let i = 0; i < 5; i++) shared.remember(`k${i}`, i, 60_000)
      expect([0, 1, 2, 3, 4].map((i) => shared.peek(`k${i}`))).toEqual([undefined, undefined, 2, 3, 4])
    })
  })
})

describe('shared calls stop when every caller has left', () => {
  /** A load the test settles by hand (or that fails when its signal aborts, as the transport does), keeping the signal each run was given. */
  function manualLoads () {
    const signals: AbortSignal[] = []
    const settle: Array<(value: string) => void> = []
    return {
      signals,
      settle,
      load: async (signal: AbortSignal): Promise<string> => {
        signals.push(signal)
        return await new Promise<string>((resolve, reject) => {
          settle.push(resolve)
          signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
        })
      }
    }
  }

  test('one caller leaving does not stop the call for the others; the last one leaving does, with its reason', async () => {
    const shared = new SharedLookup<string>()
    const { signals, load } = manualLoads()
    const first = new AbortController()
    const second = new AbortController()
    void shared.get('k', 0, load, first.signal).catch(() => {})
    const waiting = shared.get('k', 0, load, second.signal)
    expect(signals).toHaveLength(1)
    first.abort(new Error('first deadline'))
    expect(signals[0]?.aborted).toBe(false)
    const reason = new Error('second deadline')
    second.abort(reason)
    expect(signals[0]?.aborted).toBe(true)
    expect(signals[0]?.reason).toBe(reason)
    await expect(waiting).rejects.toBe(reason)
  })

  test('a caller that stays gets the value although the one that started the call left', async () => {
    const shared = new SharedLookup<string>()
    const { signals, settle, load } = manualLoads()
    const starter = new AbortController()
    void shared.get('k', 60_000, load, starter.signal).catch(() => {})
    const stays = shared.get('k', 60_000, load, new AbortController().signal)
    starter.abort()
    settle[0]?.('value')
    expect(await stays).toBe('value')
    expect(signals[0]?.aborted).toBe(false)
    expect(shared.peek('k')).toBe('value')
  })

  test('after every caller left, the next caller starts a call of its own instead of joining the stopped one', async () => {
    const shared = new SharedLookup<string>()
    const { signals, settle, load } = manualLoads()
    const gone = new AbortController()
    const abandoned = shared.get('k', 60_000, load, gone.signal)
    gone.abort()
    await expect(abandoned).rejects.toBeDefined()
    const fresh = shared.get('k', 60_000, load, new AbortController().signal)
    expect(signals).toHaveLength(2)
    expect(signals[1]?.aborted).toBe(false)
    // the stopped call answering late caches nothing
    settle[0]?.('late')
    settle[1]?.('fresh')
    expect(await fresh).toBe('fresh')
    expect(shared.peek('k')).toBe('fresh')
  })

  test('a caller without a signal keeps the call going; a caller already gone starts nothing', async () => {
    const shared = new SharedLookup<string>()
    const { signals, settle, load } = manualLoads()
    const leaving = new AbortController()
    void shared.get('k', 0, load, leaving.signal).catch(() => {})
    const patient = shared.get('k', 0, load)
    leaving.abort()
    expect(signals[0]?.aborted).toBe(false)
    settle[0]?.('done')
    expect(await patient).toBe('done')
    await expect(shared.get('other', 0, load, AbortSignal.abort(new Error('late')))).rejects.toThrow('late')
    expect(signals).toHaveLength(1)
  })

  test('a token exchange stops when every request waiting for it has left, and the next request exchanges anew', async () => {
    const signals: AbortSignal[] = []
    const cache = new TokenCache({
      exchange: async (_credentials, _trace, signal) => {
        if (signal !== undefined) signals.push(signal)
        return await new Promise(() => {})
      }
    })
    const credentials: Credentials = { kind: 'oauth', clientId: 'client', secret: 'secret-value' }
    const deadlines = [new AbortController(), new AbortController()]
    const waiting = deadlines.map(async (deadline) => await cache.authorization(credentials, undefined, deadline.signal).catch((error: unknown) => error))
    expect(signals).toHaveLength(1)
    deadlines[0]?.abort()
    expect(signals[0]?.aborted).toBe(false)
    deadlines[1]?.abort()
    expect(signals[0]?.aborted).toBe(true)
    for (const outcome of await Promise.all(waiting)) expect(outcome).toMatchObject({ kind: 'deadline', operation: 'exchangeToken' })
    void cache.authorization(credentials, undefined, new AbortController().signal).catch(() => {})
    expect(signals).toHaveLength(2)
  })

  describe('through the client, against a real server', () => {
    interface Hit { readonly url: string, readonly at: number, closedEarly: boolean }
    let server: Server
    let baseUrl: string
    let hits: Hit[]
    let handler: (request: IncomingMessage, response: ServerResponse) => void

    beforeAll(async () => {
      server = createServer((request, response) => {
        const hit: Hit = { url: request.url ?? '', at: Date.now(), closedEarly: false }
        hits.push(hit)
        response.once('close', () => { hit.closedEarly = !response.writableFinished })
        handler(request, response)
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })

    beforeEach(() => { hits = [] })

    afterAll(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })

    function client (env: Record<string, string> = {}): OpenMetalClient {
      return createClient(loadConfig({ OPENMETAL_API_URL: baseUrl, OPENMETAL_TIMEOUT_MS: '300', OPENMETAL_MAX_ATTEMPTS: '5', ...env }))
    }

    function answerAfter (ms: number, status: number, body: unknown): void {
      handler = (_request, response) => {
        const timer = setTimeout(() => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)), ms)
        response.once('close', () => { clearTimeout(timer) })
      }
    }

    const tenant = { credentials: { kind: 'api-key', apiKey: 'om-test-key' } as const }

    test('a lookup whose callers all left is cut off on the wire, and no retry starts after', async () => {
      // each attempt times out (300 ms), so the call would go on for five attempts
      handler = () => {}
      const om = client()
      const deadline = AbortSignal.timeout(450)
      const started = Date.now()
      const outcomes = await Promise.all([1, 2, 3].map(async () => await om.getOrder('ORD1', { ...tenant, signal: deadline }).catch((error: unknown) => error)))
      for (const outcome of outcomes) expect(outcome).toMatchObject({ kind: 'deadline', operation: 'getOrder' })
      expect(Date.now() - started).toBeLessThan(700)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      // one shared call: its first attempt timed out, the second was under way when the callers left
      expect(hits.length).toBeLessThanOrEqual(2)
      expect(hits.every((hit) => hit.at <= started + 600)).toBe(true)
      expect(hits.at(-1)?.closedEarly).toBe(true)
      await om.close()
    })

    test('the public catalog is not stopped by the deadline of the request that started it', async () => {
      answerAfter(250, 200, { hardware: {} })
      const om = client({ OPENMETAL_TIMEOUT_MS: '2000' })
      const first = om.products({ signal: AbortSignal.timeout(100) }).catch((error: unknown) => error)
      const second = om.products({ signal: AbortSignal.timeout(2_000) })
      expect(await first).toMatchObject({ kind: 'deadline', operation: 'getProducts' })
      expect(await second).toMatchObject({ hardware: {} })
      expect(hits).toHaveLength(1)
      expect(hits[0]?.closedEarly).toBe(false)
      await om.close()
    })

    test('a tenant past its queue hears 503.not-ready with Retry-After at once; another tenant is served meanwhile', async () => {
      answerAfter(300, 200, { id: 'ORD1', label: 'cycle:hub:server', is_active: true, fields: {} })
      const om = client({ OPENMETAL_TIMEOUT_MS: '2000', OPENMETAL_CONNECTIONS: '4', OPENMETAL_TENANT_CONCURRENCY: '1', OPENMETAL_TENANT_QUEUE: '1' })
      const signal = AbortSignal.timeout(2_000)
      const busy = [1, 2].map(async (n) => await om.getOrder(`ORD${n}`, { ...tenant, signal }))
      const started = Date.now()
      const refused = await om.getOrder('ORD3', { ...tenant, signal }).catch((error: unknown) => error)
      expect(Date.now() - started).toBeLessThan(100)
      expect(toAdapterError(refused)).toMatchObject({ status: 503, code: '503.not-ready' })
      expect(toAdapterError(refused).retryAfter).toBeGreaterThan(0)
      const other = await om.getOrder('ORD4', { credentials: { kind: 'api-key', apiKey: 'om-other-key' }, signal })
      expect(other?.id).toBe('ORD1')
      expect(Date.now() - started).toBeLessThan(500)
      await Promise.all(busy)
      expect(hits.map((hit) => hit.url)).not.toContain('/v1/orders/ORD3')
      await om.close()
    })

    test('a call waiting for its tenant\'s turn, or for a connection, leaves at its deadline and is never sent', async () => {
      handler = () => {}
      const om = client({ OPENMETAL_TIMEOUT_MS: '2000', OPENMETAL_CONNECTIONS: '2', OPENMETAL_TENANT_CONCURRENCY: '1' })
      const other = { credentials: { kind: 'api-key', apiKey: 'om-other-key' } as const }
      // each tenant holds its one place: the two connections are taken
      const holders = [tenant, other].map(async (holder, n) => await om.getOrder(`HELD${n}`, { ...holder, signal: AbortSignal.timeout(1_000) }).catch((error: unknown) => error))
      for (const waiting of [tenant, { credentials: { kind: 'api-key', apiKey: 'om-third-key' } as const }]) {
        const started = Date.now()
        const waiter = await om.getOrder('WAITED', { ...waiting, signal: AbortSignal.timeout(200) }).catch((error: unknown) => error)
        expect(waiter).toBeInstanceOf(OpenMetalTransportError)
        expect(waiter).toMatchObject({ kind: 'deadline' })
        expect(Date.now() - started).toBeLessThan(400)
      }
      await Promise.all(holders)
      expect(hits.map((hit) => hit.url).sort()).toEqual(['/v1/orders/HELD0', '/v1/orders/HELD1'])
      await om.close()
    })
  })
})
