/**
 * The PostgreSQL coordinator: leases as rows of `ial_leases`, for any number of replicas.
 * Taking a lease is one INSERT … ON CONFLICT DO UPDATE … WHERE expired: the database's row
 * lock makes it a compare-and-set and its clock decides expiry, so replicas' clocks never
 * matter. The schema comes from db/migrations/*.sql, applied at start under an advisory lock.
 */

import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { CoordinatorUnavailableError } from './coordinator.ts'
import type { Acquisition, CoordinationObserver, Coordinator, Lease } from './coordinator.ts'

export interface PostgresCoordinatorOptions {
  /** a secret: it never appears in an error message, a log line or a readiness reason */
  connectionString: string
  observer?: CoordinationObserver
  poolSize?: number
  /** connecting, waiting for a pooled connection and each statement fail after this long */
  timeoutMs?: number
  /** where the NNNN_*.sql files are; db/migrations/ of this repository by default */
  migrationsDir?: URL | string
}

/** resolves to db/migrations/ from src/coordination/ and from dist/coordination/ alike */
const DEFAULT_MIGRATIONS_DIR = new URL('../../db/migrations/', import.meta.url)
const MIGRATION_FILE = /^\d{4}_[\w-]+\.sql$/
/** 'ial_migr' in ASCII: the advisory lock that lets one replica at a time migrate */
const MIGRATION_LOCK_ID = '7593469603836684146'
const SWEEP_INTERVAL_MS = 60 * 60 * 1000

// The runner's own bookkeeping, needed before any migration file can be recorded; the schema
// itself lives in the files.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS ial_schema_migrations (
  version text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)`

// Remaining time is computed by the server (expires_at - now()) so no replica's clock is trusted.
const ACQUIRE = `INSERT INTO ial_leases AS lease (key, token, expires_at)
VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE
  SET token = excluded.token, expires_at = excluded.expires_at, acquired_at = now()
  WHERE lease.expires_at <= now()
