/**
 * The adapter's configuration: read from the environment once, validated, and failed fast
 * with a message that names the variable. Nothing else reads process.env.
 */
import proxyAddr from '@fastify/proxy-addr'

import { readFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey } from 'node:crypto'

export const PRODUCTION_API_URL = 'https://api.central.openmetal.io'
export const SANDBOX_API_URL = 'https://sandbox.api.central.openmetal.io'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export interface Config {
  readonly port: number
  readonly host: string
  readonly logLevel: LogLevel
  readonly openMetalApiUrl: string
  readonly deploymentConfiguration: string | undefined
  readonly sshPublicKey: string | undefined
  readonly sshKeyIds: readonly string[]
  readonly upstreamTimeoutMs: number
  readonly upstreamConnections: number
  readonly upstreamTenantConcurrency: number
  readonly upstreamTenantQueue: number
  readonly upstreamMaxAttempts: number
  readonly upstreamMaxAnswerBytes: number
  readonly requestDeadlineMs: number
  readonly catalogTtlMs: number
  readonly bodyLimitBytes: number
  readonly requestTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  readonly maxConnections: number
  readonly maxConnectionsPerAddress: number
  readonly silentConnectionTimeoutMs: number
  readonly rateLimitPerMinute: number
  readonly rateLimitPerAddressPerMinute: number
  readonly allowedHubIds: readonly string[]
  readonly tls: { readonly certFile: string, readonly keyFile: string } | undefined
  readonly shutdownGraceMs: number
  readonly logPretty: boolean
  readonly trustProxy: boolean | number | string[]
  readonly ipBlockPurchase: boolean
  readonly ipBlocksPerServerMax: number
  /** PostgreSQL connection string of the coordinator; undefined: in-process coordination (one replica). Never logged. */
  readonly databaseUrl: string | undefined
  readonly coordinationLeaseMs: number
  readonly coordinationRequired: boolean
}

/**
 * How much longer than a request's deadline a lease must last: the holder may look for a lost
 * create past its deadline (RECOVERY_GRACE_MS in openmetal/labelled-writes.ts, 3 s), and the
 * lease must still be held while it does.
 */
export const LEASE_OVER_DEADLINE_MS = 5000

/** A whole number held at most (or at least) another whole-number setting `than`, except when it is `unless` (0: off). */
interface Relation<Than extends string> {
  readonly is: 'at most' | 'at least'
  readonly than: Than
  readonly unless?: number
}

/** What a value (or each item of a list) must match, and how --help words it. */
interface Pattern {
  readonly pattern: RegExp
  readonly description: string
}

/** What a setting of each kind carries beside its kind (`Than`: the names a relation may give). */
interface Fields<Than extends string> {
  integer: { readonly min: number, readonly max: number, readonly relation?: Relation<Than> }
  flag: Record<never, never>
  /** an http(s) origin (OPENMETAL_API_URL), without credentials, path or query */
  origin: Record<never, never>
  enum: { readonly choices: readonly [string, string, ...string[]] }
  /** comma-separated `items`, each matching `item`; empty: none */
  list: { readonly items: string, readonly item: Pattern }
  /** empty: unset */
  'ssh-public-key': Record<never, never>
  /** `what` (an OpenMetal configuration ID), matching `item`; empty: unset */
  id: { readonly what: string, readonly item: Pattern }
  /** a PostgreSQL connection string, never repeated in a message (it holds a password); empty: unset */
  'postgres-url': Record<never, never>
  /** TRUST_PROXY: true, false, a hop count, or addresses/CIDRs as proxy-addr takes them */
  proxies: Record<never, never>
  /** any text, `what` says what it should be */
  text: { readonly what: string }
  /** a file's path; empty: unset */
  file: Record<never, never>
}

/** What a setting of each kind is parsed to (an enum: one of its choices, see SettingValue). */
interface Values {
  integer: number
  flag: boolean
  origin: string
  enum: string
  list: string[]
  'ssh-public-key': string | undefined
  id: string | undefined
  'postgres-url': string | undefined
  proxies: boolean | number | string[]
  text: string
  file: string | undefined
}

export type Kind = keyof Fields<string>

/** A setting's type: its kind and what that kind carries. */
type Descriptor<Than extends string, K extends Kind = Kind> = { [P in K]: { readonly kind: P } & Fields<Than>[P] }[K]

