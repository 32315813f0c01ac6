import { describe, expect, it } from 'vitest'
import { Leases } from '../../../src/coordination/leases.ts'
import { InProcessCoordinator } from '../../../src/coordination/in-process.ts'
import { CoordinatorUnavailableError, LeaseBusyError } from '../../../src/coordination/coordinator.ts'
import type { Acquisition, CoordinationObserver, Coordinator, Lease, LeaseEvent } from '../../../src/coordination/coordinator.ts'

/** counts what the policy reports */
function recordingObserver (): CoordinationObserver & { events: LeaseEvent[], unavailableErrors: CoordinatorUnavailableError[] } {
  const events: LeaseEvent[] = []
  const unavailableErrors: CoordinatorUnavailableError[] = []
  return {
    events,
    unavailableErrors,
    lease (event) { events.push(event) },
    unavailable (error) { unavailableErrors.push(error) }
  }
}

/** a coordinator that fails the way a test needs, counting calls */
function failingCoordinator (failure: { acquire?: Error, release?: Error }): Coordinator & { calls: number } {
  const coordinator = {
    kind: 'postgres' as const,
    calls: 0,
    async start () {},
    async tryAcquire (key: string, ttlMs: number): Promise<Acquisition> {
      coordinator.calls++
      if (failure.acquire !== undefined) throw failure.acquire
      return { held: { key, token: 't', expiresAt: Date.now() + ttlMs } }
    },
    async release (_lease: Lease): Promise<boolean> {
      coordinator.calls++
      if (failure.release !== undefined) throw failure.release
      return true
    },
    async check () { return 'down' },
    async close () {}
  }
  return coordinator
}

async function held (coordinator: Coordinator, key: string, ttlMs: number): Promise<Lease> {
  const acquisition = await coordinator.tryAcquire(key, ttlMs)
  if (!('held' in acquisition)) throw new Error(`expected ${key} free`)
  return acquisition.held
}