RETURNING (extract(epoch FROM lease.expires_at - now()) * 1000)::float8 AS remaining_ms`
const HOLDER_REMAINING = `SELECT (extract(epoch FROM expires_at - now()) * 1000)::float8 AS remaining_ms
FROM ial_leases WHERE key = $1`
const RELEASE = 'DELETE FROM ial_leases WHERE key = $1 AND token = $2 RETURNING expires_at > now() AS held'
const SWEEP = "DELETE FROM ial_leases WHERE expires_at < now() - interval '1 day'"

interface RemainingRow { remaining_ms: number }

interface Migration { version: string, sql: string }

export class PostgresCoordinator implements Coordinator {
  readonly kind = 'postgres'
  readonly #pool: pg.Pool
  readonly #observer: CoordinationObserver | undefined
  readonly #timeoutMs: number
  readonly #migrationsDir: string
  #migrated = false
  /** the migration in flight, shared by concurrent callers; cleared when it settles so a failure is retried */
  #migrating: Promise<void> | undefined
  #lastSweepAt = Number.NEGATIVE_INFINITY
  #closing: Promise<void> | undefined

  constructor (options: PostgresCoordinatorOptions) {
    this.#observer = options.observer
    this.#timeoutMs = options.timeoutMs ?? 2000
    const dir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR
    this.#migrationsDir = typeof dir === 'string' ? dir : fileURLToPath(dir)
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: 'cycle-ial-openmetal',
      // an unreachable or hung database fails a request within the timeout, never holds it
      connectionTimeoutMillis: this.#timeoutMs,
      query_timeout: this.#timeoutMs,
      statement_timeout: this.#timeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true
    })
    // An idle connection that breaks (server restart, network) is dropped by the pool; without a
    // listener the 'error' event would crash the process. The next query reports the outage.
    this.#pool.on('error', () => {})
  }

  async start (): Promise<void> {
    try {
      await this.#migrate()
    } catch (error) {
      throw this.#unavailable('start', error)
    }
    this.#sweepNowAndThen()
  }

  async tryAcquire (key: string, ttlMs: number): Promise<Acquisition> {
    try {
      // a replica that started while the database was down migrates on first use
      if (!this.#migrated) await this.#migrate()
      this.#sweepNowAndThen()
      // the holder may release or lapse between the two statements: then one more try
      for (let attempt = 0; attempt < 2; attempt++) {
        const token = randomBytes(16).toString('base64url')
        // measured before the statement: the server's expiry is at least this far ahead, so the
        // holder never believes it holds a lease that has already lapsed
        const sentAt = Date.now()
        const taken = await this.#pool.query<RemainingRow>(ACQUIRE, [key, token, ttlMs])
        const lease = taken.rows[0]
        if (lease !== undefined) return { held: { key, token, expiresAt: sentAt + lease.remaining_ms } }
        const holder = (await this.#pool.query<RemainingRow>(HOLDER_REMAINING, [key])).rows[0]
        if (holder !== undefined && holder.remaining_ms > 0) {
          return { busy: { remainingMs: Math.max(1, Math.ceil(holder.remaining_ms)) } }
        }
      }
      // lost two races in a row to other takers: report it busy, the caller's policy polls again
      return { busy: { remainingMs: 1 } }
    } catch (error) {
      throw this.#unavailable('acquire', error)
    }
  }

  async release (lease: Lease): Promise<boolean> {
    try {
      const released = await this.#pool.query<{ held: boolean }>(RELEASE, [lease.key, lease.token])
      return released.rows[0]?.held ?? false
    } catch (error) {
      throw this.#unavailable('release', error)
    }
  }

  async check (): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('check timeout')), this.#timeoutMs)
    })
    try {
      // waiting for a pooled connection and the statement together stay within one timeout
      await Promise.race([this.#pool.query('SELECT 1'), deadline])
      return undefined
    } catch (error) {
      return `PostgreSQL coordinator unreachable: ${describeFailure(error)}`
    } finally {
      clearTimeout(timer)
    }
  }

  async close (): Promise<void> {
    this.#closing ??= this.#pool.end()
    await this.#closing
  }

  /** applies the migration files not yet recorded; concurrent callers share one attempt */
  #migrate (): Promise<void> {
    this.#migrating ??= this.#runMigrations()
      .then(() => { this.#migrated = true })
      .finally(() => { this.#migrating = undefined })
    return this.#migrating
  }

  async #runMigrations (): Promise<void> {
    const migrations = await this.#readMigrations()
    const client = await this.#pool.connect()
    let broken = false
    try {
      // One transaction under a transaction-scoped advisory lock: replicas starting together
      // wait for each other, and each file is applied and recorded exactly once.
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_ID])
      await client.query(CREATE_MIGRATIONS_TABLE)
      const recorded = await client.query<{ version: string }>('SELECT version FROM ial_schema_migrations')
      const applied = new Set(recorded.rows.map((row) => row.version))
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue
        try {
          await client.query(migration.sql)
        } catch (error) {
          throw new CoordinatorUnavailableError(`migration ${migration.version} failed: ${describeFailure(error)}`)
        }
        await client.query('INSERT INTO ial_schema_migrations (version) VALUES ($1)', [migration.version])
      }
      await client.query('COMMIT')
    } catch (error) {
      // no ROLLBACK, which could wait out another timeout on a broken connection: closing the
      // connection (below) ends the transaction on the server
      broken = true
      throw error
    } finally {
      client.release(broken)
    }
  }

  async #readMigrations (): Promise<Migration[]> {
    let names: string[]
    try {
      names = (await readdir(this.#migrationsDir)).filter((name) => MIGRATION_FILE.test(name)).sort()
    } catch (error) {
      throw new CoordinatorUnavailableError(`migrations folder unreadable: ${describeFailure(error)}`)
    }
    return await Promise.all(names.map(async (name) => ({
      version: name.slice(0, -'.sql'.length),
      sql: await readFile(join(this.#migrationsDir, name), 'utf8')
    })))
  }

  /** deletes rows long past expiry, at most once an hour; a failure waits for the next turn */
  #sweepNowAndThen (): void {
    const now = Date.now()
    if (now - this.#lastSweepAt < SWEEP_INTERVAL_MS) return
    this.#lastSweepAt = now
    this.#pool.query(SWEEP).catch(() => {})
  }

  #unavailable (operation: string, error: unknown): CoordinatorUnavailableError {
    const reason = error instanceof CoordinatorUnavailableError ? error.message : describeFailure(error)
    // no `cause`: pg's own message may name the user or database, and log serializers print causes
    const unavailable = new CoordinatorUnavailableError(`PostgreSQL coordinator unavailable (${operation}): ${reason}`)
    this.#observer?.unavailable(unavailable)
    return unavailable
  }
}

/** SQLSTATEs worth a word; others are reported by code */
const SQLSTATE_REASONS = new Map([
  ['57014', 'statement timeout'],
  ['28000', 'authentication failed'],
  ['28P01', 'authentication failed'],
  ['3D000', 'database does not exist'],
  ['53300', 'too many connections'],
  ['57P01', 'server shutting down'],
  ['57P02', 'server shutting down'],
  ['57P03', 'server not accepting connections yet'],
  ['42P01', 'table missing'],
  ['25P02', 'transaction aborted']
])

/**
 * What went wrong, in words safe to log: a fixed text or a code, never pg's message, which can
 * carry the user name, the database name or parts of the connection string.
 */
function describeFailure (error: unknown): string {
  if (!(error instanceof Error)) return 'unexpected failure'
  // pg's own fixed texts for its client-side timeouts and broken connections
  switch (error.message) {
    case 'Query read timeout': return 'query timeout'
    case 'check timeout': return 'timeout'
    case 'timeout exceeded when trying to connect': return 'connect timeout'
    case 'Connection terminated due to connection timeout': return 'connect timeout'
    case 'Connection terminated unexpectedly': return 'connection lost'
    case 'Connection terminated': return 'connection lost'
    case 'Cannot use a pool after calling end on the pool': return 'coordinator closed'
  }
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (/^E[A-Z0-9_]+$/.test(code)) return code
    if (/^[0-9A-Z]{5}$/.test(code)) return SQLSTATE_REASONS.get(code) ?? `SQLSTATE ${code}`
  }
  return 'unexpected failure'
}
