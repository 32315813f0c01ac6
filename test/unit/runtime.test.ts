/**
 * Unit tests of the adapter's runtime modules: configuration, the OpenMetal token cache,
 * shared lookups, the error catalog and the HTTP transport (against a real node:http
 * server). One top-level describe per module, in one file because each test file costs a
 * fork and ~0.3 s of imports, and the whole unit suite must stay near 5 s.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConfigError, ENVIRONMENT, loadConfig, PRODUCTION_API_URL, SANDBOX_API_URL } from '../../src/config.ts'
import type { EnvName } from '../../src/config.ts'
import { TokenCache, credentialKey } from '../../src/openmetal/auth.ts'
import type { Credentials, IssuedToken } from '../../src/openmetal/auth.ts'
import { SharedLookup } from '../../src/openmetal/shared-lookup.ts'
import { AdapterError, Errors, toAdapterError } from '../../src/errors.ts'
import { OpenMetalHttpError, OpenMetalTransport, OpenMetalTransportError, openMetalPath, parseRetryAfter, withinDeadline } from '../../src/openmetal/transport.ts'
import type { TransportFailure, TransportOptions, UpstreamCall, UpstreamTrace } from '../../src/openmetal/transport.ts'
import { OPERATIONS } from '../../src/openmetal/operations.ts'

/** The adapter's environment: defaults, and a failed start that names the bad variable. */
describe('src/config.ts', () => {
  function failure (env: Record<string, string>): ConfigError {
    try {
      loadConfig(env)
    } catch (error) {
      if (error instanceof ConfigError) return error
      throw error
    }
    throw new Error(`expected ${JSON.stringify(env)} to be refused`)
  }

  describe('loadConfig defaults', () => {
    test('an empty environment starts on 0.0.0.0:8080 against production OpenMetal', () => {
      const config = loadConfig({})
      expect(config).toMatchObject({
        port: 8080,
        host: '0.0.0.0',
        logLevel: 'info',
        openMetalApiUrl: PRODUCTION_API_URL,
        deploymentConfiguration: undefined,
        sshPublicKey: undefined,
        sshKeyIds: [],
        upstreamTimeoutMs: 10_000,
        upstreamMaxAttempts: 3,
        allowedHubIds: [],
        tls: undefined,
        logPretty: false,
        trustProxy: false,
        requestTimeoutMs: 30_000,
        headersTimeoutMs: 10_000,
        keepAliveTimeoutMs: 72_000,
        maxConnections: 4096,
        maxConnectionsPerAddress: 1024,
        rateLimitPerMinute: 1200,
        rateLimitPerAddressPerMinute: 6000
      })
      expect(PRODUCTION_API_URL).toBe('https://api.central.openmetal.io')
    })

    test('blank variables count as unset', () => {
      expect(loadConfig({ PORT: '', HOST: '  ', OPENMETAL_API_URL: '' })).toMatchObject({ port: 8080, host: '0.0.0.0', openMetalApiUrl: PRODUCTION_API_URL })
    })

    test('every documented default loads', () => {
      const defaults = Object.fromEntries(Object.entries(ENVIRONMENT).map(([name, [value]]) => [name, value]))
      expect(loadConfig(defaults)).toEqual(loadConfig({}))
    })
  })

  describe('loadConfig accepts', () => {
    test('the sandbox URL, normalised to its origin', () => {
      expect(loadConfig({ OPENMETAL_API_URL: SANDBOX_API_URL }).openMetalApiUrl).toBe('https://sandbox.api.central.openmetal.io')
      expect(loadConfig({ OPENMETAL_API_URL: `${SANDBOX_API_URL}/` }).openMetalApiUrl).toBe('https://sandbox.api.central.openmetal.io')
      expect(loadConfig({ OPENMETAL_API_URL: 'http://127.0.0.1:4010' }).openMetalApiUrl).toBe('http://127.0.0.1:4010')
    })

    test('the ends of the PORT range, and surrounding whitespace', () => {
      expect(loadConfig({ PORT: '0' }).port).toBe(0)
      expect(loadConfig({ PORT: '65535' }).port).toBe(65_535)
      expect(loadConfig({ PORT: ' 3000 ' }).port).toBe(3000)
    })

    test('OPENMETAL_SSH_KEY_IDS split on commas, trimmed, empty entries dropped', () => {
      expect(loadConfig({ OPENMETAL_SSH_KEY_IDS: ' KEY1 ,key_2,, k-3 ,' }).sshKeyIds).toEqual(['KEY1', 'key_2', 'k-3'])
      expect(loadConfig({ OPENMETAL_SSH_KEY_IDS: 'single' }).sshKeyIds).toEqual(['single'])
    })

    test('an OpenSSH public key line', () => {
      const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@example.com'
      expect(loadConfig({ OPENMETAL_SSH_PUBLIC_KEY: key }).sshPublicKey).toBe(key)
    })

    test.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('LOG_LEVEL=%s', (level) => {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level)
    })

    test('the ends of the OPENMETAL_TIMEOUT_MS range', () => {
      expect(loadConfig({ OPENMETAL_TIMEOUT_MS: '100' }).upstreamTimeoutMs).toBe(100)
      expect(loadConfig({ OPENMETAL_TIMEOUT_MS: '120000' }).upstreamTimeoutMs).toBe(120_000)
    })
  })

  describe('loadConfig refuses, naming the variable first', () => {
    test.each<[EnvName, string]>([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '65536'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['PORT', '1e3'],
      ['PORT', '0x50'],
      ['LOG_LEVEL', 'loud'],
      ['LOG_LEVEL', 'INFO'],
      ['OPENMETAL_API_URL', 'ftp://x'],
      ['OPENMETAL_API_URL', 'https://x/path'],
      ['OPENMETAL_API_URL', 'https://x/?token=1'],
      ['OPENMETAL_API_URL', 'https://user:secret@x'],
      ['OPENMETAL_API_URL', 'api.central.openmetal.io'],
      ['OPENMETAL_API_URL', 'file:///etc/passwd'],
      ['OPENMETAL_SSH_KEY_IDS', 'KEY1,bad/id'],
      ['OPENMETAL_SSH_KEY_IDS', 'KEY1,has space'],
      ['OPENMETAL_SSH_KEY_IDS', `${'k'.repeat(65)}`],
      ['OPENMETAL_SSH_PUBLIC_KEY', 'garbage'],
      ['OPENMETAL_SSH_PUBLIC_KEY', 'ssh-ed25519'],
      ['OPENMETAL_TIMEOUT_MS', '5'],
      ['OPENMETAL_TIMEOUT_MS', '120001'],
      ['OPENMETAL_TIMEOUT_MS', 'ten seconds'],
      ['OPENMETAL_DEPLOYMENT_CONFIGURATION', '../cfg'],
      ['LOG_FORMAT', 'xml'],
      ['IAL_ALLOWED_HUB_IDS', 'hub-1,a b'],
      ['IAL_ALLOWED_HUB_IDS', `${'h'.repeat(65)}`],
      ['TRUST_PROXY', 'everyone'],
      ['TRUST_PROXY', '10.0.0.0/99'],
      ['TRUST_PROXY', '300.1.2.3'],
      ['REQUEST_TIMEOUT_MS', '0'],
      ['HEADERS_TIMEOUT_MS', '40000'],
      ['KEEP_ALIVE_TIMEOUT_MS', '10'],
      ['MAX_CONNECTIONS', '0'],
      ['MAX_CONNECTIONS_PER_ADDRESS', '5000'],
      ['RATE_LIMIT_PER_ADDRESS_PER_MINUTE', '600'],
      ['OPENMETAL_TENANT_CONCURRENCY', '0'],
      ['OPENMETAL_TENANT_CONCURRENCY', '32'],
      ['OPENMETAL_TENANT_QUEUE', '-1']
    ])('%s=%j', (name, value) => {
      const error = failure({ [name]: value })
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.name).toBe('ConfigError')
      expect(error.message.startsWith(`${name} `)).toBe(true)
    })

    test('a tenant\'s share of OpenMetal connections must leave room for the others', () => {
      expect(failure({ OPENMETAL_CONNECTIONS: '8' }).message).toBe('OPENMETAL_TENANT_CONCURRENCY must be below OPENMETAL_CONNECTIONS (8), so that no tenant can hold every connection, got "8"')
      expect(loadConfig({ OPENMETAL_CONNECTIONS: '8', OPENMETAL_TENANT_CONCURRENCY: '7', OPENMETAL_TENANT_QUEUE: '0' })).toMatchObject({ upstreamConnections: 8, upstreamTenantConcurrency: 7, upstreamTenantQueue: 0 })
      expect(loadConfig({})).toMatchObject({ upstreamConnections: 32, upstreamTenantConcurrency: 8, upstreamTenantQueue: 64 })
    })

    test('a TLS certificate without its key names the missing TLS_KEY_FILE, and the reverse', () => {
      expect(failure({ TLS_CERT_FILE: '/etc/tls/cert.pem' }).message).toMatch(/^TLS_KEY_FILE /)
      expect(failure({ TLS_KEY_FILE: '/etc/tls/key.pem' }).message).toMatch(/^TLS_CERT_FILE /)
      expect(loadConfig({ TLS_CERT_FILE: '/etc/tls/cert.pem', TLS_KEY_FILE: '/etc/tls/key.pem' }).tls).toEqual({ certFile: '/etc/tls/cert.pem', keyFile: '/etc/tls/key.pem' })
    })

    test('a limit that depends on another names both: headers within the request timeout, the per-address caps within the totals', () => {
      expect(failure({ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '15000' }).message).toBe('HEADERS_TIMEOUT_MS must be at most REQUEST_TIMEOUT_MS (15000), got 20000')
      expect(failure({ MAX_CONNECTIONS_PER_ADDRESS: '65', MAX_CONNECTIONS: '64' }).message).toBe('MAX_CONNECTIONS_PER_ADDRESS must be at most MAX_CONNECTIONS (64), got 65')
      expect(failure({ RATE_LIMIT_PER_MINUTE: '10000' }).message).toBe('RATE_LIMIT_PER_ADDRESS_PER_MINUTE must be at least RATE_LIMIT_PER_MINUTE (10000), got 6000')
      expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '10000', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0' })).toMatchObject({ rateLimitPerMinute: 10_000, rateLimitPerAddressPerMinute: 0 })
      expect(loadConfig({ HEADERS_TIMEOUT_MS: '15000', REQUEST_TIMEOUT_MS: '15000', MAX_CONNECTIONS: '64', MAX_CONNECTIONS_PER_ADDRESS: '64' })).toMatchObject({ headersTimeoutMs: 15_000, requestTimeoutMs: 15_000, maxConnections: 64, maxConnectionsPerAddress: 64 })
      expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, fd00::/8,192.0.2.7' }).trustProxy).toEqual(['10.0.0.0/8', 'fd00::/8', '192.0.2.7'])
    })

    test('the message says what was wrong, not only which variable', () => {
      expect(failure({ PORT: 'abc' }).message).toBe('PORT must be an integer from 0 to 65535, got "abc"')
      expect(failure({ OPENMETAL_TIMEOUT_MS: '5' }).message).toMatch(/^OPENMETAL_TIMEOUT_MS must be an integer from 100 to 120000/)
      expect(failure({ OPENMETAL_SSH_KEY_IDS: 'ok,bad/id' }).message).toContain('"bad/id"')
    })

    test('any PORT that is not an integer 0..65535 is refused as PORT', () => {
      const notAPort = fc.oneof(
        fc.integer({ min: 65_536, max: 10_000_000 }).map(String),
        fc.integer({ min: -100_000, max: -1 }).map(String),
        fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value)).map(String),
        fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/)
      )
      fc.assert(fc.property(notAPort, (value) => {
        expect(failure({ PORT: value }).message.startsWith('PORT ')).toBe(true)
      }))
    })
  })
})

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

