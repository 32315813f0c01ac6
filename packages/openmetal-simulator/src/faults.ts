/** Fault injection: what a flaky, slow or broken OpenMetal does, one rule at a time. */

export interface FaultRule {
  /** HTTP method to match (any case); any method when omitted */
  readonly method?: string
  /**
   * The request path without its query: exact, a glob (`*` = any run of characters inside one
   * path segment, `**` = anything, slashes included), or a RegExp tested against the path.
   */
  readonly path: string | RegExp
  /** how many matching requests it applies to; default 1, Infinity for all */
  readonly times?: number
  /** answer this status instead of handling, with an optional JSON body and Retry-After seconds */
  readonly status?: number
  readonly body?: unknown
  readonly retryAfter?: number
  /** wait this long first (a hanging upstream when longer than the client's timeout) */
  readonly delayMs?: number
  /**
   * act first, then wait this long before answering (OpenMetal slow to confirm what it already
   * did): the action stands even when the client has gone meanwhile
   */
  readonly answerDelayMs?: number
  /** destroy the socket without acting, or after acting but before answering (a lost answer) */
  readonly drop?: 'before' | 'after'
  /** act, then answer 200 with a body that is not JSON */
  readonly malformed?: boolean
}

export interface ActiveFault {
  readonly rule: FaultRule
  readonly remaining: number
}

interface Entry {
  readonly rule: FaultRule
  readonly matcher: RegExp
  remaining: number
}

export function globToRegExp (glob: string): RegExp {
  const escape = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
  const body = glob.split('**').map((part) => part.split('*').map(escape).join('[^/]*')).join('.*')
  return new RegExp(`^${body}$`)
}

export class FaultRules {
  private entries: Entry[] = []

  add (rule: FaultRule): void {
    const times = rule.times ?? 1
    if (!(times > 0)) throw new Error('a fault rule needs times > 0')
    if (rule.status === undefined && rule.delayMs === undefined && rule.answerDelayMs === undefined && rule.drop === undefined && rule.malformed !== true) {
      throw new Error('a fault rule needs one of status, delayMs, answerDelayMs, drop or malformed')
    }
    if (rule.status !== undefined && (!Number.isInteger(rule.status) || rule.status < 100 || rule.status > 599)) throw new Error(`not an HTTP status: ${rule.status}`)
    // a global or sticky RegExp remembers lastIndex between tests; a copy without those flags does not
    const matcher = rule.path instanceof RegExp ? new RegExp(rule.path.source, rule.path.flags.replace(/[gy]/g, '')) : globToRegExp(rule.path)
    this.entries.push({ rule, matcher, remaining: times })
  }

  clear (): void {
    this.entries = []
  }

  list (): ActiveFault[] {
    return this.entries.filter((entry) => entry.remaining > 0).map(({ rule, remaining }) => ({ rule, remaining }))
  }

  /** The first live rule matching this request, consumed once; rules apply in the order added. */
  take (method: string, path: string): FaultRule | undefined {
    const entry = this.entries.find((candidate) => candidate.remaining > 0 &&
      (candidate.rule.method === undefined || candidate.rule.method.toUpperCase() === method) &&
      candidate.matcher.test(path))
    if (entry === undefined) return undefined
    entry.remaining--
    // spent rules are dropped so a long run with many one-shot rules does not slow matching
    if (entry.remaining <= 0) this.entries = this.entries.filter((candidate) => candidate !== entry)
    return entry.rule
  }
}
