/**
 * The in-process coordinator: leases in a Map, for a single replica (no DATABASE_URL). Same
 * rules as the PostgreSQL kind, so the lease policy and its tests cannot tell them apart.
 */

import { randomBytes } from 'node:crypto'
import type { Acquisition, Coordinator, Lease } from './coordinator.ts'

interface HeldEntry {
  readonly token: string
  readonly expiresAt: number
}

/** below this many entries a sweep is not worth doing */
const MIN_SWEEP_SIZE = 1024

export class InProcessCoordinator implements Coordinator {
  readonly kind = 'in-process'
  readonly #held = new Map<string, HeldEntry>()
  readonly #now: () => number
  /** sweep expired entries once the map reaches this size; doubling keeps the cost amortized O(1) per acquire */
  #sweepAtSize = MIN_SWEEP_SIZE

  /** `now` is injectable so tests can move time instead of waiting */
  constructor (options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now
  }

  async start (): Promise<void> {}

  async tryAcquire (key: string, ttlMs: number): Promise<Acquisition> {
    const now = this.#now()
    const current = this.#held.get(key)
    if (current !== undefined && current.expiresAt > now) {
      return { busy: { remainingMs: current.expiresAt - now } }
    }
    const lease: Lease = { key, token: randomBytes(16).toString('base64url'), expiresAt: now + ttlMs }
    this.#held.set(key, { token: lease.token, expiresAt: lease.expiresAt })
    if (this.#held.size >= this.#sweepAtSize) this.#sweep(now)
    return { held: lease }
  }

  async release (lease: Lease): Promise<boolean> {
    const current = this.#held.get(lease.key)
    if (current === undefined || current.token !== lease.token) return false
    this.#held.delete(lease.key)
    return current.expiresAt > this.#now()
  }

  async check (): Promise<string | undefined> {
    return undefined
  }

  async close (): Promise<void> {}

  /** how many entries the map holds, expired or not (for tests of the sweep) */
  get size (): number {
    return this.#held.size
  }

  #sweep (now: number): void {
    for (const [key, entry] of this.#held) {
      if (entry.expiresAt <= now) this.#held.delete(key)
    }
    this.#sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.#held.size * 2)
  }
}
