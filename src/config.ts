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

/**
 * A setting: its default ('' = unset), its meaning, and for a whole number the range it must
 * fall in. The one table the loader, `--help`, .env.example and the README are held to.
 */
type Setting = readonly [fallback: string, help: string] | readonly [fallback: string, help: string, range: readonly [min: number, max: number]]

/** Every variable the loader reads (kept in step with .env.example, the README and the ConfigMap by tests). */
export const ENVIRONMENT = {
  PORT: ['8080', 'TCP port to listen on', [0, 65_535]],
  HOST: ['0.0.0.0', 'interface to listen on'],
  LOG_LEVEL: ['info', 'pino level: fatal, error, warn, info, debug, trace or silent'],
  OPENMETAL_API_URL: [PRODUCTION_API_URL, `OpenMetal Central API base URL (sandbox: ${SANDBOX_API_URL})`],
  OPENMETAL_DEPLOYMENT_CONFIGURATION: ['', 'ID of the OpenMetal deployment configuration (CycleOS ramdisk) used for new servers'],
  OPENMETAL_SSH_PUBLIC_KEY: ['', 'SSH public key installed on new servers'],
  OPENMETAL_SSH_KEY_IDS: ['', 'comma-separated IDs of SSH keys saved at OpenMetal (alternative to OPENMETAL_SSH_PUBLIC_KEY)'],
  OPENMETAL_TIMEOUT_MS: ['10000', 'timeout of one attempt of one OpenMetal call', [100, 120_000]],
  OPENMETAL_CONNECTIONS: ['32', 'keep-alive connections to OpenMetal per replica', [1, 1024]],
  OPENMETAL_TENANT_CONCURRENCY: ['8', 'OpenMetal calls one tenant (one set of credentials) may have under way at once per replica; below OPENMETAL_CONNECTIONS', [1, 1023]],
  OPENMETAL_TENANT_QUEUE: ['64', 'OpenMetal calls one tenant may have waiting for a turn; past that its requests get 503.not-ready with Retry-After', [0, 100_000]],
  OPENMETAL_MAX_ATTEMPTS: ['3', 'attempts for calls that are safe to repeat', [1, 10]],
  OPENMETAL_MAX_ANSWER_BYTES: ['4194304', 'largest OpenMetal answer read, in bytes (65536 to 134217728); a larger one is cut off unread and its call fails with 503.not-ready', [65_536, 134_217_728]],
  REQUEST_DEADLINE_MS: ['25000', 'overall deadline of one Cycle call; keep it below Cycle\'s own client timeout', [1000, 300_000]],
  CATALOG_TTL_MS: ['60000', 'how long the public catalog (pods, products, stock) is reused', [0, 3_600_000]],
  BODY_LIMIT_BYTES: ['131072', 'largest accepted request body', [1024, 16 * 1024 * 1024]],
  REQUEST_TIMEOUT_MS: ['30000', 'longest time a client may take to send one whole request, headers and body', [500, 600_000]],
  HEADERS_TIMEOUT_MS: ['10000', 'longest time a client may take to send the headers of one request (at most REQUEST_TIMEOUT_MS)', [500, 600_000]],
  KEEP_ALIVE_TIMEOUT_MS: ['72000', 'how long an idle keep-alive connection stays open; keep it above the idle timeout of any load balancer in front', [500, 600_000]],
  MAX_CONNECTIONS: ['4096', 'open connections per replica, all clients together', [1, 1_000_000]],
  MAX_CONNECTIONS_PER_ADDRESS: ['1024', 'open connections per client address and replica (not applied to the proxies TRUST_PROXY names)', [1, 1_000_000]],
  SILENT_CONNECTION_TIMEOUT_MS: ['2000', 'how long a new connection may send nothing at all before it is closed (not applied to the proxies TRUST_PROXY names, which may open connections ahead of use)', [500, 600_000]],
  RATE_LIMIT_PER_MINUTE: ['1200', 'IAL requests per minute per Cycle hub and client address (0 disables this limit)', [0, 1_000_000]],
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: ['6000', 'IAL requests per minute per client address, all hubs together (at least RATE_LIMIT_PER_MINUTE; 0 disables this ceiling)', [0, 10_000_000]],
  IAL_ALLOWED_HUB_IDS: ['', 'comma-separated Cycle hub IDs allowed to call; empty allows every hub'],
  TLS_CERT_FILE: ['', 'PEM certificate for native HTTPS (with TLS_KEY_FILE); empty serves plain HTTP'],
  TLS_KEY_FILE: ['', 'PEM private key for native HTTPS (with TLS_CERT_FILE)'],
  SHUTDOWN_GRACE_MS: ['10000', 'on SIGTERM/SIGINT, how long in-flight requests may take to finish', [0, 600_000]],
  LOG_FORMAT: ['json', 'json (for machines) or pretty (for a human at a terminal)'],
  OPENMETAL_IP_BLOCK_PURCHASE: ['false', 'true: buy a routed /28 for a server whose IP blocks are full (costs money; a hub may override with ip_block_purchase in auth.config)'],
  OPENMETAL_IP_BLOCKS_PER_SERVER_MAX: ['2', 'most IP blocks bought for one server', [0, 64]],
  DATABASE_URL: ['', 'postgres://user:password@host:5432/db of the PostgreSQL coordinator that lets several replicas buy each server once; empty: in-process coordination, run one replica'],
  COORDINATION_LEASE_MS: ['120000', `how long a purchase's lease lasts when its outcome is unknown (a lost answer, a replica killed): a retry waits that long, then looks before buying; at least REQUEST_DEADLINE_MS + ${LEASE_OVER_DEADLINE_MS}`, [1000, 86_400_000]],
  COORDINATION_REQUIRED: ['false', 'true: refuse to start without a reachable coordinator (DATABASE_URL); set it wherever more than one replica may run'],
  TRUST_PROXY: ['false', 'behind a load balancer: its comma-separated addresses/CIDRs, so rate limits, connection caps and logs see the client address (true or a hop count also believe clients that connect directly)']
} as const satisfies Record<string, Setting>