/** A whole number from `min` to `max` (both included), maybe bound by another whole number. */
function integer<const Than extends string = never> (min: number, max: number, relation?: Relation<Than>): Descriptor<Than, 'integer'> {
  return relation === undefined ? { kind: 'integer', min, max } : { kind: 'integer', min, max, relation }
}
function flag (): Descriptor<never, 'flag'> { return { kind: 'flag' } }
function origin (): Descriptor<never, 'origin'> { return { kind: 'origin' } }
function oneOf<const C extends readonly [string, string, ...string[]]> (choices: C): Descriptor<never, 'enum'> & { readonly choices: C } {
  return { kind: 'enum', choices }
}
function list (items: string, item: Pattern): Descriptor<never, 'list'> { return { kind: 'list', items, item } }
function sshPublicKey (): Descriptor<never, 'ssh-public-key'> { return { kind: 'ssh-public-key' } }
function id (what: string, item: Pattern): Descriptor<never, 'id'> { return { kind: 'id', what, item } }
function postgresUrl (): Descriptor<never, 'postgres-url'> { return { kind: 'postgres-url' } }
function proxies (): Descriptor<never, 'proxies'> { return { kind: 'proxies' } }
function text (what: string): Descriptor<never, 'text'> { return { kind: 'text', what } }
function file (): Descriptor<never, 'file'> { return { kind: 'file' } }

/**
 * A setting: its type, its default ('' = unset) and its meaning. The one table the loader,
 * `--help`, .env.example and the README are held to.
 */
interface Setting<Than extends string> {
  readonly type: Descriptor<Than>
  readonly default: string
  readonly help: string
}

/** The names of a table's whole-number settings: what a relation may name. */
type IntegerNames<E> = { [N in keyof E]: E[N] extends { readonly type: { readonly kind: 'integer' } } ? N : never }[keyof E] & string

/** The table as written, checked to relate whole numbers only to whole numbers of the same table. */
function table<const E extends { readonly [N in keyof E]: Setting<IntegerNames<E>> }> (entries: E): E {
  return entries
}

/** The IDs OpenMetal and Cycle give their objects, as the settings that name them accept them. */
const ID: Pattern = { pattern: /^[A-Za-z0-9_-]{1,64}$/, description: '1 to 64 letters, digits, _ or -' }

