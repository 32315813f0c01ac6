/**
 * One tenant's trouble is no one else's: the bulkheads between tenants
 * (src/openmetal/bulkhead.ts: how many calls of one compartment run at once, how many wait,
 * who is refused, who leaves the queue, who gets a freed place), and shared calls that stop
 * once every caller has left (src/openmetal/shared-lookup.ts, the token cache and the client
 * against a real node:http server).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Bulkhead, OpenMetalBusyError } from '../../src/openmetal/bulkhead.ts'
import { SharedLookup } from '../../src/openmetal/shared-lookup.ts'
import { TokenCache, type Credentials } from '../../src/openmetal/auth.ts'
import { OpenMetalTransportError } from '../../src/openmetal/transport.ts'
import type { OpenMetalClient } from '../../src/openmetal/client.ts'
import { createClient } from '../../src/openmetal/create-client.ts'
import { loadConfig } from '../../src/config.ts'
import { toAdapterError } from '../../src/errors.ts'

/** Calls the test ends by hand, recording which have started, in order. */
function calls () {
  const started: string[] = []
  const finish = new Map<string, () => void>()
  return {
    started,
    task: (name: string) => async (): Promise<string> => {
      started.push(name)
      await new Promise<void>((resolve) => finish.set(name, resolve))
      return name
    },
    finish (name: string): void {
      const end = finish.get(name)
      if (end === undefined) throw new Error(`${name} has not started`)
      end()
    }
  }
}

/** Lets every settled promise run its continuations. */
async function settle (): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve))
}

describe('Bulkhead', () => {
  test('runs at most perCompartment calls of one compartment at once; the rest wait in order', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 2, queuePerCompartment: 10, total: 10 })
    const { started, task, finish } = calls()
    const runs = ['a1', 'a2', 'a3', 'a4'].map((name) => bulkhead.run('tenant-a', undefined, task(name)))
    await settle()
    expect(started).toEqual(['a1', 'a2'])
    finish('a2')
    await settle()
    expect(started).toEqual(['a1', 'a2', 'a3'])
    finish('a1')
    finish('a3')
    await settle()
    finish('a4')
    expect(await Promise.all(runs)).toEqual(['a1', 'a2', 'a3', 'a4'])
  })

  test('refuses at once a call past the queue bound, without touching the calls under way or waiting', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 2, queuePerCompartment: 3, total: 10 })
    const { started, task, finish } = calls()
    const accepted = ['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => bulkhead.run('tenant-a', undefined, task(name)))
    const refused = await bulkhead.run('tenant-a', undefined, task('a6')).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenMetalBusyError)
    expect(refused).toMatchObject({ running: 2, waiting: 3 })
    await settle()
    expect(started).toEqual(['a1', 'a2'])
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) {
      await settle()
      finish(name)
    }
    expect(await Promise.all(accepted)).toHaveLength(5)
    expect(started).not.toContain('a6')
  })

  test('a full compartment refuses only its own tenant: another tenant runs at once', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 0, total: 4 })
    const { started, task, finish } = calls()
    const a = bulkhead.run('tenant-a', undefined, task('a1'))
    await expect(bulkhead.run('tenant-a', undefined, task('a2'))).rejects.toBeInstanceOf(OpenMetalBusyError)
    const b = bulkhead.run('tenant-b', undefined, task('b1'))
    await settle()
    expect(started).toEqual(['a1', 'b1'])
    finish('a1')
    finish('b1')
    expect([await a, await b]).toEqual(['a1', 'b1'])
  })

  test('a waiting call leaves the queue when its signal aborts, with the signal\'s reason, and its place goes to the next', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 2, total: 10 })
    const { started, task, finish } = calls()
    const first = bulkhead.run('tenant-a', undefined, task('a1'))
    const deadline = new AbortController()
    const waiting = bulkhead.run('tenant-a', deadline.signal, task('a2'))
    const next = bulkhead.run('tenant-a', undefined, task('a3'))
    const reason = new DOMException('request deadline', 'TimeoutError')
    deadline.abort(reason)
    // it leaves at once, while the call ahead of it still holds the only place
    await expect(waiting).rejects.toBe(reason)
    // and its place in the queue is free again: the queue holds one more
    const another = bulkhead.run('tenant-a', undefined, task('a4'))
    finish('a1')
    await settle()
    expect(started).toEqual(['a1', 'a3'])
    finish('a3')
    await settle()
    finish('a4')
    expect(await Promise.all([first, next, another])).toEqual(['a1', 'a3', 'a4'])
    expect(started).not.toContain('a2')
  })

  test('a call whose signal has already aborted never starts', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 4, queuePerCompartment: 4, total: 4 })
    const { started, task } = calls()
    const reason = new Error('gone')
    await expect(bulkhead.run('tenant-a', AbortSignal.abort(reason), task('a1'))).rejects.toBe(reason)
    expect(started).toEqual([])
  })

  test('a failing call gives its place back', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 1, total: 1 })
    await expect(bulkhead.run('tenant-a', undefined, async () => { throw new Error('503') })).rejects.toThrow('503')
    expect(await bulkhead.run('tenant-a', undefined, async () => 'next')).toBe('next')
  })

  test('never more than total calls on the wire, all compartments together', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 3, queuePerCompartment: 10, total: 4 })
    const { started, task } = calls()
    for (const tenant of ['a', 'b', 'c']) for (let i = 1; i <= 3; i++) void bulkhead.run(tenant, undefined, task(`${tenant}${i}`))
    await settle()
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1'])
  })

  test('freed places go to the waiting tenants in turn, not to the one that queued most', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 4, queuePerCompartment: 10, total: 2 })
    const { started, task, finish } = calls()
    // tenant a fills the pool and queues four more; b and c queue one each after it
    for (let i = 1; i <= 6; i++) void bulkhead.run('a', undefined, task(`a${i}`))
    void bulkhead.run('b', undefined, task('b1'))
    void bulkhead.run('c', undefined, task('c1'))
    await settle()
    expect(started).toEqual(['a1', 'a2'])
    for (const name of ['a1', 'a2', 'a3', 'b1', 'c1', 'a4']) {
      finish(name)
      await settle()
    }
    // a's third call was first in line; then b and c each got a turn before a's fourth and fifth
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'a4', 'a5', 'a6'])
  })

  test('a compartment blocked by its own limit does not hold up another that may run', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 10, total: 3 })
    const { started, task, finish } = calls()
    void bulkhead.run('a', undefined, task('a1'))
    void bulkhead.run('a', undefined, task('a2'))
    void bulkhead.run('b', undefined, task('b1'))
    void bulkhead.run('b', undefined, task('b2'))
    await settle()
    expect(started).toEqual(['a1', 'b1'])
    finish('b1')
    await settle()
    // a waits ahead of b in line but may not run (a1 holds its only place): b's next call goes
    expect(started).toEqual(['a1', 'b1', 'b2'])
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
