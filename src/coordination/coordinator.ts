/**
 * The coordinator: the one place where replicas agree on who may make a purchase. A lease is
 * the right to act for one need (an order for a Cycle server, a bought IP block for it); it
 * is taken with one atomic compare-and-set, expires on the coordinator's own clock, and is
 * given back only with its holder's token. Two kinds behind one interface: in-process (one
 * replica) and PostgreSQL (any number). Nothing above this folder knows which is in use.
 */

/** A held lease: its key, the holder's secret token, and when it lapses (this process's clock). */
export interface Lease {
  readonly key: string
  readonly token: string
  /** Date.now() instant after which another caller may take the key */
  readonly expiresAt: number
}

/** What one attempt to take a key gives: the lease, or how long its current holder still has it. */
export type Acquisition =
  | { readonly held: Lease }
  | { readonly busy: { readonly remainingMs: number } }

export type CoordinatorKind = 'in-process' | 'postgres'

export interface Coordinator {
  readonly kind: CoordinatorKind
  /** creates or migrates what it needs, idempotently (several replicas may start at once); rejects when it cannot */
  start (): Promise<void>
  /** takes `key` for `ttlMs` when nobody holds it or its holder's lease has expired: one compare-and-set */
  tryAcquire (key: string, ttlMs: number): Promise<Acquisition>
  /** gives a lease back; only the holder's token does anything. Whether it was still held. */
  release (lease: Lease): Promise<boolean>
  /** undefined when usable, otherwise why not (for /readyz); never throws */
  check (): Promise<string | undefined>
  close (): Promise<void>
}

/** The coordinator could not be asked (down, unreachable, too slow): nothing may be bought. */
export class CoordinatorUnavailableError extends Error {
  readonly code = 'COORDINATOR_UNAVAILABLE'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CoordinatorUnavailableError'
  }
}

/** Another call holds the lease for this need; the caller may retry after `retryAfterSeconds` (never after the lease lapses). */
export class LeaseBusyError extends Error {
  readonly code = 'COORDINATION_LEASE_BUSY'
  readonly retryAfterSeconds: number

  constructor (remainingMs: number) {
    super('another call is buying this right now')
    this.name = 'LeaseBusyError'
    this.retryAfterSeconds = Math.max(1, Math.floor(remainingMs / 1000))
  }
}

/** What happened to leases, for metrics: taken, found held by another, given back, kept past an unknown outcome. */
export type LeaseEvent = 'acquired' | 'busy' | 'released' | 'kept'

export interface CoordinationObserver {
  lease (event: LeaseEvent): void
  /** the coordinator could not be asked; called on every failure (the reporter decides what to log) */
  unavailable (error: CoordinatorUnavailableError): void
}