/** Every variable the loader reads (kept in step with .env.example, the README and the ConfigMap by tests). */
export const ENVIRONMENT = table({
  PORT: { type: integer(0, 65_535), default: '8080', help: 'TCP port to listen on' },
  HOST: { type: text('a host name or IP address'), default: '0.0.0.0', help: 'interface to listen on' },
  LOG_LEVEL: { type: oneOf(LOG_LEVELS), default: 'info', help: 'pino level: fatal, error, warn, info, debug, trace or silent' },
  OPENMETAL_API_URL: { type: origin(), default: PRODUCTION_API_URL, help: `OpenMetal Central API base URL (sandbox: ${SANDBOX_API_URL})` },
  OPENMETAL_DEPLOYMENT_CONFIGURATION: { type: id('an OpenMetal configuration ID', ID), default: '', help: 'ID of the OpenMetal deployment configuration (CycleOS ramdisk) used for new servers' },
  OPENMETAL_SSH_PUBLIC_KEY: { type: sshPublicKey(), default: '', help: 'SSH public key installed on new servers' },
  OPENMETAL_SSH_KEY_IDS: { type: list('SSH key IDs', ID), default: '', help: 'comma-separated IDs of SSH keys saved at OpenMetal (alternative to OPENMETAL_SSH_PUBLIC_KEY)' },
  OPENMETAL_TIMEOUT_MS: { type: integer(100, 120_000), default: '10000', help: 'timeout of one attempt of one OpenMetal call' },
  OPENMETAL_CONNECTIONS: { type: integer(1, 1024), default: '32', help: 'keep-alive connections to OpenMetal per replica' },
  OPENMETAL_TENANT_CONCURRENCY: { type: integer(1, 1023), default: '8', help: 'OpenMetal calls one tenant (one set of credentials) may have under way at once per replica; below OPENMETAL_CONNECTIONS' },
  OPENMETAL_TENANT_QUEUE: { type: integer(0, 100_000), default: '64', help: 'OpenMetal calls one tenant may have waiting for a turn; past that its requests get 503.not-ready with Retry-After' },
  OPENMETAL_MAX_ATTEMPTS: { type: integer(1, 10), default: '3', help: 'attempts for calls that are safe to repeat' },
  OPENMETAL_MAX_ANSWER_BYTES: { type: integer(65_536, 134_217_728), default: '4194304', help: 'largest OpenMetal answer read, in bytes (65536 to 134217728); a larger one is cut off unread and its call fails with 503.not-ready' },
  REQUEST_DEADLINE_MS: { type: integer(1000, 300_000), default: '25000', help: 'overall deadline of one Cycle call; keep it below Cycle\'s own client timeout' },
  CATALOG_TTL_MS: { type: integer(0, 3_600_000), default: '60000', help: 'how long the public catalog (pods, products, stock) is reused' },
  BODY_LIMIT_BYTES: { type: integer(1024, 16 * 1024 * 1024), default: '131072', help: 'largest accepted request body' },
  REQUEST_TIMEOUT_MS: { type: integer(500, 600_000), default: '30000', help: 'longest time a client may take to send one whole request, headers and body' },
  HEADERS_TIMEOUT_MS: { type: integer(500, 600_000, { is: 'at most', than: 'REQUEST_TIMEOUT_MS' }), default: '10000', help: 'longest time a client may take to send the headers of one request (at most REQUEST_TIMEOUT_MS)' },
  KEEP_ALIVE_TIMEOUT_MS: { type: integer(500, 600_000), default: '72000', help: 'how long an idle keep-alive connection stays open; keep it above the idle timeout of any load balancer in front' },
  MAX_CONNECTIONS: { type: integer(1, 1_000_000), default: '4096', help: 'open connections per replica, all clients together' },
  MAX_CONNECTIONS_PER_ADDRESS: { type: integer(1, 1_000_000, { is: 'at most', than: 'MAX_CONNECTIONS' }), default: '1024', help: 'open connections per client address and replica (not applied to the proxies TRUST_PROXY names)' },
  SILENT_CONNECTION_TIMEOUT_MS: { type: integer(500, 600_000), default: '2000', help: 'how long a new connection may send nothing at all before it is closed (not applied to the proxies TRUST_PROXY names, which may open connections ahead of use)' },
  RATE_LIMIT_PER_MINUTE: { type: integer(0, 1_000_000), default: '1200', help: 'IAL requests per minute per Cycle hub and client address (0 disables this limit)' },
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: { type: integer(0, 10_000_000, { is: 'at least', than: 'RATE_LIMIT_PER_MINUTE', unless: 0 }), default: '6000', help: 'IAL requests per minute per client address, all hubs together (at least RATE_LIMIT_PER_MINUTE; 0 disables this ceiling)' },
  IAL_ALLOWED_HUB_IDS: { type: list('Cycle hub IDs', ID), default: '', help: 'comma-separated Cycle hub IDs allowed to call; empty allows every hub' },
  TLS_CERT_FILE: { type: file(), default: '', help: 'PEM certificate for native HTTPS (with TLS_KEY_FILE); empty serves plain HTTP' },
  TLS_KEY_FILE: { type: file(), default: '', help: 'PEM private key for native HTTPS (with TLS_CERT_FILE)' },
  SHUTDOWN_GRACE_MS: { type: integer(0, 600_000), default: '10000', help: 'on SIGTERM/SIGINT, how long in-flight requests may take to finish' },
  LOG_FORMAT: { type: oneOf(['json', 'pretty']), default: 'json', help: 'json (for machines) or pretty (for a human at a terminal)' },
  OPENMETAL_IP_BLOCK_PURCHASE: { type: flag(), default: 'false', help: 'true: buy a routed /28 for a server whose IP blocks are full (costs money; a hub may override with ip_block_purchase in auth.config)' },
  OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: { type: integer(0, 64), default: '2', help: 'most IP blocks bought for one server' },
  DATABASE_URL: { type: postgresUrl(), default: '', help: 'postgres://user:password@host:5432/db of the PostgreSQL coordinator that lets several replicas buy each server once; empty: in-process coordination, run one replica' },
  COORDINATION_LEASE_MS: { type: integer(1000, 86_400_000), default: '120000', help: `how long a purchase's lease lasts when its outcome is unknown (a lost answer, a replica killed): a retry waits that long, then looks before buying; at least REQUEST_DEADLINE_MS + ${LEASE_OVER_DEADLINE_MS}` },
  COORDINATION_REQUIRED: { type: flag(), default: 'false', help: 'true: refuse to start without a reachable coordinator (DATABASE_URL); set it wherever more than one replica may run' },
  TRUST_PROXY: { type: proxies(), default: 'false', help: 'behind a load balancer: its comma-separated addresses/CIDRs, so rate limits, connection caps and logs see the client address (true or a hop count also believe clients that connect directly)' }
})