export type EnvName = keyof typeof ENVIRONMENT

export class ConfigError extends Error {
  constructor (variable: EnvName, problem: string) {
    super(`${variable} ${problem}`)
    this.name = 'ConfigError'
  }
}

type Env = Readonly<Record<string, string | undefined>>

function read (env: Env, name: EnvName): string {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? ENVIRONMENT[name][0] : value
}

/** A whole number in the range its ENVIRONMENT entry gives. */
function integer (env: Env, name: EnvName): number {
  const entry: Setting = ENVIRONMENT[name]
  const [min, max] = entry[2] ?? [0, Number.MAX_SAFE_INTEGER]
  const text = read(env, name)
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${text}"`)
  return value
}

function flag (env: Env, name: EnvName): boolean {
  const text = read(env, name)
  if (text !== 'true' && text !== 'false') throw new ConfigError(name, `must be true or false, got "${text}"`)
  return text === 'true'
}

function url (env: Env, name: EnvName): string {
  const text = read(env, name)
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    throw new ConfigError(name, 'must be an http(s) URL')
  }
  if (parsed.username !== '' || parsed.password !== '') throw new ConfigError(name, 'must not carry credentials')
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.pathname !== '/' || parsed.search !== '') {
    throw new ConfigError(name, `must be an http(s) origin without path or query, got "${parsed.origin}${parsed.pathname}"`)
  }
  return parsed.origin
}

/** A PostgreSQL connection string; the message never repeats it (it holds a password). */
function databaseUrl (env: Env): string | undefined {
  const text = read(env, 'DATABASE_URL')
  if (text === '') return undefined
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL (the value is not repeated here: it may hold a password)')
  }
  if ((parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') || parsed.hostname === '') {
    throw new ConfigError('DATABASE_URL', `must be a postgres:// or postgresql:// URL with a host, got a ${parsed.protocol.replace(/:$/, '')} URL (the value is not repeated here: it may hold a password)`)
  }
  return text
}

function trustProxyOf (text: string): boolean | number | string[] {
  if (text === 'true' || text === 'false') return text === 'true'
  if (/^\d{1,2}$/.test(text)) return Number(text)
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const refused = new ConfigError('TRUST_PROXY', `must be true, false, a hop count or addresses/CIDRs, got "${text}"`)
  if (entries.length === 0 || entries.some((entry) => !/^[0-9a-fA-F.:/]+$/.test(entry))) throw refused
  try {
    proxyAddr.compile(entries)
  } catch {
    throw refused
  }
  return entries
}

/** An integer that must not exceed (or fall below) another variable's value. */
function bounded (value: number, name: EnvName, relation: 'at most' | 'at least', other: EnvName, otherValue: number): number {
  if (relation === 'at most' ? value > otherValue : value < otherValue) throw new ConfigError(name, `must be ${relation} ${other} (${otherValue}), got ${value}`)
  return value
}

function list (env: Env, name: EnvName, pattern: RegExp): string[] {
  const items = read(env, name).split(',').map((item) => item.trim()).filter((item) => item !== '')
  const bad = items.find((item) => !pattern.test(item))
  if (bad !== undefined) throw new ConfigError(name, `has an invalid entry "${bad}"`)
  return items
}

