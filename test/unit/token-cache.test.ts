import { describe, expect, test } from 'vitest'
import { TokenCache, credentialKey, type Credentials } from '../../src/openmetal/auth.ts'
import { SharedLookup } from '../../src/openmetal/shared-lookup.ts'

const oauth = (secret = 's3cr3t-value'): Credentials & { kind: 'oauth' } => ({ kind: 'oauth', clientId: 'client', secret })

function cache (options: { ttl?: number, fail?: boolean, max?: number } = {}) {
  let now = 1_000_000
  let exchanges = 0
  let failNext = options.fail === true
  const tokens = new TokenCache({
    now: () => now,
    maxEntries: options.max,
    exchange: async () => {
      exchanges++
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (failNext) { failNext = false; throw new Error('exchange failed') }
      return { accessToken: `token-${exchanges}`, expiresInSeconds: options.ttl ?? 1000 }
    }
  })
  return { tokens, exchanges: () => exchanges, advance: (ms: number) => { now += ms } }
}

describe('OAuth token cache', () => {
  test('an API key is its own bearer, without an exchange', async () => {
    const { tokens, exchanges } = cache()
    expect(await tokens.authorization({ kind: 'api-key', apiKey: 'key1' })).toBe('Bearer key1')
    expect(exchanges()).toBe(0)
  })

  test('a hundred concurrent callers share one exchange', async () => {
    const { tokens, exchanges } = cache()
    const headers = await Promise.all(Array.from({ length: 100 }, () => tokens.authorization(oauth())))
    expect(new Set(headers)).toEqual(new Set(['Bearer token-1']))
    expect(exchanges()).toBe(1)
  })

  test('different credentials are exchanged separately', async () => {
    const { tokens, exchanges } = cache()
    await Promise.all([tokens.authorization(oauth('a')), tokens.authorization(oauth('b'))])
    expect(exchanges()).toBe(2)
  })

  test('reused until 80% of its life, then refreshed', async () => {
    const { tokens, exchanges, advance } = cache({ ttl: 1000 })
    await tokens.authorization(oauth())
    advance(799_000)
    await tokens.authorization(oauth())
    expect(exchanges()).toBe(1)
    advance(2_000)
    expect(await tokens.authorization(oauth())).toBe('Bearer token-2')
  })

  test('invalidate drops the rejected token, but not a newer one', async () => {
    const { tokens, exchanges } = cache()
    const first = await tokens.authorization(oauth())
    tokens.invalidate(oauth(), first)
    const second = await tokens.authorization(oauth())
    expect(second).toBe('Bearer token-2')
    tokens.invalidate(oauth(), first)
    expect(await tokens.authorization(oauth())).toBe(second)
    expect(exchanges()).toBe(2)
  })

  test('a failed exchange is not cached', async () => {
    const { tokens, exchanges } = cache({ fail: true })
    await expect(tokens.authorization(oauth())).rejects.toThrow('exchange failed')
    expect(await tokens.authorization(oauth())).toBe('Bearer token-2')
    expect(exchanges()).toBe(2)
  })

  test('the cache key never contains the secret and differs per secret', () => {
    const key = credentialKey(oauth('very-secret-value'))
    expect(key).not.toContain('very-secret-value')
    expect(key).not.toBe(credentialKey(oauth('another')))
  })

  test('the number of cached credentials is bounded', async () => {
    const { tokens } = cache({ max: 3 })
    for (const secret of ['a', 'b', 'c', 'd', 'e']) await tokens.authorization(oauth(secret))
    expect(tokens.size).toBeLessThanOrEqual(3)
  })
})

describe('shared lookups', () => {
  test('identical concurrent lookups share one load; without a TTL nothing is kept', async () => {
    const shared = new SharedLookup<number>()
    let loads = 0
    const load = async () => { loads++; await new Promise((resolve) => setTimeout(resolve, 5)); return loads }
    expect(await Promise.all([shared.get('k', 0, load), shared.get('k', 0, load), shared.get('k', 0, load)])).toEqual([1, 1, 1])
    expect(await shared.get('k', 0, load)).toBe(2)
  })

  test('a TTL keeps the answer until it expires; failures are not kept', async () => {
    let now = 0
    const shared = new SharedLookup<string>({ now: () => now })
    let loads = 0
    await expect(shared.get('k', 100, async () => { loads++; throw new Error('no') })).rejects.toThrow()
    expect(await shared.get('k', 100, async () => `v${++loads}`)).toBe('v2')
    now = 99
    expect(await shared.get('k', 100, async () => `v${++loads}`)).toBe('v2')
    now = 101
    expect(await shared.get('k', 100, async () => `v${++loads}`)).toBe('v3')
    shared.remember('fact', 'x', 10)
    expect(shared.peek('fact')).toBe('x')
    now = 200
    expect(shared.peek('fact')).toBeUndefined()
  })
})