export type EnvName = keyof typeof ENVIRONMENT
type IntegerName = IntegerNames<typeof ENVIRONMENT>

/** A setting's type as the readers see it: a relation names a whole-number setting of the table. */
export type SettingType<K extends Kind = Kind> = Descriptor<IntegerName, K>

/** What a setting is parsed to: from its table entry's type (an enum's value is one of its choices). */
export type SettingValue<N extends EnvName> = ValueOf<(typeof ENVIRONMENT)[N]['type']>
type ValueOf<T> = T extends { readonly kind: 'enum', readonly choices: ReadonlyArray<infer C> } ? C : T extends { readonly kind: infer K extends Kind } ? Values[K] : never

export class ConfigError extends Error {
  readonly variable: EnvName
  /** what is wrong with it, in words that follow its name */
  readonly problem: string

  constructor (variable: EnvName, problem: string) {
    super(`${variable} ${problem}`)
    this.name = 'ConfigError'
    this.variable = variable
    this.problem = problem
  }
}

type Env = Readonly<Record<string, string | undefined>>

/** How --help describes a kind's values, and how a value of that kind is parsed (refused with a ConfigError naming `name`). */
interface KindOfSetting<K extends Kind> {
  readonly describe: (type: SettingType<K>) => string
  readonly parse: (text: string, type: SettingType<K>, name: EnvName, env: Env) => Values[K]
}

function range (type: SettingType<'integer'>): string {
  return `an integer from ${type.min} to ${type.max}`
}

function either (choices: readonly string[]): string {
  return choices.length === 2 ? choices.join(' or ') : `one of ${choices.join(', ')}`
}

/** The kinds whose empty value means unset. */
type Optional = { [K in Kind]: undefined extends Values[K] ? K : never }[Kind]

/** An optional kind's parser: empty is unset, anything else `parse` reads. */
function unlessEmpty<K extends Optional> (parse: (text: string, type: SettingType<K>, name: EnvName) => string): KindOfSetting<K>['parse'] {
  return (text, type, name) => text === '' ? undefined : parse(text, type, name)
}