/** Every failure as Cycle sees it: the error envelope's status, code and body. */
describe('src/errors.ts', () => {
  const CODE = /^(\d{3})\.[a-z0-9.-]+$/

  function expectWellFormed (error: AdapterError): void {
    const match = CODE.exec(error.code)
    expect(match?.[1]).toBe(String(error.status))
    const body = error.toBody()
    expect(body.status).toBe(error.status)
    expect(body.code).toBe(error.code)
    expect(typeof body.title).toBe('string')
    for (const [key, value] of Object.entries(body)) expect(value, key).not.toBeUndefined()
    // the body is what goes on the wire: it survives JSON unchanged
    expect(JSON.parse(JSON.stringify(body))).toEqual(body)
  }

  describe('OpenMetal HTTP statuses', () => {
    test.each([
      [400, 422, '422.invalid-argument'],
      [401, 401, '401.auth-invalid'],
      [403, 403, '403.permissions'],
      [404, 404, '404.infrastructure.server'],
      [409, 503, '503.not-ready'],
      [429, 429, '429.rate-limiting'],
      [500, 503, '503.not-ready'],
      [502, 503, '503.not-ready'],
      [503, 503, '503.not-ready'],
      [504, 504, '504.not-available']
    ])('OpenMetal %i -> %i %s', (upstream, status, code) => {
      const error = toAdapterError(new OpenMetalHttpError('getOrder', upstream, undefined, 'req-9'))
      expect(error).toBeInstanceOf(AdapterError)
      expect(error.status).toBe(status)
      expect(error.code).toBe(code)
      expect(error.detail).toContain(`OpenMetal answered ${upstream} to getOrder`)
      expect(error.detail).toContain('req-9')
      expectWellFormed(error)
    })

    test('a refusal of a public catalog call, or a 404 of a call about no single server, is OpenMetal\'s trouble: 503, retry later', () => {
      for (const [operation, status] of [['getProducts', 401], ['getLocations', 403], ['getAvailability', 404], ['getProducts', 400], ['listPrefixes', 404], ['createIpAddress', 404]] as const) {
        const error = toAdapterError(new OpenMetalHttpError(operation, status, undefined, undefined))
        expect([operation, status, error.code, error.retryAfter]).toEqual([operation, status, '503.not-ready', 30])
      }
      // a 429 stays a 429; a 404 of one server's order or node is that server gone
      expect(toAdapterError(new OpenMetalHttpError('getProducts', 429, 7, undefined)).code).toBe('429.rate-limiting')
      for (const operation of ['getOrder', 'setPowerState'] as const) {
        expect(toAdapterError(new OpenMetalHttpError(operation, 404, undefined, undefined)).code).toBe('404.infrastructure.server')
      }
    })

    test('429 passes on OpenMetal\'s Retry-After, and has one without it', () => {
      expect(toAdapterError(new OpenMetalHttpError('listOrders', 429, 42, undefined)).retryAfter).toBe(42)
      expect(toAdapterError(new OpenMetalHttpError('listOrders', 429, undefined, undefined)).retryAfter).toEqual(expect.any(Number))
    })

    test('503 tells Cycle when to retry', () => {
      expect(toAdapterError(new OpenMetalHttpError('getOrder', 503, 12, undefined)).retryAfter).toBe(12)
      expect(toAdapterError(new OpenMetalHttpError('getOrder', 503, undefined, undefined)).retryAfter).toBeGreaterThan(0)
    })

    test('the upstream error is kept as the cause for logs', () => {
      const upstream = new OpenMetalHttpError('getOrder', 404, undefined, undefined)
      expect(toAdapterError(upstream).cause).toBe(upstream)
    })

    test('every upstream status 100..599 of every operation maps to a well-formed code', () => {
      fc.assert(fc.property(fc.constantFrom(...OPERATIONS), fc.integer({ min: 100, max: 599 }), fc.option(fc.nat(3600), { nil: undefined }), (operation, status, retryAfter) => {
        const error = toAdapterError(new OpenMetalHttpError(operation, status, retryAfter, undefined))
        expectWellFormed(error)
        expect(error.status).toBeGreaterThanOrEqual(400)
      }))
    })
  })

  describe('transport failures', () => {
    test.each<[TransportFailure, number, string]>([
      ['timeout', 504, '504.not-available'],
      ['deadline', 504, '504.not-available'],
      ['network', 503, '503.not-ready'],
      ['malformed', 503, '503.not-ready']
    ])('%s -> %i %s', (kind, status, code) => {
      const error = toAdapterError(new OpenMetalTransportError('getCloudStats', kind, new Error('ECONNRESET 10.0.0.7:443')))
      expect(error.status).toBe(status)
      expect(error.code).toBe(code)
      expect(error.detail).toContain('getCloudStats')
      expect(JSON.stringify(error.toBody())).not.toContain('10.0.0.7')
      expectWellFormed(error)
    })
  })

  describe('anything else', () => {
    test('a plain Error is 500.unknown, and the body carries neither its message nor its stack', () => {
      const original = new Error('password=hunter2 while reading /srv/adapter/secrets.json')
      const error = toAdapterError(original)
      expect(error.status).toBe(500)
      expect(error.code).toBe('500.unknown')
      const body = error.toBody()
      expect(Object.keys(body).sort()).toEqual(['code', 'status', 'title'])
      const wire = JSON.stringify(body)
      expect(wire).not.toContain('hunter2')
      expect(wire).not.toContain('secrets.json')
      expect(wire).not.toContain(original.stack?.split('\n')[1]?.trim() ?? 'no stack')
      expect(error.cause).toBe(original)
    })

    test.each([['a string', 'secret-string'], ['null', null], ['undefined', undefined], ['a number', 42], ['an object', { message: 'secret-object' }]])('a thrown %s is 500.unknown without its content', (_name, thrown) => {
      const error = toAdapterError(thrown)
      expect(error.code).toBe('500.unknown')
      expect(JSON.stringify(error.toBody())).not.toContain('secret')
    })

    test('an AdapterError passes through unchanged', () => {
      const original = Errors.locationNotFound({ detail: 'pod_99 is not an OpenMetal pod', source: '/request/location_id' })
      expect(toAdapterError(original)).toBe(original)
      expect(original.toBody()).toEqual({ status: 404, code: '404.infrastructure.location', title: 'Location not found', detail: 'pod_99 is not an OpenMetal pod', source: '/request/location_id' })
    })
  })

  describe('the catalog', () => {
    test('every entry has a well-formed code with its status prefix, with and without detail', () => {
      for (const make of Object.values(Errors)) {
        expectWellFormed(make())
        expectWellFormed(make({ detail: 'why' }))
        expectWellFormed(make({ source: '/request/x' }))
      }
    })

    test('toBody never includes undefined keys', () => {
      const error = new AdapterError(422, '422.invalid-argument', 'Bad', { detail: undefined, source: undefined })
      expect(Object.keys(error.toBody()).sort()).toEqual(['code', 'status', 'title'])
      expect(JSON.stringify(error.toBody())).toBe('{"status":422,"code":"422.invalid-argument","title":"Bad"}')
    })

    test('the Cycle codes the design names exist', () => {
      const codes = new Set(Object.values(Errors).map((make) => make().code))
      for (const code of ['400.invalid-syntax', '401.auth-invalid', '403.permissions', '404.infrastructure.server', '404.infrastructure.location', '404.infrastructure.model', '415.invalid-content-type', '422.missing-argument', '422.invalid-argument', '422.invalid-input', '422.not-compatible', '429.rate-limiting', '500.unknown', '503.not-ready', '504.not-available']) {
        expect(codes).toContain(code)
      }
    })
  })
})

