/**
 * Bringing the coordinator up with the replica. When it is required (COORDINATION_REQUIRED:
 * several replicas may run), a replica that cannot reach it does not start, so no two replicas
 * ever buy uncoordinated; otherwise a replica starts anyway, /readyz says why it is not ready,
 * purchases are refused until the coordinator answers, and its schema is created on first use.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CoordinatorUnavailableError, type Coordinator } from './coordinator.ts'

export interface StartOptions {
  readonly required: boolean
  /** attempts when required, `delayMs` apart (a database starting alongside the replica) */
  readonly attempts?: number
  readonly delayMs?: number
}

/** Resolves to undefined once started, or to why not (when not required); rejects when required and unreachable. */
export async function startCoordinator (coordinator: Coordinator, options: StartOptions): Promise<string | undefined> {
  const attempts = options.required ? options.attempts ?? 5 : 1
  let failure: unknown
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await coordinator.start()
      return undefined
    } catch (error) {
      failure = error
      if (attempt < attempts) await sleep(options.delayMs ?? 1000)
    }
  }
  const reason = failure instanceof CoordinatorUnavailableError ? failure.message : 'the coordinator could not be started'
  if (options.required) throw new CoordinatorUnavailableError(reason, { cause: failure })
  return reason
}