/** The non-empty items of a comma-separated value, trimmed. */
function commaSeparated (text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/** A URL, or the ConfigError `refused` gives (it words the message: some URLs must not be repeated). */
function urlOf (text: string, refused: () => ConfigError): URL {
  try {
    return new URL(text)
  } catch {
    throw refused()
  }
}

/** One entry per kind: a kind without its parser, or its --help wording, does not compile. */
const KINDS: { readonly [K in Kind]: KindOfSetting<K> } = {
  integer: {
    describe: (type) => {
      const { relation } = type
      if (relation === undefined) return range(type)
      return `${range(type)}, ${relation.is} ${relation.than}${relation.unless === undefined ? '' : ` unless ${relation.unless}`}`
    },
    parse: (text, type, name, env) => {
      const value = Number(text)
      if (!/^\d+$/.test(text) || value < type.min || value > type.max) throw new ConfigError(name, `must be ${range(type)}, got "${text}"`)
      const relation = type.relation
      if (relation === undefined || value === relation.unless) return value
      const bound = readSetting(env, relation.than)
      if (relation.is === 'at most' ? value > bound : value < bound) throw new ConfigError(name, `must be ${relation.is} ${relation.than} (${bound}), got ${value}`)
      return value
    }
  },
  flag: {
    describe: () => 'true or false',
    parse: (text, _type, name) => {
      if (text !== 'true' && text !== 'false') throw new ConfigError(name, `must be true or false, got "${text}"`)
      return text === 'true'
    }
  },
  origin: {
    describe: () => 'an http(s) origin, without path or query',
    parse: (text, _type, name) => {
      const parsed = urlOf(text, () => new ConfigError(name, 'must be an http(s) URL'))
      if (parsed.username !== '' || parsed.password !== '') throw new ConfigError(name, 'must not carry credentials')
      if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.pathname !== '/' || parsed.search !== '') {
        throw new ConfigError(name, `must be an http(s) origin without path or query, got "${parsed.origin}${parsed.pathname}"`)
      }
      return parsed.origin
    }
  },
  enum: {
    describe: ({ choices }) => either(choices),
    parse: (text, { choices }, name) => {
      if (!choices.includes(text)) throw new ConfigError(name, `must be ${either(choices)}, got "${text}"`)
      return text
    }
  },
  list: {
    describe: ({ items, item }) => `comma-separated ${items}, each ${item.description}`,
    parse: (text, { item }, name) => {
      const items = commaSeparated(text)
      const bad = items.find((entry) => !item.pattern.test(entry))
      if (bad !== undefined) throw new ConfigError(name, `has an invalid entry "${bad}"`)
      return items
    }
  },
  'ssh-public-key': {
    describe: () => 'an OpenSSH public key line',
    parse: unlessEmpty((text, _type, name) => {
      if (!/^(ssh|ecdsa)-\S+ \S+/.test(text)) throw new ConfigError(name, 'must be an OpenSSH public key line (ssh-ed25519 AAAA...)')
      return text
    })
  },
  id: {
    describe: ({ what, item }) => `${what}: ${item.description}`,
    parse: unlessEmpty((text, { what, item }, name) => {
      if (!item.pattern.test(text)) throw new ConfigError(name, `must be ${what}, got "${text}"`)
      return text
    })
  },
  'postgres-url': {
    describe: () => 'a postgres:// or postgresql:// URL',
    // the message never repeats the value: it holds a password
    parse: unlessEmpty((text, _type, name) => {
      const parsed = urlOf(text, () => new ConfigError(name, 'must be a postgres:// or postgresql:// URL (the value is not repeated here: it may hold a password)'))
      if ((parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') || parsed.hostname === '') {
        throw new ConfigError(name, `must be a postgres:// or postgresql:// URL with a host, got a ${parsed.protocol.replace(/:$/, '')} URL (the value is not repeated here: it may hold a password)`)
      }
      return text
    })
  },
  proxies: {
    describe: () => 'true, false, a hop count from 0 to 99 or comma-separated addresses/CIDRs',
    parse: (text, _type, name) => {
      if (text === 'true' || text === 'false') return text === 'true'
      if (/^\d{1,2}$/.test(text)) return Number(text)
      const entries = commaSeparated(text)
      const refused = new ConfigError(name, `must be true, false, a hop count or addresses/CIDRs, got "${text}"`)
      if (entries.length === 0 || entries.some((entry) => !/^[0-9a-fA-F.:/]+$/.test(entry))) throw refused
      try {
        proxyAddr.compile(entries)
      } catch {
        throw refused
      }
      return entries
    }
  },
  text: {
    describe: ({ what }) => what,
    parse: (text) => text
  },
  file: {
    describe: () => 'a file path',
    parse: unlessEmpty((text) => text)
  }
}

/** The parser and wording of a setting type's kind. */
function kindOf<K extends Kind> (type: SettingType<K>): KindOfSetting<K> {
  return KINDS[type.kind]
}

/** What --help says a setting's values must be, from its table entry ("an integer from 0 to 65535"). */
export function describeType (type: SettingType): string {
  return kindOf(type).describe(type)
}

/** The variable's value, trimmed; its default when unset or blank. */
function read (env: Env, name: EnvName): string {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? ENVIRONMENT[name].default : value
}

/** One setting, parsed as its table entry says, or a ConfigError naming it. */
export function readSetting<N extends EnvName> (env: Env, name: N): SettingValue<N> {
  const type: SettingType = ENVIRONMENT[name].type
  // the parser is the one of the entry's kind: what it returns is that kind's value
  return kindOf(type).parse(read(env, name), type, name, env) as SettingValue<N>
}

export function loadConfig (env: Env): Config {
  const setting = <N extends EnvName>(name: N): SettingValue<N> => readSetting(env, name)
  // of several bad settings, the first read is the one named: keep this order
  const logLevel = setting('LOG_LEVEL')
  const sshKeyIds = setting('OPENMETAL_SSH_KEY_IDS')
  const sshPublicKey = setting('OPENMETAL_SSH_PUBLIC_KEY')
  const deploymentConfiguration = setting('OPENMETAL_DEPLOYMENT_CONFIGURATION')
  const allowedHubIds = setting('IAL_ALLOWED_HUB_IDS')
  const certFile = setting('TLS_CERT_FILE')
  const keyFile = setting('TLS_KEY_FILE')
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError(certFile === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE', 'must be set together with its pair (TLS_CERT_FILE and TLS_KEY_FILE)')
  const logFormat = setting('LOG_FORMAT')
  const requestTimeoutMs = setting('REQUEST_TIMEOUT_MS')
  const maxConnections = setting('MAX_CONNECTIONS')
  const rateLimitPerMinute = setting('RATE_LIMIT_PER_MINUTE')
  const rateLimitPerAddressPerMinute = setting('RATE_LIMIT_PER_ADDRESS_PER_MINUTE')
  const requestDeadlineMs = setting('REQUEST_DEADLINE_MS')
  const coordinationLeaseMs = setting('COORDINATION_LEASE_MS')
  if (coordinationLeaseMs < requestDeadlineMs + LEASE_OVER_DEADLINE_MS) {
    throw new ConfigError('COORDINATION_LEASE_MS', `must be at least REQUEST_DEADLINE_MS + ${LEASE_OVER_DEADLINE_MS} (${requestDeadlineMs + LEASE_OVER_DEADLINE_MS}): a lease must outlast the purchase it guards, got ${coordinationLeaseMs}`)
  }
  const coordinationRequired = setting('COORDINATION_REQUIRED')
  const databaseUrl = setting('DATABASE_URL')
  if (coordinationRequired && databaseUrl === undefined) throw new ConfigError('COORDINATION_REQUIRED', 'is true, so DATABASE_URL must name the PostgreSQL coordinator')
  const upstreamConnections = setting('OPENMETAL_CONNECTIONS')
  const upstreamTenantConcurrency = setting('OPENMETAL_TENANT_CONCURRENCY')
  if (upstreamTenantConcurrency >= upstreamConnections) {
    throw new ConfigError('OPENMETAL_TENANT_CONCURRENCY', `must be below OPENMETAL_CONNECTIONS (${upstreamConnections}), so that no tenant can hold every connection, got "${upstreamTenantConcurrency}"`)
  }
  return {
    port: setting('PORT'),
    host: setting('HOST'),
    logLevel,
    openMetalApiUrl: setting('OPENMETAL_API_URL'),
    deploymentConfiguration,
    sshPublicKey,
    sshKeyIds,
    upstreamTimeoutMs: setting('OPENMETAL_TIMEOUT_MS'),
    upstreamConnections,
    upstreamTenantConcurrency,
    upstreamTenantQueue: setting('OPENMETAL_TENANT_QUEUE'),
    upstreamMaxAttempts: setting('OPENMETAL_MAX_ATTEMPTS'),
    upstreamMaxAnswerBytes: setting('OPENMETAL_MAX_ANSWER_BYTES'),
    requestDeadlineMs,
    catalogTtlMs: setting('CATALOG_TTL_MS'),
    bodyLimitBytes: setting('BODY_LIMIT_BYTES'),
    requestTimeoutMs,
    headersTimeoutMs: setting('HEADERS_TIMEOUT_MS'),
    keepAliveTimeoutMs: setting('KEEP_ALIVE_TIMEOUT_MS'),
    maxConnections,
    maxConnectionsPerAddress: setting('MAX_CONNECTIONS_PER_ADDRESS'),
    silentConnectionTimeoutMs: setting('SILENT_CONNECTION_TIMEOUT_MS'),
    rateLimitPerMinute,
    rateLimitPerAddressPerMinute,
    allowedHubIds,
    tls: certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile },
    shutdownGraceMs: setting('SHUTDOWN_GRACE_MS'),
    logPretty: logFormat === 'pretty',
    trustProxy: setting('TRUST_PROXY'),
    ipBlockPurchase: setting('OPENMETAL_IP_BLOCK_PURCHASE'),
    ipBlocksPerServerMax: setting('OPENMETAL_IP_BLOCKS_PER_SERVER_MAX'),
    databaseUrl,
    coordinationLeaseMs,
    coordinationRequired
  }
}

/**
 * The certificate and key of native HTTPS, read and checked at start: a file that is missing,
 * unreadable or not PEM, or a key that does not match the certificate, stops the process
 * with a message naming the variable (never a stack trace).
 */
export function loadTls (tls: { readonly certFile: string, readonly keyFile: string }): { cert: Buffer, key: Buffer } {
  const read = (name: 'TLS_CERT_FILE' | 'TLS_KEY_FILE', file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (error) {
      throw new ConfigError(name, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${file}`)
    }
  }
  const cert = read('TLS_CERT_FILE', tls.certFile)
  const key = read('TLS_KEY_FILE', tls.keyFile)
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(cert)
  } catch {
    throw new ConfigError('TLS_CERT_FILE', `is not a PEM certificate: ${tls.certFile}`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw new ConfigError('TLS_KEY_FILE', `is not a PEM private key: ${tls.keyFile}`)
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new ConfigError('TLS_KEY_FILE', `does not hold the private key of the certificate in TLS_CERT_FILE: ${tls.keyFile}`)
  return { cert, key }
}
