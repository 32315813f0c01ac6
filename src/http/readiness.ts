/**
 * Whether OpenMetal can be reached, as /readyz reports it: probes in quick succession (every
 * replica's, every few seconds) share one look and its answer for a few seconds, so they
 * never become OpenMetal traffic of their own.
 */
import { toAdapterError } from '../errors.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import { SharedLookup } from '../openmetal/shared-lookup.ts'

const READINESS_TIMEOUT_MS = 2000
const READINESS_TTL_MS = 5000

/** A check that resolves to undefined when OpenMetal answers, or to why it is not ready. */
export function openMetalReadiness (client: OpenMetalClient): () => Promise<string | undefined> {
  const shared = new SharedLookup<string | undefined>()
  return async () => await shared.get('openmetal', READINESS_TTL_MS, async () => {
    try {
      await client.reachable(READINESS_TIMEOUT_MS)
      return undefined
    } catch (error) {
      return toAdapterError(error).detail ?? 'OpenMetal is not reachable'
    }
  })
}
