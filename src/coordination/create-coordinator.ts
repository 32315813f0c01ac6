/**
 * Which coordinator this replica uses: PostgreSQL when a database URL is configured (any
 * number of replicas), otherwise in-process (exactly one replica).
 */

import { InProcessCoordinator } from './in-process.ts'
import { PostgresCoordinator } from './postgres.ts'
import type { CoordinationObserver, Coordinator } from './coordinator.ts'

export function createCoordinator (options: { databaseUrl: string | undefined, observer?: CoordinationObserver }): Coordinator {
  // an empty variable (DATABASE_URL= in an env file) means none, not a broken URL
  if (options.databaseUrl === undefined || options.databaseUrl === '') return new InProcessCoordinator()
  return new PostgresCoordinator({ connectionString: options.databaseUrl, observer: options.observer })
}
