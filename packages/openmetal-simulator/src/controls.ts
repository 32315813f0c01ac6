/** What tests and operators can do to the simulator beyond the API: faults and forced states. */
import { parseDrifts, type Drift } from './drift.ts'
import { HttpError } from './http.ts'
import type { ActiveFault, FaultRule, FaultRules } from './faults.ts'
import { setOrderStatus, type ProvisionStatus } from './provisioning.ts'
import type { SimulatorState } from './state.ts'

export interface FaultControls {
  /** injects a fault into matching requests (see FaultRule) */
  add (rule: FaultRule): void
  /** removes every fault rule */
  clear (): void
  /** the rules still live, with how many requests each has left */
  list (): ActiveFault[]
  /** every issued token answers 401 until the client exchanges again; API keys still work */
  expireTokens (): void
  /** pins an order in a provisioning state (e.g. 'manual_setup'); null lets the clock drive it again */
  setOrderStatus (orderId: string, status: ProvisionStatus | null): void
  /** power actions on this node answer 409 for the next `ms` milliseconds */
  lockNode (nodeUuid: string, ms: number): void
  /** latency added to every API call from now on */
  setLatency (ms: number): void
  /** replaces the active drifts (drift.ts); [] answers the spec's shapes again */
  setDrift (drifts: Drift[]): void
  /** the active drifts, in DRIFTS order */
  drift (): Drift[]
  /** sees (and may replace) every API answer after drift and paging, before it is sent; undefined removes it */
  setAnswerHook (hook: AnswerHook | undefined): void
}

export interface HookAnswer {
  status: number
  body: unknown
  headers: Record<string, string>
}

export interface HookRequest {
  method: string
  path: string
  query: URLSearchParams
}

export type AnswerHook = (answer: HookAnswer, request: HookRequest) => HookAnswer | Promise<HookAnswer>

/** Settings the server reads on every request, changed at run time through the controls. */
export interface LiveSettings {
  latencyMs: number
  drift: ReadonlySet<Drift>
  answerHook: AnswerHook | undefined
  /** the historyOrders option; undefined: 12 while a paging drift is active, else 0 */
  readonly historyOrders: number | undefined
}

/** How many history orders each organisation has under these drifts. */
export function historyFor (drifts: ReadonlySet<Drift>, option: number | undefined): number {
  return option ?? (drifts.has('link-pages') || drifts.has('wrapped-pages') ? 12 : 0)
}

export function createControls (state: SimulatorState, rules: FaultRules, settings: LiveSettings): FaultControls {
  return {
    add: (rule) => rules.add(rule),
    clear: () => rules.clear(),
    list: () => rules.list(),
    expireTokens: () => state.expireTokens(),
    setOrderStatus: (orderId, status) => setOrderStatus(state, orderId, status),
    lockNode (nodeUuid, ms) {
      const found = state.findNode(nodeUuid)
      if (found === undefined) throw new HttpError(404, `node ${nodeUuid} not found`)
      found.node.lockedUntil = state.now() + ms
    },
    setLatency (ms) {
      if (!(ms >= 0)) throw new HttpError(400, 'latency must be >= 0')
      settings.latencyMs = ms
    },
    setDrift (drifts) {
      settings.drift = new Set(parseDrifts(drifts))
      state.setHistoryOrders(historyFor(settings.drift, settings.historyOrders))
    },
    drift: () => [...settings.drift],
    setAnswerHook (hook) {
      settings.answerHook = hook
    }
  }
}
