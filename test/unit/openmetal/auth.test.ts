/** Unit tests of src/openmetal/auth.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { TokenCache, credentialKey } from '../../../src/openmetal/auth.ts'
import type { Credentials, IssuedToken } from '../../../src/openmetal/auth.ts'

/** OAuth client credentials -> bearer token, cached per credential, with a fake clock. */
describe('src/openmetal/auth.ts', () => {
  type OAuth = Credentials & { kind: 'oauth' }

  const oauth = (clientId = 'client-1', secret = 'sEcReT-0f-client-1'): OAuth => ({ kind: 'oauth', clientId, secret })

  interface Deferred { resolve (token: IssuedToken): void, reject (error: Error): void }

  /**
   * A TokenCache whose exchanges the test settles by hand (or at once), on a clock the test
   * moves, recording which credentials were exchanged.
   */
  function harness (options: { expiresIn?: number, maxEntries?: number, manual?: boolean } = {}) {
    let now = Date.parse('2026-11-22T12:00:00Z')
    const exchanged: OAuth[] = []
    const pending: Deferred[] = []
    const counts = { hit: 0, miss: 0, exchange: 0 }
    const cache = new TokenCache({
      now: () => now,
      ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
      observer: { hit: () => { counts.hit++ }, miss: () => { counts.miss++ }, exchange: () => { counts.exchange++ } },
      exchange: (credentials) => {
        exchanged.push(credentials)
        const serial = exchanged.length
        if (options.manual === true) return new Promise<IssuedToken>((resolve, reject) => pending.push({ resolve, reject }))
        return Promise.resolve({ accessToken: `tok-${credentials.clientId}-${serial}`, expiresInSeconds: options.expiresIn ?? 14_400 })
      }
    })
    return {
      cache,
      exchanged,
      pending,
      counts,
      advance (ms: number) { now += ms }
    }
  }

  describe('API keys', () => {
    test('pass through as Bearer <key>, without any exchange or cache entry', async () => {
      const { cache, exchanged } = harness()
      expect(await cache.authorization({ kind: 'api-key', apiKey: 'om_live_abc123' })).toBe('Bearer om_live_abc123')
      expect(exchanged).toHaveLength(0)
      expect(cache.size).toBe(0)
    })

    test('invalidate is a no-op for an API key', async () => {
      const { cache } = harness()
      cache.invalidate({ kind: 'api-key', apiKey: 'k' }, 'Bearer k')
      expect(await cache.authorization({ kind: 'api-key', apiKey: 'k' })).toBe('Bearer k')
    })
  })

  describe('OAuth exchanges', () => {
    test('100 concurrent calls for one credential share exactly one exchange', async () => {
      const { cache, exchanged, pending } = harness({ manual: true })
      const calls = Array.from({ length: 100 }, () => cache.authorization(oauth()))
      await Promise.resolve()
      expect(exchanged).toHaveLength(1)
      pending[0]?.resolve({ accessToken: 'shared-token', expiresInSeconds: 3600 })
      expect(new Set(await Promise.all(calls))).toEqual(new Set(['Bearer shared-token']))
      expect(exchanged).toHaveLength(1)
    })

    test('the exchange receives the credentials as given', async () => {
      const { cache, exchanged } = harness()
      await cache.authorization(oauth('my-client', 'my-secret'))
      expect(exchanged).toEqual([{ kind: 'oauth', clientId: 'my-client', secret: 'my-secret' }])
    })

    test('different credentials get separate exchanges and separate tokens', async () => {
      const { cache, exchanged } = harness()
      const [a, b, c] = await Promise.all([
        cache.authorization(oauth('client-a', 'secret-a')),
        cache.authorization(oauth('client-b', 'secret-b')),
        cache.authorization(oauth('client-a', 'another-secret'))
      ])
      expect(exchanged).toHaveLength(3)
      expect(new Set([a, b, c]).size).toBe(3)
    })

    test('a token is reused until 80% of expires_in, then exchanged again', async () => {
      const { cache, exchanged, advance, counts } = harness({ expiresIn: 14_400 })
      const first = await cache.authorization(oauth())
      advance(0.8 * 14_400_000 - 1)
      expect(await cache.authorization(oauth())).toBe(first)
      expect(exchanged).toHaveLength(1)
      advance(1)
      const second = await cache.authorization(oauth())
      expect(second).not.toBe(first)
      expect(exchanged).toHaveLength(2)
      // the refreshed token is cached in turn
      expect(await cache.authorization(oauth())).toBe(second)
      expect(counts).toEqual({ hit: 2, miss: 2, exchange: 2 })
    })

    test('a short-lived token is still reused within its life (the margin is proportional)', async () => {
      const { cache, exchanged, advance } = harness({ expiresIn: 60 })
      await cache.authorization(oauth())
      advance(47_000)
      await cache.authorization(oauth())
      expect(exchanged).toHaveLength(1)
      advance(1_000)
      await cache.authorization(oauth())
      expect(exchanged).toHaveLength(2)
    })

    test('exchangeNow always exchanges, and later calls use its token', async () => {
      const { cache, exchanged } = harness()
      await cache.authorization(oauth())
      await cache.exchangeNow(oauth())
      expect(exchanged).toHaveLength(2)
      expect(await cache.authorization(oauth())).toBe('Bearer tok-client-1-2')
    })
  })

  describe('invalidate', () => {
    test('with the current token forces a new exchange', async () => {
      const { cache, exchanged } = harness()
      const rejected = await cache.authorization(oauth())
      cache.invalidate(oauth(), rejected)
      const fresh = await cache.authorization(oauth())
      expect(fresh).not.toBe(rejected)
      expect(exchanged).toHaveLength(2)
    })

    test('with a stale token does not drop the newer one', async () => {
      const { cache, exchanged } = harness()
      const stale = await cache.authorization(oauth())
      cache.invalidate(oauth(), stale)
      const current = await cache.authorization(oauth())
      cache.invalidate(oauth(), stale)
      cache.invalidate(oauth(), 'Bearer something-else')
      expect(await cache.authorization(oauth())).toBe(current)
      expect(exchanged).toHaveLength(2)
    })

    test('of one credential leaves the others cached', async () => {
      const { cache, exchanged } = harness()
      const a = await cache.authorization(oauth('client-a', 'secret-a'))
      const b = await cache.authorization(oauth('client-b', 'secret-b'))
      cache.invalidate(oauth('client-a', 'secret-a'), a)
      expect(await cache.authorization(oauth('client-b', 'secret-b'))).toBe(b)
      expect(exchanged).toHaveLength(2)
    })
  })

  describe('failed exchanges', () => {
    test('are not cached: every waiter sees the failure and the next call retries', async () => {
      const { cache, exchanged, pending } = harness({ manual: true })
      const waiters = Array.from({ length: 5 }, () => cache.authorization(oauth()).then(() => 'ok', (error: unknown) => error))
      await Promise.resolve()
      pending[0]?.reject(new Error('401 from OpenMetal'))
      for (const outcome of await Promise.all(waiters)) expect(outcome).toEqual(new Error('401 from OpenMetal'))
      expect(cache.size).toBe(0)

      const retry = cache.authorization(oauth())
      await Promise.resolve()
      expect(exchanged).toHaveLength(2)
      pending[1]?.resolve({ accessToken: 'second-try', expiresInSeconds: 3600 })
      expect(await retry).toBe('Bearer second-try')
    })

    test('a failed refresh does not lose track: the next call exchanges again', async () => {
      let fail = false
      let serial = 0
      let now = 0
      const cache = new TokenCache({
        now: () => now,
        exchange: async () => {
          serial++
          if (fail) throw new Error('upstream down')
          return { accessToken: `t${serial}`, expiresInSeconds: 100 }
        }
      })
      expect(await cache.authorization(oauth())).toBe('Bearer t1')
      now = 90_000
      fail = true
      await expect(cache.authorization(oauth())).rejects.toThrow('upstream down')
      fail = false
      expect(await cache.authorization(oauth())).toBe('Bearer t3')
    })
  })

  describe('credentialKey', () => {
    test('never contains the secret, and differs per secret and per client', () => {
      const secret = fc.string({ minLength: 8, maxLength: 80 })
      fc.assert(fc.property(fc.string({ maxLength: 40 }), secret, secret, (clientId, a, b) => {
        fc.pre(a !== b)
        const key = credentialKey({ kind: 'oauth', clientId, secret: a })
        expect(key).not.toContain(a)
        expect(key).not.toBe(credentialKey({ kind: 'oauth', clientId, secret: b }))
        expect(key).toBe(credentialKey({ kind: 'oauth', clientId, secret: a }))
      }))
    })

    test('an API key is not its own key either', () => {
      const apiKey = 'om_live_0123456789abcdef'
      expect(credentialKey({ kind: 'api-key', apiKey })).not.toContain(apiKey)
    })

    test('client ID and secret cannot be shifted into each other', () => {
      expect(credentialKey(oauth('ab', 'cdefghij'))).not.toBe(credentialKey(oauth('abc', 'defghij')))
      expect(credentialKey(oauth('x', 'secret-value'))).not.toBe(credentialKey({ kind: 'api-key', apiKey: 'secret-value' }))
    })
  })

  describe('maxEntries', () => {
    test('bounds the cache, keeping the most recent credentials', async () => {
      const { cache, exchanged } = harness({ maxEntries: 3 })
      for (let i = 0; i < 10; i++) {
        await cache.authorization(oauth(`client-${i}`, `secret-${i}`))
        expect(cache.size).toBeLessThanOrEqual(3)
      }
      expect(exchanged).toHaveLength(10)
      // the newest is still cached; the oldest was evicted and needs a new exchange
      await cache.authorization(oauth('client-9', 'secret-9'))
      expect(exchanged).toHaveLength(10)
      await cache.authorization(oauth('client-0', 'secret-0'))
      expect(exchanged).toHaveLength(11)
      expect(cache.size).toBe(3)
    })
  })
})