export function loadConfig (env: Env): Config {
  const logLevel = read(env, 'LOG_LEVEL')
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  const sshKeyIds = list(env, 'OPENMETAL_SSH_KEY_IDS', /^[A-Za-z0-9_-]{1,64}$/)
  const sshPublicKey = read(env, 'OPENMETAL_SSH_PUBLIC_KEY')
  if (sshPublicKey !== '' && !/^(ssh|ecdsa)-\S+ \S+/.test(sshPublicKey)) throw new ConfigError('OPENMETAL_SSH_PUBLIC_KEY', 'must be an OpenSSH public key line (ssh-ed25519 AAAA...)')
  const deploymentConfiguration = read(env, 'OPENMETAL_DEPLOYMENT_CONFIGURATION')
  if (deploymentConfiguration !== '' && !/^[A-Za-z0-9_-]{1,64}$/.test(deploymentConfiguration)) {
    throw new ConfigError('OPENMETAL_DEPLOYMENT_CONFIGURATION', `must be an OpenMetal configuration ID, got "${deploymentConfiguration}"`)
  }
  const allowedHubIds = list(env, 'IAL_ALLOWED_HUB_IDS', /^[A-Za-z0-9_-]{1,64}$/)
  const certFile = read(env, 'TLS_CERT_FILE')
  const keyFile = read(env, 'TLS_KEY_FILE')
  if ((certFile === '') !== (keyFile === '')) throw new ConfigError(certFile === '' ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE', 'must be set together with its pair (TLS_CERT_FILE and TLS_KEY_FILE)')
  const logFormat = read(env, 'LOG_FORMAT')
  if (logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError('LOG_FORMAT', `must be json or pretty, got "${logFormat}"`)
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT_MS')
  const maxConnections = integer(env, 'MAX_CONNECTIONS')
  const rateLimitPerMinute = integer(env, 'RATE_LIMIT_PER_MINUTE')
  const rateLimitPerAddressPerMinute = integer(env, 'RATE_LIMIT_PER_ADDRESS_PER_MINUTE')
  const requestDeadlineMs = integer(env, 'REQUEST_DEADLINE_MS')
  const coordinationLeaseMs = integer(env, 'COORDINATION_LEASE_MS')
  if (coordinationLeaseMs < requestDeadlineMs + LEASE_OVER_DEADLINE_MS) {
    throw new ConfigError('COORDINATION_LEASE_MS', `must be at least REQUEST_DEADLINE_MS + ${LEASE_OVER_DEADLINE_MS} (${requestDeadlineMs + LEASE_OVER_DEADLINE_MS}): a lease must outlast the purchase it guards, got ${coordinationLeaseMs}`)
  }
  const coordinationRequired = flag(env, 'COORDINATION_REQUIRED')
  const database = databaseUrl(env)
  if (coordinationRequired && database === undefined) throw new ConfigError('COORDINATION_REQUIRED', 'is true, so DATABASE_URL must name the PostgreSQL coordinator')
  const upstreamConnections = integer(env, 'OPENMETAL_CONNECTIONS')
  const upstreamTenantConcurrency = integer(env, 'OPENMETAL_TENANT_CONCURRENCY')
  if (upstreamTenantConcurrency >= upstreamConnections) {
    throw new ConfigError('OPENMETAL_TENANT_CONCURRENCY', `must be below OPENMETAL_CONNECTIONS (${upstreamConnections}), so that no tenant can hold every connection, got "${upstreamTenantConcurrency}"`)
  }
  return {
    port: integer(env, 'PORT'),
    host: read(env, 'HOST'),
    logLevel: logLevel as LogLevel,
    openMetalApiUrl: url(env, 'OPENMETAL_API_URL'),
    deploymentConfiguration: deploymentConfiguration === '' ? undefined : deploymentConfiguration,
    sshPublicKey: sshPublicKey === '' ? undefined : sshPublicKey,
    sshKeyIds,
    upstreamTimeoutMs: integer(env, 'OPENMETAL_TIMEOUT_MS'),
    upstreamConnections,
    upstreamTenantConcurrency,
    upstreamTenantQueue: integer(env, 'OPENMETAL_TENANT_QUEUE'),
    upstreamMaxAttempts: integer(env, 'OPENMETAL_MAX_ATTEMPTS'),
    upstreamMaxAnswerBytes: integer(env, 'OPENMETAL_MAX_ANSWER_BYTES'),
    requestDeadlineMs,
    catalogTtlMs: integer(env, 'CATALOG_TTL_MS'),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES'),
    requestTimeoutMs,
    headersTimeoutMs: bounded(integer(env, 'HEADERS_TIMEOUT_MS'), 'HEADERS_TIMEOUT_MS', 'at most', 'REQUEST_TIMEOUT_MS', requestTimeoutMs),
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS'),
    maxConnections,
    maxConnectionsPerAddress: bounded(integer(env, 'MAX_CONNECTIONS_PER_ADDRESS'), 'MAX_CONNECTIONS_PER_ADDRESS', 'at most', 'MAX_CONNECTIONS', maxConnections),
    silentConnectionTimeoutMs: integer(env, 'SILENT_CONNECTION_TIMEOUT_MS'),
    rateLimitPerMinute,
    rateLimitPerAddressPerMinute: rateLimitPerAddressPerMinute === 0 ? 0 : bounded(rateLimitPerAddressPerMinute, 'RATE_LIMIT_PER_ADDRESS_PER_MINUTE', 'at least', 'RATE_LIMIT_PER_MINUTE', rateLimitPerMinute),
    allowedHubIds,
    tls: certFile === '' ? undefined : { certFile, keyFile },
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS'),
    logPretty: logFormat === 'pretty',
    trustProxy: trustProxyOf(read(env, 'TRUST_PROXY')),
    ipBlockPurchase: flag(env, 'OPENMETAL_IP_BLOCK_PURCHASE'),
    ipBlocksPerServerMax: integer(env, 'OPENMETAL_IP_BLOCKS_PER_SERVER_MAX'),
    databaseUrl: database,
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
