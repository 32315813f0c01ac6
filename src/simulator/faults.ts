/** Fault injection for the simulator: what a flaky, slow or broken OpenMetal does. */

export interface FaultRule {
  /** HTTP method to match; any when omitted */
  readonly method?: string
  /** exact path, a glob where `*` stands for one path segment, or a RegExp */
  readonly path: string | RegExp
  /** how many requests it applies to (default 1; Infinity for all) */
  readonly times?: number
  /** answer this status instead of handling (with an optional JSON body and Retry-After seconds) */
  readonly status?: number
  readonly body?: unknown
  readonly retryAfter?: number
  /** wait this long before handling (a hanging upstream when longer than the client's timeout) */
  readonly delayMs?: number
  /** destroy the connection before acting, or after acting but before answering (a lost answer) */
  readonly drop?: 'before' | 'after'
  /** answer 200 with a body that is not JSON */
  readonly malformed?: boolean
}

interface ActiveRule extends FaultRule {
  remaining: number
  matcher: RegExp
}

function matcherOf (path: string | RegExp): RegExp {
  if (path instanceof RegExp) return path
  const escaped = path.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')
  return new RegExp(`^${escaped}$`)
}

export class FaultRules {
  private rules: ActiveRule[] = []

  add (rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1, matcher: matcherOf(rule.path) })
  }

  clear (): void {
    this.rules = []
  }

  /** The first rule matching this request, consumed once. */
  take (method: string, path: string): FaultRule | undefined {
    const rule = this.rules.find((candidate) => candidate.remaining > 0 && (candidate.method === undefined || candidate.method === method) && candidate.matcher.test(path))
    if (rule === undefined) return undefined
    rule.remaining--
    return rule
  }
}