describe('Leases', () => {
  it('waits a bounded time for a held lease, then answers busy with a retry no later than the lease lapses', async () => {
    const coordinator = new InProcessCoordinator()
    const observer = recordingObserver()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 300, pollMs: 50, observer })
    const holder = await held(coordinator, 'need', 5000)

    const startedAt = Date.now()
    const error = await leases.acquire('need').catch((error: unknown) => error)
    const elapsed = Date.now() - startedAt

    expect(error).toBeInstanceOf(LeaseBusyError)
    const retryAfterSeconds = (error as LeaseBusyError).retryAfterSeconds
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1)
    expect(retryAfterSeconds * 1000).toBeLessThanOrEqual(holder.expiresAt - Date.now())
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(1000)
    expect(observer.events).toEqual(['busy'])
  })

  it('takes the lease as soon as the holder gives it back during the wait', async () => {
    const coordinator = new InProcessCoordinator()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 3000, pollMs: 50 })
    const holder = await held(coordinator, 'need', 5000)
    setTimeout(() => { void coordinator.release(holder) }, 150)

    const startedAt = Date.now()
    const lease = await leases.acquire('need')
    expect(Date.now() - startedAt).toBeLessThan(1000)
    expect(lease.token).not.toBe(holder.token)
  })

  it('does not sleep past the moment the holder\'s lease lapses', async () => {
    const coordinator = new InProcessCoordinator()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 3000, pollMs: 2000 })
    await held(coordinator, 'need', 150)

    const startedAt = Date.now()
    await leases.acquire('need')
    // one poll would be 1.5 s or more; the holder's remaining 150 ms bound the sleep
    expect(Date.now() - startedAt).toBeLessThan(1000)
  })

  it('ends the wait when the signal aborts (a deadline): busy, with when to come back, not a timeout', async () => {
    const coordinator = new InProcessCoordinator()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 5000, pollMs: 50 })
    await held(coordinator, 'need', 5000)
    const controller = new AbortController()
    setTimeout(() => controller.abort(new DOMException('request deadline', 'TimeoutError')), 100)

    const startedAt = Date.now()
    const failure = await leases.acquire('need', controller.signal).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(LeaseBusyError)
    // the holder still has about 4.9 s
    expect((failure as LeaseBusyError).retryAfterSeconds).toBe(4)
    expect(Date.now() - startedAt).toBeLessThan(1000)
  })

  it('does not even ask when the signal is already aborted', async () => {
    const coordinator = failingCoordinator({})
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 5000 })
    const reason = new Error('gone')
    await expect(leases.acquire('need', AbortSignal.abort(reason))).rejects.toBe(reason)
    expect(coordinator.calls).toBe(0)
  })

  it('ignores a release with a token that is not the holder\'s', async () => {
    const coordinator = new InProcessCoordinator()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 0 })
    const lease = await leases.acquire('need')

    expect(await coordinator.release({ ...lease, token: 'not-the-holder' })).toBe(false)
    await leases.release({ ...lease, token: 'not-the-holder' })
    await expect(leases.acquire('need')).rejects.toBeInstanceOf(LeaseBusyError)

    expect(await coordinator.release(lease)).toBe(true)
    await leases.acquire('need')
  })

  it('lets another take a lease once it has expired, and the old holder can no longer release it', async () => {
    let now = 1_000_000
    const coordinator = new InProcessCoordinator({ now: () => now })
    const first = await held(coordinator, 'need', 1000)
    expect(first.expiresAt).toBe(1_001_000)

    now += 999
    expect(await coordinator.tryAcquire('need', 1000)).toEqual({ busy: { remainingMs: 1 } })
    now += 1
    const second = await held(coordinator, 'need', 1000)
    expect(second.token).not.toBe(first.token)
    expect(await coordinator.release(first)).toBe(false)
    expect(await coordinator.release(second)).toBe(true)
  })

  it('keeps a lease whose outcome is unknown: it stays held until it lapses', async () => {
    let now = 1_000_000
    const coordinator = new InProcessCoordinator({ now: () => now })
    const observer = recordingObserver()
    const leases = new Leases(coordinator, { ttlMs: 60_000, waitMs: 0, observer })
    const lease = await leases.acquire('need')
    leases.keep(lease)

    expect(await coordinator.tryAcquire('other-call', 60_000)).toHaveProperty('held')
    expect(await coordinator.tryAcquire('need', 60_000)).toEqual({ busy: { remainingMs: 60_000 } })
    now += 60_000
    expect(await coordinator.tryAcquire('need', 60_000)).toHaveProperty('held')
    expect(observer.events).toEqual(['acquired', 'kept'])
  })

  it('derives one key per need: the same parts give the same key, another organisation another key', () => {
    const key = Leases.key('order', 'org-1', 'hub-1', 'server-1')
    expect(Leases.key('order', 'org-1', 'hub-1', 'server-1')).toBe(key)
    expect(Leases.key('order', 'org-2', 'hub-1', 'server-1')).not.toBe(key)
    expect(Leases.key('ip-block', 'org-1', 'hub-1', 'server-1')).not.toBe(key)
    // the separator keeps part boundaries: 'ab'+'c' is not 'a'+'bc'
    expect(Leases.key('ab', 'c')).not.toBe(Leases.key('a', 'bc'))
    // names nothing: a SHA-256, base64url
    expect(key).toMatch(/^[\w-]{43}$/)
    expect(key).not.toContain('org-1')
  })

  it('propagates an unavailable coordinator at once, without waiting', async () => {
    const unavailable = new CoordinatorUnavailableError('PostgreSQL coordinator unavailable (acquire): ECONNREFUSED')
    const coordinator = failingCoordinator({ acquire: unavailable })
    const observer = recordingObserver()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 5000, pollMs: 50, observer })

    const startedAt = Date.now()
    await expect(leases.acquire('need')).rejects.toBe(unavailable)
    expect(Date.now() - startedAt).toBeLessThan(100)
    expect(coordinator.calls).toBe(1)
    expect(observer.events).toEqual([])
  })

  it('swallows a failed release: the lease lapses on its own; an unexpected failure is reported', async () => {
    const observer = recordingObserver()
    const lease: Lease = { key: 'need', token: 't', expiresAt: Date.now() + 1000 }

    // the coordinator reports its own unavailability (same observer in the app): not twice
    const unavailable = new Leases(failingCoordinator({ release: new CoordinatorUnavailableError('down') }), { ttlMs: 1000, waitMs: 0, observer })
    await expect(unavailable.release(lease)).resolves.toBeUndefined()
    expect(observer.unavailableErrors).toEqual([])

    const broken = new Leases(failingCoordinator({ release: new TypeError('bug') }), { ttlMs: 1000, waitMs: 0, observer })
    await expect(broken.release(lease)).resolves.toBeUndefined()
    expect(observer.unavailableErrors).toHaveLength(1)
    expect(observer.unavailableErrors[0]).toBeInstanceOf(CoordinatorUnavailableError)
    expect(observer.events).toEqual([])
  })

  it('a caller gone by the time the lease is taken: the lease goes straight back (counted taken, then given back), and the caller hears its own reason', async () => {
    const inner = new InProcessCoordinator()
    const controller = new AbortController()
    const gone = new DOMException('the caller has gone', 'AbortError')
    // the caller leaves while the coordinator is answering
    const leaving: Coordinator = {
      kind: inner.kind,
      tryAcquire: async (key: string, ttlMs: number): Promise<Acquisition> => {
        const acquired = await inner.tryAcquire(key, ttlMs)
        controller.abort(gone)
        return acquired
      },
      release: async (lease: Lease) => await inner.release(lease),
      start: async () => { await inner.start() },
      check: async () => await inner.check(),
      close: async () => { await inner.close() }
    }
    const observer = recordingObserver()
    const leases = new Leases(leaving, { ttlMs: 60_000, waitMs: 0, observer })
    await expect(leases.acquire('a', controller.signal)).rejects.toBe(gone)
    await expect.poll(() => observer.events).toEqual(['acquired', 'released'])
    // free for the next caller at once, not after the lease's 60 s
    expect('held' in await inner.tryAcquire('a', 1000)).toBe(true)
  })

  it('reports each lease event once', async () => {
    const coordinator = new InProcessCoordinator()
    const observer = recordingObserver()
    const leases = new Leases(coordinator, { ttlMs: 5000, waitMs: 100, pollMs: 20, observer })

    const first = await leases.acquire('a')
    await expect(leases.acquire('a')).rejects.toBeInstanceOf(LeaseBusyError)
    await leases.release(first)
    const second = await leases.acquire('a')
    leases.keep(second)
    await leases.release(await leases.acquire('b'))

    expect(observer.events).toEqual(['acquired', 'busy', 'released', 'acquired', 'kept', 'acquired', 'released'])
    expect(observer.unavailableErrors).toEqual([])
    expect(await leases.check()).toBeUndefined()
  })
})

describe('InProcessCoordinator', () => {
  it('sweeps expired entries so they do not pile up', async () => {
    let now = 0
    const coordinator = new InProcessCoordinator({ now: () => now })
    for (let i = 0; i < 5000; i++) {
      await held(coordinator, `need-${i}`, 10)
      now += 1
    }
    // never more than about twice the live entries plus the sweep's floor
    expect(coordinator.size).toBeLessThanOrEqual(2048)
    await held(coordinator, 'need-0', 10)
  })
})
