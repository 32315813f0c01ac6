/**
 * The lease policy, what the rest of the adapter uses: take the lease for a need, waiting a
 * bounded time while another call holds it; give it back when the purchase's outcome is
 * known; keep it (let it lapse) when it is not, so nobody buys the same thing twice meanwhile.
 */

import { createHash } from 'node:crypto'
import { CoordinatorUnavailableError, LeaseBusyError } from './coordinator.ts'
import type { CoordinationObserver, Coordinator, Lease } from './coordinator.ts'

/** How long a purchase waits for another call's lease before answering 503 with Retry-After (the request deadline bounds it too). */
export const LEASE_WAIT_MS = 5000

export interface LeasesOptions {
  /** how long a lease lasts when it is neither released nor kept past its outcome */
  ttlMs: number
  /** how long acquire() waits for a busy lease before giving up with LeaseBusyError */
  waitMs: number
  /** how often a busy lease is asked for again (±25 % jitter so waiting replicas spread out) */
  pollMs?: number
  observer?: CoordinationObserver
}

export class Leases {
  readonly #coordinator: Coordinator
  readonly #ttlMs: number
  readonly #waitMs: number
  readonly #pollMs: number
  readonly #observer: CoordinationObserver | undefined

  constructor (coordinator: Coordinator, options: LeasesOptions) {
    this.#coordinator = coordinator
    this.#ttlMs = options.ttlMs
    this.#waitMs = options.waitMs
    this.#pollMs = options.pollMs ?? 200
    this.#observer = options.observer
  }

  check (): Promise<string | undefined> {
    return this.#coordinator.check()
  }

  /**
   * The lease for `key`, waiting at most `waitMs` (and never past `signal`) while another holds
   * it. Rejects with LeaseBusyError when it stays held (also when `signal` ends the wait: a
   * caller whose deadline came is told when to come back, not that it timed out), with
   * CoordinatorUnavailableError at once when the coordinator cannot be asked, and with
   * `signal.reason` when aborted before any answer.
   */
  async acquire (key: string, signal?: AbortSignal): Promise<Lease> {
    signal?.throwIfAborted()
    const deadline = Date.now() + this.#waitMs
    for (;;) {
      const acquisition = await this.#coordinator.tryAcquire(key, this.#ttlMs)
      if ('held' in acquisition) {
        this.#observer?.lease('acquired')
        if (signal?.aborted === true) {
          // the caller has gone: hand the lease straight back rather than let it block others
          void this.release(acquisition.held)
          throw signal.reason
        }
        return acquisition.held
      }
      const { remainingMs } = acquisition.busy
      const leftMs = deadline - Date.now()
      if (leftMs <= 0) {
        this.#observer?.lease('busy')
        throw new LeaseBusyError(remainingMs)
      }
      const pollMs = this.#pollMs * (0.75 + Math.random() * 0.5)
      // no point sleeping past the moment the holder's lease lapses, nor past the deadline:
      // the last try happens at the deadline
      const sleptFrom = Date.now()
      try {
        await sleep(Math.min(pollMs, remainingMs, leftMs), signal)
      } catch {
        this.#observer?.lease('busy')
        throw new LeaseBusyError(remainingMs - (Date.now() - sleptFrom))
      }
    }
  }

  /** gives the lease back; a failure only means it lapses on its own at expiresAt */
  async release (lease: Lease): Promise<void> {
    try {
      await this.#coordinator.release(lease)
      this.#observer?.lease('released')
    } catch (error) {
      // a coordinator reports its own CoordinatorUnavailableError; anything else is reported here
      if (!(error instanceof CoordinatorUnavailableError)) {
        this.#observer?.unavailable(new CoordinatorUnavailableError(`lease release failed: ${error instanceof Error ? error.name : 'unknown error'}`))
      }
    }
  }

  /** the outcome of what the lease guarded is unknown: it is not given back and lapses at expiresAt */
  keep (_lease: Lease): void {
    this.#observer?.lease('kept')
  }

  /**
   * The lease key for a need, e.g. Leases.key('order', organisationId, hubId, cycleServerId):
   * a hash, so the key names nothing by itself and differs for every organisation.
   */
  static key (...parts: string[]): string {
    return createHash('sha256').update(parts.join('\0')).digest('base64url')
  }
}

/** resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts */
function sleep (ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
