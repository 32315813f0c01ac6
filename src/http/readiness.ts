/**
 * Whether this replica can serve, as /readyz reports it: OpenMetal can be reached and so can
 * the coordinator purchases are made under. Probes in quick succession (every replica's, every
 * few seconds) share one look and its answer for a few seconds, so they never become OpenMetal
 * or database traffic of their own.
 */
import { toAdapterError } from '../errors.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import type { Leases } from '../coordination/leases.ts'
import { SharedLookup } from '../openmetal/shared-lookup.ts'

const READINESS_TIMEOUT_MS = 2000
const READINESS_TTL_MS = 5000

/** A check that resolves to undefined when the replica is ready, or to why it is not. */
export function readiness (client: OpenMetalClient, leases: Pick<Leases, 'check'>): () => Promise<string | undefined> {
  const shared = new SharedLookup<string | undefined>()
  return async () => await shared.get('ready', READINESS_TTL_MS, async () => {
    const [openMetal, coordinator] = await Promise.all([
      client.reachable(READINESS_TIMEOUT_MS).then(() => undefined, (error: unknown) => toAdapterError(error).detail ?? 'OpenMetal is not reachable'),
      leases.check().then((problem) => problem === undefined ? undefined : `coordinator: ${problem}`)
    ])
    return openMetal ?? coordinator
  })
}
