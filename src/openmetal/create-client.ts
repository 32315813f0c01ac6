/**
 * createClient(config): the OpenMetal client the settings describe, on its own transport (pool,
 * timeouts, retries, tenant bulkheads). The server builds one; the CLIs build their own.
 */
import type { Config } from '../config.ts'
import type { TokenCacheObserver } from './auth.ts'
import { OpenMetalClient, type OpenMetalClientOptions } from './client.ts'
import { OpenMetalTransport, type UpstreamObserver } from './transport.ts'

/** Who is told of every call and token event (the server's metrics); the CLIs tell no one. */
export interface ClientObservers {
  readonly upstream: UpstreamObserver
  readonly tokens: TokenCacheObserver
}

export function createClient (config: Config, observers?: ClientObservers, options: OpenMetalClientOptions = {}): OpenMetalClient {
  const transport = new OpenMetalTransport({
    baseUrl: config.openMetalApiUrl,
    connections: config.upstreamConnections,
    tenantConcurrency: config.upstreamTenantConcurrency,
    tenantQueue: config.upstreamTenantQueue,
    attemptTimeoutMs: config.upstreamTimeoutMs,
    maxAttempts: config.upstreamMaxAttempts,
    retryBaseDelayMs: 200,
    retryMaxDelayMs: 3000,
    maxAnswerBytes: config.upstreamMaxAnswerBytes,
    ...(observers === undefined ? {} : { observer: observers.upstream }),
    ...(options.onAnswer === undefined ? {} : { onAnswer: options.onAnswer })
  })
  return new OpenMetalClient(transport, { catalogTtlMs: config.catalogTtlMs, ...(observers === undefined ? {} : { tokenObserver: observers.tokens }), ...options })
}
