/** Unit tests of src/config.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { ConfigError, ENVIRONMENT, describeType, loadConfig, PRODUCTION_API_URL, readSetting, SANDBOX_API_URL } from '../../src/config.ts'
import type { EnvName, Kind, SettingType } from '../../src/config.ts'
import { HUB_SSH_PUBLIC_KEY } from '../helpers/fixtures.ts'

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
      const defaults = Object.fromEntries(Object.entries(ENVIRONMENT).map(([name, { default: value }]) => [name, value]))
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
      const key = HUB_SSH_PUBLIC_KEY
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

    test('every whole-number setting is held to the range its table entry gives, one below and one above it refused naming it', () => {
      const ranged = (Object.keys(ENVIRONMENT) as EnvName[]).flatMap((name) => {
        const { type } = ENVIRONMENT[name]
        return type.kind === 'integer' ? [{ name, range: [type.min, type.max] as const }] : []
      })
      expect(ranged.length).toBeGreaterThan(15)
      for (const { name, range: [min, max] } of ranged) {
        if (min > 0) expect(failure({ [name]: String(min - 1) }).message, name).toBe(`${name} must be an integer from ${min} to ${max}, got "${min - 1}"`)
        expect(failure({ [name]: String(max + 1) }).message, name).toMatch(new RegExp(`^${name} must be `))
      }
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

    test('the coordinator: a PostgreSQL URL, never repeated in the message; a lease that outlasts the deadline; required means a URL', () => {
      const url = 'postgres://ial:s3cret-pass@db.internal:5432/ial'
      expect(loadConfig({ DATABASE_URL: url })).toMatchObject({ databaseUrl: url, coordinationLeaseMs: 120_000, coordinationRequired: false })
      expect(loadConfig({})).toMatchObject({ databaseUrl: undefined })
      for (const bad of ['mysql://ial:s3cret-pass@db/ial', 'postgres://ial:s3cret-pass@', 's3cret-pass']) {
        const error = failure({ DATABASE_URL: bad })
        expect(error.message).toMatch(/^DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/)
        expect(error.message).not.toContain('s3cret')
      }
      expect(failure({ REQUEST_DEADLINE_MS: '25000', COORDINATION_LEASE_MS: '29999' }).message).toBe('COORDINATION_LEASE_MS must be at least REQUEST_DEADLINE_MS + 5000 (30000): a lease must outlast the purchase it guards, got 29999')
      expect(loadConfig({ REQUEST_DEADLINE_MS: '25000', COORDINATION_LEASE_MS: '30000' }).coordinationLeaseMs).toBe(30_000)
      expect(failure({ COORDINATION_REQUIRED: 'true' }).message).toBe('COORDINATION_REQUIRED is true, so DATABASE_URL must name the PostgreSQL coordinator')
      expect(loadConfig({ COORDINATION_REQUIRED: 'true', DATABASE_URL: url }).coordinationRequired).toBe(true)
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

  describe('the ENVIRONMENT table and the loader agree', () => {
    const entries: ReadonlyArray<{ name: EnvName, type: SettingType, fallback: string }> = (Object.keys(ENVIRONMENT) as EnvName[])
      .map((name) => ({ name, type: ENVIRONMENT[name].type, fallback: ENVIRONMENT[name].default }))

    /** For each kind, values outside it, that every setting of the kind must refuse (a kind taking any text has none). */
    const OUTSIDE: { readonly [K in Kind]: (type: SettingType<K>) => readonly string[] } = {
      integer: ({ min, max }) => [...(min > 0 ? [String(min - 1)] : []), String(max + 1), 'abc', '-1', '1.5', '1e3', '0x10'],
      flag: () => ['yes', 'TRUE', '1', 'off'],
      origin: () => ['ftp://x', 'https://x/path', 'https://x/?token=1', 'https://user:secret@x', 'x.example'],
      enum: ({ choices }) => ['nope', choices[0].toUpperCase()],
      list: () => ['ok,bad/id', 'has space', 'x'.repeat(65)],
      'ssh-public-key': () => ['garbage', 'ssh-ed25519'],
      id: () => ['../x', 'has space', 'x'.repeat(65)],
      'postgres-url': () => ['mysql://user:secret@db/ial', 'postgres://user:secret@', 'secret'],
      proxies: () => ['everyone', 'yes', '10.0.0.0/99', '300.1.2.3', ','],
      text: () => [],
      file: () => []
    }
    function outside<K extends Kind> (type: SettingType<K>): readonly string[] {
      const values: (type: SettingType<K>) => readonly string[] = OUTSIDE[type.kind]
      return values(type)
    }

    test('every kind is a setting\'s, and each setting\'s default parses as its kind', () => {
      expect(new Set(entries.map(({ type }) => type.kind))).toEqual(new Set(Object.keys(OUTSIDE)))
      for (const { name, fallback } of entries) {
        expect(() => readSetting({ [name]: fallback }, name), name).not.toThrow()
        expect(readSetting({ [name]: fallback }, name), name).toEqual(readSetting({}, name))
      }
    })

    test.each(entries.map((entry) => [entry.name, entry.type.kind, entry]))('%s (%s): a value outside its kind is refused, naming it, by the loader and the reader alike', (_name, _kind, { name, type }) => {
      for (const value of outside(type)) {
        const error = failure({ [name]: value })
        expect(error.message, value).toMatch(new RegExp(`^${name} (must|has) `))
        expect(() => readSetting({ [name]: value }, name), value).toThrow(error.message)
        // a connection string is never repeated: it holds a password
        if (type.kind === 'postgres-url') expect(error.message).not.toContain('secret')
      }
    })

    test('the message of a refused whole number, flag or choice says what --help says the value must be', () => {
      for (const { name, type } of entries) {
        if (type.kind === 'integer') expect(failure({ [name]: 'abc' }).message, name).toBe(`${name} must be an integer from ${type.min} to ${type.max}, got "abc"`)
        if (type.kind === 'integer' && type.relation === undefined) expect(describeType(type), name).toBe(`an integer from ${type.min} to ${type.max}`)
        if (type.kind === 'flag' || type.kind === 'enum') expect(failure({ [name]: 'nope' }).message, name).toBe(`${name} must be ${describeType(type)}, got "nope"`)
      }
      expect(describeType(ENVIRONMENT.LOG_FORMAT.type)).toBe('json or pretty')
      expect(describeType(ENVIRONMENT.LOG_LEVEL.type)).toBe('one of fatal, error, warn, info, debug, trace, silent')
      expect(describeType(ENVIRONMENT.COORDINATION_REQUIRED.type)).toBe('true or false')
      for (const level of ENVIRONMENT.LOG_LEVEL.type.choices) expect(readSetting({ LOG_LEVEL: level }, 'LOG_LEVEL')).toBe(level)
    })

    test('each relation the table gives is held naming both settings, and --help says it', () => {
      const related = entries.flatMap(({ name, type }) => type.kind === 'integer' && type.relation !== undefined ? [{ name, relation: type.relation, type }] : [])
      expect(related.map(({ name }) => name)).toEqual(['HEADERS_TIMEOUT_MS', 'MAX_CONNECTIONS_PER_ADDRESS', 'RATE_LIMIT_PER_ADDRESS_PER_MINUTE'])
      for (const { name, relation, type } of related) {
        const other = ENVIRONMENT[relation.than]
        // a relation names a whole number without one of its own: reading it cannot go round in circles
        expect(other.type.relation, name).toBeUndefined()
        const bound = Number(other.default)
        const past = relation.is === 'at most' ? bound + 1 : bound - 1
        expect(failure({ [name]: String(past) }).message).toBe(`${name} must be ${relation.is} ${relation.than} (${bound}), got ${past}`)
        expect(readSetting({ [name]: String(bound) }, name)).toBe(bound)
        if (relation.unless !== undefined) expect(readSetting({ [name]: String(relation.unless), [relation.than]: String(other.type.max) }, name)).toBe(relation.unless)
        expect(describeType(type)).toBe(`an integer from ${type.min} to ${type.max}, ${relation.is} ${relation.than}${relation.unless === undefined ? '' : ` unless ${relation.unless}`}`)
      }
    })
  })
})