/** The OpenMetal transport against a real HTTP server: retries, timeouts, failures. */
describe('src/openmetal/transport.ts', () => {
  describe('withinDeadline', () => {
    const later = <T>(ms: number, outcome: () => T): Promise<T> => new Promise((resolve, reject) => setTimeout(() => { try { resolve(outcome()) } catch (error) { reject(error) } }, ms))

    test('a caller leaves at its deadline with a deadline failure; the shared call goes on for the others', async () => {
      const shared = later(80, () => 'token')
      const failure = await withinDeadline(shared, AbortSignal.timeout(20), 'exchangeToken').catch((error: unknown) => error)
      expect(failure).toMatchObject({ name: 'OpenMetalTransportError', kind: 'deadline', operation: 'exchangeToken' })
      expect(await withinDeadline(shared, AbortSignal.timeout(1000), 'exchangeToken')).toBe('token')
    })

    test('a shared call failing after every caller left (or after one came already too late) is no unhandled rejection', async () => {
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
      process.on('unhandledRejection', onUnhandled)
      try {
        const spent = AbortSignal.abort()
        await expect(withinDeadline(later(10, () => { throw new Error('upstream failed') }), spent, 'getOrder')).rejects.toMatchObject({ kind: 'deadline' })
        await expect(withinDeadline(later(30, () => { throw new Error('upstream failed') }), AbortSignal.timeout(5), 'getOrder')).rejects.toMatchObject({ kind: 'deadline' })
        await new Promise((resolve) => setTimeout(resolve, 60))
        expect(unhandled).toEqual([])
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
    })
  })

  interface Seen { method: string, url: string, headers: IncomingMessage['headers'], body: string }

  type Handler = (request: IncomingMessage, response: ServerResponse, hit: number) => void

  let server: Server
  let baseUrl = ''
  let handler: Handler = (_request, response) => { response.end('{}') }
  let seen: Seen[] = []
  const opened: OpenMetalTransport[] = []

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = ''
      request.setEncoding('utf8')
      request.on('data', (chunk: string) => { body += chunk })
      request.on('end', () => {
        seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
        handler(request, response, seen.length)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  beforeEach(() => { seen = [] })

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((transport) => transport.close()))
    server.closeAllConnections()
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  function json (status: number, body: unknown = {}, headers: Record<string, string> = {}): (response: ServerResponse) => void {
    return (response) => { response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body)) }
  }

  /** Answers in turn; the last answer repeats. */
  function sequence (...answers: Array<(response: ServerResponse) => void>): Handler {
    return (_request, response, hit) => { (answers[Math.min(hit, answers.length) - 1] ?? json(500))(response) }
  }

  function transport (options: Partial<TransportOptions> = {}) {
    const calls: Array<{ operation: string, status: number | string }> = []
    const retries: Array<{ operation: string, reason: string }> = []
    const created = new OpenMetalTransport({
      baseUrl,
      connections: 4,
      tenantConcurrency: 3,
      tenantQueue: 16,
      attemptTimeoutMs: 2000,
      maxAttempts: 3,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
      random: () => 0,
      observer: {
        call: (operation, status) => { calls.push({ operation, status }) },
        retry: (operation, reason) => { retries.push({ operation, reason }) }
      },
      ...options
    })
    opened.push(created)
    return { created, calls, retries }
  }

  async function failureOf (promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise
    } catch (error) {
      return error
    }
    throw new Error('expected the call to fail')
  }

  const getOrder: UpstreamCall = { operation: 'getOrder', method: 'GET', path: '/v1/orders/ORD1' }

  describe('successful calls', () => {
    test('GET returns status and parsed body, sending accept and authorization', async () => {
      handler = sequence(json(200, { id: 'ORD1', is_active: true }))
      const { created } = transport()
      expect(await created.send({ ...getOrder, authorization: 'Bearer t0k', query: { page: '2' } })).toMatchObject({ status: 200, body: { id: 'ORD1', is_active: true } })
      expect(seen).toHaveLength(1)
      expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/orders/ORD1?page=2', headers: { accept: 'application/json', authorization: 'Bearer t0k' } })
    })

    test('POST sends its body as JSON', async () => {
      handler = sequence(json(201, { id: 'ORD2' }))
      const { created } = transport()
      const body = { label: 'cycle:h:s', fields: { items: [] } }
      expect(await created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body })).toMatchObject({ status: 201, body: { id: 'ORD2' } })
      expect(seen[0]?.headers['content-type']).toBe('application/json')
      expect(JSON.parse(seen[0]?.body ?? '')).toEqual(body)
    })

    test('an empty success body is null', async () => {
      handler = (_request, response) => { response.writeHead(204).end() }
      expect(await transport().created.send({ operation: 'deleteCloud', method: 'DELETE', path: '/v1/clouds/C1' })).toMatchObject({ status: 204, body: null })
    })

    test('the trace of the inbound request records every attempt', async () => {
      handler = sequence(json(503), json(200))
      const trace: UpstreamTrace[] = []
      await transport().created.send({ ...getOrder, trace })
      expect(trace.map((entry) => [entry.operation, entry.status])).toEqual([['getOrder', 503], ['getOrder', 200]])
      for (const entry of trace) expect(Number.isInteger(entry.ms) && entry.ms >= 0).toBe(true)
    })
  })

  describe('retries', () => {
    test('a GET is retried on 503 and then succeeds; the observer sees every attempt and retry', async () => {
      handler = sequence(json(503), json(503), json(200, { ok: true }))
      const { created, calls, retries } = transport()
      expect(await created.send(getOrder)).toMatchObject({ status: 200, body: { ok: true } })
      expect(seen).toHaveLength(3)
      expect(calls).toEqual([{ operation: 'getOrder', status: 503 }, { operation: 'getOrder', status: 503 }, { operation: 'getOrder', status: 200 }])
      expect(retries).toEqual([{ operation: 'getOrder', reason: '503' }, { operation: 'getOrder', reason: '503' }])
    })

    test.each([429, 502, 504])('a GET is retried on %i', async (status) => {
      handler = sequence(json(status, {}, { 'retry-after': '0' }), json(200))
      expect((await transport().created.send(getOrder)).status).toBe(200)
      expect(seen).toHaveLength(2)
    })

    test('a POST answered 503 is not repeated and fails with the status', async () => {
      handler = sequence(json(503, { error: 'maintenance' }, { 'x-request-id': 'req-42' }))
      const { created, retries } = transport()
      const error = await failureOf(created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} }))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status: 503, operation: 'createOrder', upstreamRequestId: 'req-42' })
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })

    test('a POST declared idempotent is retried', async () => {
      handler = sequence(json(503), json(200, { result: 'ok' }))
      const response = await transport().created.send({ operation: 'setPowerState', method: 'POST', path: '/v1/x', body: {}, idempotent: true })
      expect(response.body).toEqual({ result: 'ok' })
      expect(seen).toHaveLength(2)
    })

    test('a DELETE is retried by default', async () => {
      handler = sequence(json(502), json(200))
      await transport().created.send({ operation: 'deleteCloud', method: 'DELETE', path: '/v1/clouds/C1' })
      expect(seen.map((request) => request.method)).toEqual(['DELETE', 'DELETE'])
    })

    test('a GET that keeps failing stops after maxAttempts with the last status and its Retry-After', async () => {
      handler = sequence(json(503, {}, { 'retry-after': '0' }), json(503, {}, { 'retry-after': '0' }), json(503, {}, { 'retry-after': '7' }))
      const error = await failureOf(transport().created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status: 503, retryAfter: 7 })
      expect(seen).toHaveLength(3)
    })

    test('429 with Retry-After: 0 is retried at once', async () => {
      handler = sequence(json(429, {}, { 'retry-after': '0' }), json(200))
      const started = performance.now()
      await transport().created.send(getOrder)
      expect(seen).toHaveLength(2)
      expect(performance.now() - started).toBeLessThan(1000)
    })

    test('the wait before a retry is at least Retry-After (here cut short by the deadline)', async () => {
      // random() = 0 means no jitter: only Retry-After can delay the second attempt
      handler = sequence(json(429, {}, { 'retry-after': '1' }), json(200))
      const started = performance.now()
      const error = await failureOf(transport({ retryMaxDelayMs: 5000 }).created.send({ ...getOrder, signal: AbortSignal.timeout(100) }))
      expect(error).toMatchObject({ kind: 'deadline' })
      expect(seen).toHaveLength(1)
      expect(performance.now() - started).toBeGreaterThanOrEqual(90)
      expect(performance.now() - started).toBeLessThan(900)
    })

    test('a Retry-After longer than the longest backoff is left to Cycle: no retry, the wait travels up', async () => {
      handler = sequence(json(429, {}, { 'retry-after': '30' }), json(200))
      const error = await failureOf(transport().created.send(getOrder))
      expect(error).toMatchObject({ status: 429, retryAfter: 30 })
      expect(seen).toHaveLength(1)
    })

    test.each([400, 401, 403, 404, 409, 422, 500])('%i is not retried', async (status) => {
      handler = sequence(json(status, '<html>not json</html>'), json(200))
      const { created, retries } = transport()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status, operation: 'getOrder' })
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })
  })

  describe('transport failures', () => {
    test('an upstream that never answers: kind timeout after maxAttempts attempts of a GET', async () => {
      handler = () => undefined
      const { created, retries } = transport({ attemptTimeoutMs: 100, maxAttempts: 2 })
      const started = performance.now()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'timeout', operation: 'getOrder', ambiguous: true })
      expect(seen).toHaveLength(2)
      expect(retries).toEqual([{ operation: 'getOrder', reason: 'timeout' }])
      expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    })

    test('a POST that times out is not repeated (OpenMetal may have acted on it)', async () => {
      handler = () => undefined
      const error = await failureOf(transport({ attemptTimeoutMs: 100 }).created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} }))
      expect(error).toMatchObject({ kind: 'timeout', ambiguous: true })
      expect(seen).toHaveLength(1)
    })

    test('a refused connection is kind network, retried for a GET', async () => {
      const closed = createServer()
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
      const port = (closed.address() as AddressInfo).port
      await new Promise((resolve) => closed.close(resolve))
      const { created, retries, calls } = transport({ baseUrl: `http://127.0.0.1:${port}` })
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'network', ambiguous: true })
      expect(retries.map((retry) => retry.reason)).toEqual(['network', 'network'])
      expect(calls.map((call) => call.status)).toEqual(['network', 'network', 'network'])
    })

    test('invalid JSON in a 200 is kind malformed, not retried', async () => {
      handler = sequence(json(200, '{"id": "ORD1", '), json(200))
      const { created, calls } = transport()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'malformed', ambiguous: false })
      expect(seen).toHaveLength(1)
      expect(calls).toEqual([{ operation: 'getOrder', status: 'malformed' }])
    })

    test('an already-aborted deadline is kind deadline, with no retry', async () => {
      handler = sequence(json(200))
      const { created, retries } = transport()
      const error = await failureOf(created.send({ ...getOrder, signal: AbortSignal.abort() }))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'deadline' })
      expect(seen.length).toBeLessThanOrEqual(1)
      expect(retries).toEqual([])
    })

    test('a deadline that ends during an attempt is kind deadline, even though attempts remain', async () => {
      handler = () => undefined
      const { created, retries } = transport({ attemptTimeoutMs: 5000 })
      const error = await failureOf(created.send({ ...getOrder, signal: AbortSignal.timeout(80) }))
      expect(error).toMatchObject({ kind: 'deadline' })
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })
  })

  describe('openMetalPath', () => {
    test('encodes every parameter', () => {
      expect(openMetalPath('/v1/clouds/{cloudId}', { cloudId: 'a/b' })).toBe('/v1/clouds/a%2Fb')
      expect(openMetalPath('/v1/clouds/{cloudId}', { cloudId: 'x?y#z w' })).toBe('/v1/clouds/x%3Fy%23z%20w')
      expect(openMetalPath('/v1/deployment/network/prefixes/{prefixId}/ip/{ipId}', { prefixId: 'PFX1', ipId: 42 })).toBe('/v1/deployment/network/prefixes/PFX1/ip/42')
      expect(openMetalPath('/v1/deployment/cloud/{cloudId}/node/{nodeUuid}/power', { cloudId: 'C/1', nodeUuid: '3f2b8c1e-7d4a' })).toBe('/v1/deployment/cloud/C%2F1/node/3f2b8c1e-7d4a/power')
    })

    test('a path without parameters is unchanged', () => {
      expect(openMetalPath('/v1/orders', {})).toBe('/v1/orders')
    })
  })

  describe('parseRetryAfter', () => {
    const now = Date.parse('2026-11-22T12:00:00Z')

    test.each<[string | string[] | undefined, number | undefined]>([
      ['0', 0],
      ['5', 5],
      [' 120 ', 120],
      [['3', '9'], 3],
      [undefined, undefined],
      ['', undefined],
      ['   ', undefined],
      ['garbage', undefined],
      ['soon', undefined]
    ])('%j -> %j', (value, expected) => {
      expect(parseRetryAfter(value, now)).toBe(expected)
    })

    test('an HTTP date gives the whole seconds until then', () => {
      expect(parseRetryAfter('Sun, 22 Nov 2026 12:00:30 GMT', now)).toBe(30)
      expect(parseRetryAfter(new Date(now + 1500).toUTCString(), now)).toBe(1)
    })

    test('an HTTP date in the past is 0, never negative', () => {
      expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0)
    })
  })
})
