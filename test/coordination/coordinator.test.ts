/**
 * One behavioural suite for every coordinator kind: in-process, PostgreSQL on PGlite (always)
 * and a real PostgreSQL server when TEST_DATABASE_URL is set (CI sets it, see
 * scripts/ci/with-postgres.sh). Each test uses its own key prefix, so tests share the database
 * without dropping anything under each other.
 */
import { randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CoordinatorUnavailableError } from '../../src/coordination/coordinator.ts'
import type { CoordinationObserver, Coordinator, Lease } from '../../src/coordination/coordinator.ts'
import { InProcessCoordinator } from '../../src/coordination/in-process.ts'
import { PostgresCoordinator } from '../../src/coordination/postgres.ts'
import { createCoordinator } from '../../src/coordination/create-coordinator.ts'
import { startPglite } from '../helpers/pglite.ts'
import type { PgliteServer } from '../helpers/pglite.ts'

const realDatabaseUrl = process.env.TEST_DATABASE_URL

function recordingObserver (): CoordinationObserver & { unavailableErrors: CoordinatorUnavailableError[] } {
  const unavailableErrors: CoordinatorUnavailableError[] = []
  return { unavailableErrors, lease () {}, unavailable (error) { unavailableErrors.push(error) } }
}

async function held (coordinator: Coordinator, key: string, ttlMs: number): Promise<Lease> {
  const acquisition = await coordinator.tryAcquire(key, ttlMs)
  if (!('held' in acquisition)) throw new Error(`expected ${key} free, it is held for ${acquisition.busy.remainingMs} ms`)
  return acquisition.held
}

async function migrationFiles (): Promise<string[]> {
  return (await readdir(new URL('../../db/migrations/', import.meta.url)))
    .filter((name) => /^\d{4}_.+\.sql$/.test(name)).sort().map((name) => name.slice(0, -4))
}

async function appliedMigrations (url: string): Promise<Array<{ version: string, applied_at: Date }>> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<{ version: string, applied_at: Date }>('SELECT version, applied_at FROM ial_schema_migrations ORDER BY version')).rows
  } finally {
    await client.end()
  }
}

/** what a kind gives the shared suite: `replicas(n)` coordinators that share one lease store */
interface CoordinatorKind {
  replicas (count: number): Coordinator[]
  /** the database, for the kinds that have one */
  url?: () => string
}

function behavesAsACoordinator (kind: CoordinatorKind): void {
  const opened: Coordinator[] = []
  const replicas = (count: number): Coordinator[] => {
    const made = kind.replicas(count)
    opened.push(...new Set(made))
    return made
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((coordinator) => coordinator.close()))
  })

  // first, so on a fresh database it is also the first migration ever, run three times at once
  it('starts idempotently, several replicas at once, each migration applied once', async () => {
    const first = replicas(3)
    await Promise.all(first.map((coordinator) => coordinator.start()))
    await Promise.all(first.map((coordinator) => coordinator.start()))
    const later = replicas(3)
    await Promise.all(later.map((coordinator) => coordinator.start()))
    if (kind.url === undefined) return
    const applied = await appliedMigrations(kind.url())
    expect(applied.map((row) => row.version)).toEqual(await migrationFiles())
    // a later start does not apply anything again
    await Promise.all(replicas(2).map((coordinator) => coordinator.start()))
    expect(await appliedMigrations(kind.url())).toEqual(applied)
  })

  it('lets exactly one of many concurrent callers on three replicas take each key', async () => {
    const prefix = randomUUID()
    const coordinators = replicas(3)
    await Promise.all(coordinators.map((coordinator) => coordinator.start()))
    const keys = [0, 1, 2, 3].map((i) => `${prefix}-${i}`)
    const ttlMs = 10_000
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      coordinators[i % 3]!.tryAcquire(keys[i % keys.length]!, ttlMs).then((acquisition) => ({ key: keys[i % keys.length]!, acquisition }))))

    for (const key of keys) {
      const forKey = answers.filter((answer) => answer.key === key).map((answer) => answer.acquisition)
      const winners = forKey.filter((acquisition) => 'held' in acquisition)
      expect(winners).toHaveLength(1)
      for (const acquisition of forKey) {
        if ('busy' in acquisition) {
          expect(acquisition.busy.remainingMs).toBeGreaterThan(0)
          expect(acquisition.busy.remainingMs).toBeLessThanOrEqual(ttlMs)
        }
      }
    }
  })

  it('answers busy with how long the holder still has the lease', async () => {
    const prefix = randomUUID()
    const [one, two] = replicas(2)
    await Promise.all([one!.start(), two!.start()])
    const lease = await held(one!, `${prefix}-need`, 5000)
    expect(lease.key).toBe(`${prefix}-need`)
    expect(lease.token).toMatch(/^[\w-]{22}$/)
    expect(lease.expiresAt - Date.now()).toBeGreaterThan(4000)
    expect(lease.expiresAt - Date.now()).toBeLessThanOrEqual(5000)

    const busy = await two!.tryAcquire(`${prefix}-need`, 5000)
    if (!('busy' in busy)) throw new Error('expected busy')
    expect(busy.busy.remainingMs).toBeGreaterThan(0)
    expect(busy.busy.remainingMs).toBeLessThanOrEqual(5000)
  })

  it('gives a lease back only with its holder\'s token', async () => {
    const prefix = randomUUID()
    const [one, two] = replicas(2)
    await Promise.all([one!.start(), two!.start()])
    const lease = await held(one!, `${prefix}-need`, 10_000)

    expect(await two!.release({ ...lease, token: 'not-the-holder' })).toBe(false)
    expect(await two!.tryAcquire(`${prefix}-need`, 10_000)).toHaveProperty('busy')
    expect(await two!.release(lease)).toBe(true)
    expect(await one!.release(lease)).toBe(false)
    const next = await held(two!, `${prefix}-need`, 10_000)
    expect(await one!.release(lease)).toBe(false)
    expect(await one!.release(next)).toBe(true)
  })

  it('lets another replica take a lease that has expired', async () => {
    const prefix = randomUUID()
    const [one, two] = replicas(2)
    await Promise.all([one!.start(), two!.start()])
    const lapsed = await held(one!, `${prefix}-need`, 300)
    await new Promise((resolve) => setTimeout(resolve, 400))

    const taken = await held(two!, `${prefix}-need`, 10_000)
    expect(taken.token).not.toBe(lapsed.token)
    expect(await one!.release(lapsed)).toBe(false)
    expect(await one!.tryAcquire(`${prefix}-need`, 10_000)).toHaveProperty('busy')
  })

  it('is usable', async () => {
    const [coordinator] = replicas(1)
    await coordinator!.start()
    expect(await coordinator!.check()).toBeUndefined()
  })
}

