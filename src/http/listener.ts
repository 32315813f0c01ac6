/**
 * How the listener reads requests: plain HTTP, or native HTTPS with the certificate and key
 * read (and checked) at start. Slow clients must send the whole request (headers, then body)
 * in time; an answer that takes long is the request deadline's business, not these.
 */
import { loadTls, type Config } from '../config.ts'

export function listenerOptions (config: Config) {
  // Node checks the timeouts periodically: often enough that a connection outlives its
  // timeout by a fraction of it at most
  const timeouts = {
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: config.headersTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
    // Node would answer an HTTP/1.1 request without Host with a bare 400 of its own; the
    // adapter refuses it in Cycle's envelope instead (edge/client-errors.ts)
    requireHostHeader: false
  }
  return {
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    ...(config.tls === undefined ? { http: timeouts } : { https: { ...loadTls(config.tls), ...timeouts } })
  }
}
