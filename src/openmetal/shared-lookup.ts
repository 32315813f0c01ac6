/**
 * Single-flight with an optional short TTL: identical concurrent lookups share one upstream
 * call, and a fresh answer is reused for `ttlMs`. A cache in the sense of DESIGN.md: losing
 * it changes nothing but latency. Failures are never cached.
 */
export class SharedLookup<V> {
  private readonly fresh = new Map<string, { value: V, until: number }>()
  private readonly inflight = new Map<string, Promise<V>>()
  private readonly maxEntries: number
  private readonly now: () => number

  constructor (options: { maxEntries?: number, now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.now = options.now ?? Date.now
  }

  get (key: string, ttlMs: number, load: () => Promise<V>): Promise<V> {
    const cached = this.fresh.get(key)
    if (cached !== undefined) {
      if (cached.until > this.now()) return Promise.resolve(cached.value)
      this.fresh.delete(key)
    }
    const running = this.inflight.get(key)
    if (running !== undefined) return running
    const pending = load().then((value) => {
      if (ttlMs > 0) this.remember(key, value, ttlMs)
      return value
    }).finally(() => this.inflight.delete(key))
    this.inflight.set(key, pending)
    return pending
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
}