/** the outage rules every PostgreSQL URL must keep: fast, reported, no secrets in any message */
function expectSafe (message: string, secrets: string[]): void {
  for (const secret of secrets) expect(message).not.toContain(secret)
}

describe('in-process coordinator', () => {
  behavesAsACoordinator({
    replicas (count) {
      // one replica by definition: its "replicas" are one coordinator
      const coordinator = new InProcessCoordinator()
      return Array.from({ length: count }, () => coordinator)
    }
  })

  it('is what createCoordinator gives without a database URL', async () => {
    expect((await createCoordinator({ databaseUrl: undefined })).kind).toBe('in-process')
    expect((await createCoordinator({ databaseUrl: '' })).kind).toBe('in-process')
    const postgres = await createCoordinator({ databaseUrl: 'postgres://u:p@127.0.0.1:1/db' })
    expect(postgres.kind).toBe('postgres')
    await postgres.close()
  })
})

describe('PostgreSQL coordinator on PGlite', () => {
  let database: PgliteServer
  beforeAll(async () => { database = await startPglite() })
  afterAll(async () => { await database.close() })

  behavesAsACoordinator({
    replicas: (count) => Array.from({ length: count }, () =>
      new PostgresCoordinator({ connectionString: database.url, poolSize: 4 })),
    url: () => database.url
  })

  it('fails fast and without secrets while the database is down, migrates on first use once it is back', async () => {
    // a database of its own: this test stops it, and shows a never-migrated replica catching up
    const outage = await startPglite()
    const observer = recordingObserver()
    const running = new PostgresCoordinator({ connectionString: outage.url, observer })
    const startedDuringOutage = new PostgresCoordinator({ connectionString: outage.url, observer })
    try {
      await running.start()
      const before = await held(running, 'need', 60_000)
      await outage.stop()

      const startedAt = Date.now()
      const error = await running.tryAcquire('need', 60_000).catch((error: unknown) => error)
      expect(Date.now() - startedAt).toBeLessThan(3000)
      expect(error).toBeInstanceOf(CoordinatorUnavailableError)
      const reason = await running.check()
      expect(reason).toMatch(/^PostgreSQL coordinator unreachable: /)
      await expect(running.release(before)).rejects.toBeInstanceOf(CoordinatorUnavailableError)
      await expect(startedDuringOutage.start()).rejects.toBeInstanceOf(CoordinatorUnavailableError)

      expect(observer.unavailableErrors.length).toBeGreaterThanOrEqual(3)
      for (const message of [(error as Error).message, reason!, ...observer.unavailableErrors.map((e) => e.message)]) {
        expectSafe(message, [outage.password, outage.user, outage.url])
      }

      await outage.start()
      // the outage did not forget the lease: the server's data and clock decide
      expect(await running.tryAcquire('need', 60_000)).toHaveProperty('busy')
      expect(await running.check()).toBeUndefined()
      // never started: its first acquire applies the migrations (a fresh database has none yet)
      await held(startedDuringOutage, 'other-need', 60_000)
      expect((await appliedMigrations(outage.url)).map((row) => row.version)).toEqual(await migrationFiles())
    } finally {
      await Promise.all([running.close(), startedDuringOutage.close()])
      await outage.close()
    }
  })

  it('migrates on first acquire when start() was never called, concurrent callers sharing one attempt', async () => {
    const fresh = await startPglite()
    const coordinator = new PostgresCoordinator({ connectionString: fresh.url })
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => coordinator.tryAcquire('need', 10_000)))
      expect(answers.filter((answer) => 'held' in answer)).toHaveLength(1)
      expect((await appliedMigrations(fresh.url)).map((row) => row.version)).toEqual(await migrationFiles())
    } finally {
      await coordinator.close()
      await fresh.close()
    }
  })

  it('gives up on a database that accepts connections but never answers, within its timeout', async () => {
    // a TCP listener that holds every connection silently: a hung server or a black-holing proxy
    const sockets = new Set<Socket>()
    const hung: Server = createServer((socket) => { sockets.add(socket) })
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    const { port } = hung.address() as AddressInfo
    const observer = recordingObserver()
    const coordinator = new PostgresCoordinator({ connectionString: `postgres://lease-user:secret-password@127.0.0.1:${port}/postgres`, observer, timeoutMs: 500 })
    try {
      const startedAt = Date.now()
      await expect(coordinator.start()).rejects.toThrow(/PostgreSQL coordinator unavailable \(start\): connect timeout/)
      await expect(coordinator.tryAcquire('need', 1000)).rejects.toThrow(/connect timeout/)
      expect(await coordinator.check()).toMatch(/timeout/)
      expect(Date.now() - startedAt).toBeLessThan(3000)
      expect(observer.unavailableErrors).toHaveLength(2)
    } finally {
      await coordinator.close()
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => hung.close(resolve))
    }
  })

  it('survives idle connections breaking under it (no crash, next call reconnects)', async () => {
    const coordinator = new PostgresCoordinator({ connectionString: database.url })
    try {
      await coordinator.start()
      await held(coordinator, `${randomUUID()}-need`, 1000)
      await database.stop()
      await database.start()
      // the broken idle connection may fail one call; the pool replaces it
      await coordinator.tryAcquire(`${randomUUID()}-need`, 1000).catch(() => undefined)
      await held(coordinator, `${randomUUID()}-need`, 1000)
    } finally {
      await coordinator.close()
    }
  })
})

