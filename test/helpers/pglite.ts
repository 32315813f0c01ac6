/**
 * A throwaway PostgreSQL for tests: PGlite (PostgreSQL compiled to WebAssembly, in memory)
 * served over the wire protocol on 127.0.0.1, so `pg` pools, here or in other processes, talk
 * to it like to a real server. It can be stopped (connections break, new ones are refused) and
 * started again on the same port with the same data, to show a coordinator outage.
 *
 * PGlite is one backend behind every connection: session settings (statement_timeout,
 * application_name) are not per connection, a transaction holds back the other connections'
 * statements until it ends, and advisory locks never conflict. Good enough for leases; the
 * real server runs the same suite in CI (scripts/ci/with-postgres.sh).
 * No vitest here: the multi-process tests import it too.
 */

import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface PgliteServer {
  /** postgres://lease-user:secret-password@127.0.0.1:PORT/postgres (PGlite ignores user and password; tests check neither leaks) */
  readonly url: string
  readonly port: number
  readonly user: string
  readonly password: string
  /** stops serving: open connections break, new ones are refused; the data stays */
  stop (): Promise<void>
  /** serves again on the same port with the same data */
  start (): Promise<void>
  /** runs SQL on the database directly (what tests read of the coordinator's tables) */
  query (sql: string): Promise<Array<Record<string, unknown>>>
  /** stops serving and discards the database */
  close (): Promise<void>
}

const USER = 'lease-user'
const PASSWORD = 'secret-password'

export async function startPglite (): Promise<PgliteServer> {
  const db = await PGlite.create()
  // several pools from several processes: PGLiteSocketServer's default is 1 connection
  const serve = (port: number): PGLiteSocketServer =>
    new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 100 })
  let server: PGLiteSocketServer | undefined = serve(0)
  await server.start()
  // getServerConn() is host:port once listening; port 0 asked the system for a free one
  const port = Number(server.getServerConn().split(':').pop())
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    user: USER,
    password: PASSWORD,
    async query (sql) {
      return (await db.query<Record<string, unknown>>(sql)).rows
    },
    async stop () {
      const running = server
      server = undefined
      await running?.stop()
    },
    async start () {
      if (server !== undefined) return
      const restarted = serve(port)
      await restarted.start()
      server = restarted
    },
    async close () {
      const running = server
      server = undefined
      await running?.stop()
      await db.close()
    }
  }
}
