/**
 * Credentials -> bearer token. API keys are used as they are; OAuth client credentials are
 * exchanged once and cached per credential (keyed by a hash, never the secret), refreshed
 * at 80% of their life, with one shared exchange for concurrent callers, which stops when
 * every caller waiting for it has left.
 */
import { createHash } from 'node:crypto'
import { SharedLookup, withinDeadline } from './shared-lookup.ts'
import type { UpstreamTrace } from './transport.ts'

export type Credentials =
  | { readonly kind: 'oauth', readonly clientId: string, readonly secret: string }
  | { readonly kind: 'api-key', readonly apiKey: string }

export interface IssuedToken {
  readonly accessToken: string
  readonly expiresInSeconds: number
}

export interface TokenCacheObserver {
  hit (): void
  miss (): void
  exchange (): void
}

interface Entry {
  readonly token: string
  readonly refreshAt: number
  readonly expiresAt: number
}

/** Share of a token's life after which it is refreshed. */
const REFRESH_AT = 0.8

/**
 * One exchange of client credentials for a token. `trace` is the log record of the request
 * that started it; `signal` aborts when no caller waits for the token any more.
 */
export type Exchange = (credentials: Credentials & { kind: 'oauth' }, trace?: UpstreamTrace[], signal?: AbortSignal) => Promise<IssuedToken>

export function credentialKey (credentials: Credentials): string {
  const material = credentials.kind === 'oauth' ? `oauth\0${credentials.clientId}\0${credentials.secret}` : `key\0${credentials.apiKey}`
  return createHash('sha256').update(material).digest('base64url')
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>()
  private readonly inflight = new SharedLookup<Entry>()
  private readonly exchange: Exchange
  private readonly maxEntries: number
  private readonly now: () => number
  private readonly observer: TokenCacheObserver | undefined

  constructor (options: {
    exchange: Exchange
    maxEntries?: number
    now?: () => number
    observer?: TokenCacheObserver
  }) {
    this.exchange = options.exchange
    this.maxEntries = options.maxEntries ?? 10_000
    this.now = options.now ?? Date.now
    this.observer = options.observer
  }

  /** The Authorization header value for these credentials, within the caller's deadline (`signal`). */
  async authorization (credentials: Credentials, trace?: UpstreamTrace[], signal?: AbortSignal): Promise<string> {
    if (credentials.kind === 'api-key') return `Bearer ${credentials.apiKey}`
    const key = credentialKey(credentials)
    const cached = this.entries.get(key)
    if (cached !== undefined && this.now() < cached.refreshAt) {
      this.observer?.hit()
      return `Bearer ${cached.token}`
    }
    this.observer?.miss()
    const entry = await this.refresh(key, credentials, trace, signal)
    return `Bearer ${entry.token}`
  }

  /** Exchanges now, bypassing the cache (verify must prove the credentials today). */
  async exchangeNow (credentials: Credentials & { kind: 'oauth' }, trace?: UpstreamTrace[], signal?: AbortSignal): Promise<void> {
    await this.refresh(credentialKey(credentials), credentials, trace, signal)
  }

  /** Forgets a token OpenMetal rejected, unless a newer one replaced it meanwhile. */
  invalidate (credentials: Credentials, authorization: string): void {
    if (credentials.kind === 'api-key') return
    const key = credentialKey(credentials)
    if (this.entries.get(key) !== undefined && `Bearer ${this.entries.get(key)?.token}` === authorization) this.entries.delete(key)
  }

  get size (): number {
    return this.entries.size
  }

  /** The one exchange on its way for these credentials (or a new one), awaited within the caller's deadline. */
  private async refresh (key: string, credentials: Credentials & { kind: 'oauth' }, trace: UpstreamTrace[] | undefined, signal: AbortSignal | undefined): Promise<Entry> {
    return await withinDeadline(this.inflight.get(key, 0, (shared) => this.exchangeAndStore(key, credentials, trace, shared), signal), signal, 'exchangeToken')
  }

  private async exchangeAndStore (key: string, credentials: Credentials & { kind: 'oauth' }, trace: UpstreamTrace[] | undefined, signal: AbortSignal): Promise<Entry> {
    this.observer?.exchange()
    const issued = await this.exchange(credentials, trace, signal)
    const now = this.now()
    const lifeMs = Math.max(0, issued.expiresInSeconds) * 1000
    const entry: Entry = { token: issued.accessToken, refreshAt: now + lifeMs * REFRESH_AT, expiresAt: now + lifeMs }
    this.entries.delete(key)
    this.entries.set(key, entry)
    this.evict(now)
    return entry
  }

  private evict (now: number): void {
    if (this.entries.size <= this.maxEntries) return
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now || this.entries.size > this.maxEntries) this.entries.delete(key)
      if (this.entries.size <= this.maxEntries) break
    }
  }
}
