/**
 * Rate limits of the IAL endpoints, fitted to Cycle: Cycle calls for all of its hubs from a
 * few shared egress addresses, so a limit per address alone lets one busy hub throttle every
 * other hub behind the same address. Each hub gets its own budget per address
 * (RATE_LIMIT_PER_MINUTE), counted once the body that names the hub is parsed; each address
 * has a larger ceiling over all of its hubs (RATE_LIMIT_PER_ADDRESS_PER_MINUTE), counted
 * before the body is read, so a caller inventing hub IDs gains nothing beyond it.
 */
import rateLimit from '@fastify/rate-limit'
import { addressGroup } from './connections.ts'
import { HUB_ID_MAX } from '../http/hub.ts'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Errors } from '../errors.ts'

export interface RateLimits {
  /** requests per minute per hub and address; 0 = none */
  readonly perHubAndAddress: number
  /** requests per minute per address, all hubs together; 0 = none */
  readonly perAddress: number
  /** the hub ID the request's body names, if any */
  readonly hubOf: (request: FastifyRequest) => string | undefined
}

const WINDOW_MS = 60_000

type Verdict = Awaited<ReturnType<ReturnType<FastifyInstance['createRateLimit']>>>

/**
 * Count a request against one limit. The X-RateLimit headers show the limit closest to
 * running out; over a limit, `429.rate-limiting` with Retry-After (the error handler).
 */
function count (reply: FastifyReply, verdict: Verdict, scope: string): void {
  if (verdict.isAllowed) return
  const shown = reply.getHeader('x-ratelimit-remaining')
  if (verdict.isExceeded || shown === undefined || verdict.remaining <= Number(shown)) {
    reply.headers({ 'x-ratelimit-limit': verdict.max, 'x-ratelimit-remaining': verdict.remaining, 'x-ratelimit-reset': verdict.ttlInSeconds })
  }
  if (verdict.isExceeded) throw Errors.rateLimited({ detail: `more than ${verdict.max} requests per minute ${scope}`, retryAfter: Math.max(1, verdict.ttlInSeconds) })
}

/** Register both limits on the IAL routes' scope (probes, metrics and docs live outside it). */
export async function limitIalRate (ial: FastifyInstance, limits: RateLimits): Promise<void> {
  if (limits.perHubAndAddress === 0 && limits.perAddress === 0) return
  await ial.register(rateLimit, { global: false })
  // an IPv6 client is its /64, a mapped IPv4 address its IPv4 one: the connection caps' grouping
  // (the same text as the plugin's normalizeIP, at a fraction of its cost, on every request)
  const addressOf = (request: FastifyRequest): string => addressGroup(request.ip)
  if (limits.perAddress > 0) {
    const perAddress = ial.createRateLimit({ max: limits.perAddress, timeWindow: WINDOW_MS, keyGenerator: addressOf })
    ial.addHook('onRequest', async (request, reply) => {
      count(reply, await perAddress(request), 'from this address')
    })
  }
  if (limits.perHubAndAddress > 0) {
    const perHub = ial.createRateLimit({
      max: limits.perHubAndAddress,
      timeWindow: WINDOW_MS,
      keyGenerator: (request) => {
        const hub = limits.hubOf(request)
        return `${addressOf(request)}|${hub !== undefined && hub.length <= HUB_ID_MAX ? hub : ''}`
      }
    })
    // after parsing (the hub is in the body), before the schema is checked
    ial.addHook('preValidation', async (request, reply) => {
      count(reply, await perHub(request), 'for this Cycle hub from this address')
    })
  }
}
