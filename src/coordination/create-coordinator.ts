/**
 * Which coordinator this replica uses: PostgreSQL when a database URL is configured (any
 * number of replicas), otherwise in-process (exactly one replica). The PostgreSQL driver is
 * loaded only when it is used: a replica without a database does not carry it in memory.
 */

import { InProcessCoordinator } from './in-process.ts'
import type { CoordinationObserver, Coordinator } from './coordinator.ts'

export async function createCoordinator (options: { databaseUrl: string | undefined, observer?: CoordinationObserver }): Promise<Coordinator> {
  // an empty variable (DATABASE_URL= in an env file) means none, not a broken URL
  if (options.databaseUrl === undefined || options.databaseUrl === '') return new InProcessCoordinator()
  const { PostgresCoordinator } = await import('./postgres.ts')
  return new PostgresCoordinator({ connectionString: options.databaseUrl, observer: options.observer })
}
