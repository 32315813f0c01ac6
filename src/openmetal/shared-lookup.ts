/**
 * Single-flight with an optional short TTL: identical concurrent lookups share one upstream
 * call, and a fresh answer is reused for `ttlMs`. A cache as docs/ARCHITECTURE.md means it
 * (what a replica remembers): losing it costs a call and nothing else. Failures are never
 * cached.
 *
 * A shared call lives only as long as someone waits for it: each caller joins with its own
 * signal (its deadline), and once every caller that joined has left, the call's own signal
 * aborts (the transport stops the attempt on the wire and starts no other) and the next
 * caller starts afresh. A caller without a signal never leaves, so its call runs to its end.
 */
import { OpenMetalTransportError } from './errors.ts'
import type { Operation } from './operations.ts'

interface Flight<V> {
  readonly controller: AbortController
  promise: Promise<V>
  /** callers with a signal that have not left */
  present: number
  /** a caller without a signal joined */
  held: boolean
  /** removes each caller's abort listener once the call has settled */
  readonly departures: Array<() => void>
}

export class SharedLookup<V> {
  private readonly fresh = new Map<string, { value: V, until: number }>()
  private readonly inflight = new Map<string, Flight<V>>()
  private readonly maxEntries: number
  private readonly now: () => number

  constructor (options: { maxEntries?: number, now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.now = options.now ?? Date.now
  }

  /**
   * The value for `key`: cached, from the call already on its way, or from a new `load`, which
   * gets the shared call's signal. `caller` is the signal of whoever asks; the promise is the
   * shared call's outcome, so bound the caller's own wait with `withinDeadline`.
   */
  get (key: string, ttlMs: number, load: (signal: AbortSignal) => Promise<V>, caller?: AbortSignal): Promise<V> {
    const cached = this.fresh.get(key)
    if (cached !== undefined) {
      if (cached.until > this.now()) return Promise.resolve(cached.value)
      this.fresh.delete(key)
    }
    if (caller?.aborted === true) {
      // gone before it asked: it neither starts a call nor keeps one alive
      const refused = Promise.reject(caller.reason)
      refused.catch(() => {})
      return refused
    }
    const flight = this.inflight.get(key) ?? this.start(key, ttlMs, load)
    this.join(key, flight, caller)
    return flight.promise
  }

  /** Records a value learnt elsewhere (an immutable fact such as an order's cloud). */
  remember (key: string, value: V, ttlMs: number): void {
    if (this.fresh.size >= this.maxEntries) {
      const oldest = this.fresh.keys().next()
      if (oldest.done !== true) this.fresh.delete(oldest.value)
    }
    this.fresh.set(key, { value, until: this.now() + ttlMs })
  }

  peek (key: string): V | undefined {
    const cached = this.fresh.get(key)
    return cached !== undefined && cached.until > this.now() ? cached.value : undefined
  }

  clear (): void {
    this.fresh.clear()
  }

  private start (key: string, ttlMs: number, load: (signal: AbortSignal) => Promise<V>): Flight<V> {
    const controller = new AbortController()
    let loading: Promise<V>
    try {
      loading = load(controller.signal)
    } catch (error) {
      loading = Promise.reject(error)
    }
    const flight: Flight<V> = { controller, promise: loading, present: 0, held: false, departures: [] }
    flight.promise = loading.then((value) => {
      if (ttlMs > 0 && !controller.signal.aborted) this.remember(key, value, ttlMs)
      return value
    }).finally(() => {
      if (this.inflight.get(key) === flight) this.inflight.delete(key)
      for (const depart of flight.departures.splice(0)) depart()
    })
    this.inflight.set(key, flight)
    return flight
  }

  private join (key: string, flight: Flight<V>, caller: AbortSignal | undefined): void {
    if (caller === undefined) {
      flight.held = true
      return
    }
    flight.present++
    const leave = (): void => {
      flight.present--
      if (flight.present > 0 || flight.held) return
      // the last caller left: no one is left to answer, so the call stops and is forgotten
      if (this.inflight.get(key) === flight) this.inflight.delete(key)
      flight.promise.catch(() => {})
      flight.controller.abort(caller.reason)
    }
    caller.addEventListener('abort', leave, { once: true })
    flight.departures.push(() => { caller.removeEventListener('abort', leave) })
  }
}

/**
 * A shared upstream call (a token exchange, a lookup joined by several requests), awaited
 * by one request under its own deadline: the request gives up when its deadline passes,
 * while the shared call goes on for the others (until the last has left: shared-lookup.ts).
 */
export async function withinDeadline<T> (shared: Promise<T>, signal: AbortSignal | undefined, operation: Operation): Promise<T> {
  if (signal === undefined) return await shared
  // whoever leaves early, a failure of the shared call must not go unwatched (an unhandled
  // rejection would stop the process)
  shared.catch(() => {})
  if (signal.aborted) throw new OpenMetalTransportError(operation, 'deadline', signal.reason)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new OpenMetalTransportError(operation, 'deadline', signal.reason)) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([shared, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}