describe.skipIf(realDatabaseUrl === undefined)('PostgreSQL coordinator on a real server (TEST_DATABASE_URL)', () => {
  const url = realDatabaseUrl ?? ''

  behavesAsACoordinator({
    replicas: (count) => Array.from({ length: count }, () =>
      new PostgresCoordinator({ connectionString: url, poolSize: 4 })),
    url: () => url
  })

  it('names no database, user or password when the server refuses the connection', async () => {
    const missing = new URL(url)
    missing.pathname = `/no_such_database_${randomUUID().slice(0, 8)}`
    missing.password = 'secret-password'
    const observer = recordingObserver()
    const coordinator = new PostgresCoordinator({ connectionString: missing.href, observer })
    try {
      const error = await coordinator.tryAcquire('need', 1000).catch((error: unknown) => error)
      expect(error).toBeInstanceOf(CoordinatorUnavailableError)
      const reason = await coordinator.check()
      expect(reason).toBeDefined()
      for (const message of [(error as Error).message, reason!, ...observer.unavailableErrors.map((e) => e.message)]) {
        expectSafe(message, [missing.pathname.slice(1), decodeURIComponent(missing.username), 'secret-password', missing.host])
      }
    } finally {
      await coordinator.close()
    }
  })

  it('fails fast and without secrets when nothing listens', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise((resolve) => closed.close(resolve))
    const unreachable = new URL(url)
    unreachable.host = `127.0.0.1:${port}`
    const coordinator = new PostgresCoordinator({ connectionString: unreachable.href })
    try {
      const startedAt = Date.now()
      await expect(coordinator.tryAcquire('need', 1000)).rejects.toThrow('PostgreSQL coordinator unavailable (acquire): ECONNREFUSED')
      expect(await coordinator.check()).toBe('PostgreSQL coordinator unreachable: ECONNREFUSED')
      expect(Date.now() - startedAt).toBeLessThan(3000)
    } finally {
      await coordinator.close()
    }
  })
})
