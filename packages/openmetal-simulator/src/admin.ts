/**
 * The admin API under /_sim: the fault controls and the state's counters over HTTP, for the
 * CLI simulator and tests in other processes. No authentication, so the simulator belongs on
 * loopback (its default host).
 */
import { HttpError, badRequest, ok, validator, type Route } from './http.ts'
import type { FaultControls } from './controls.ts'
import { parseDrifts } from './drift.ts'
import type { FaultRule } from './faults.ts'
import { isProvisionStatus } from './provisioning.ts'
import { DriftBody, FaultRuleBody, LatencyBody, LockBody, OrderStatusBody } from './schemas.ts'
import type { SimulatorState } from './state.ts'

const faultRule = validator(FaultRuleBody)
const orderStatus = validator(OrderStatusBody)
const lock = validator(LockBody)
const latency = validator(LatencyBody)
const drift = validator(DriftBody)

function ruleOf (body: unknown): FaultRule {
  const { pathRegex, path, times, ...rest } = faultRule(body)
  if ((path === undefined) === (pathRegex === undefined)) throw badRequest('give exactly one of path and pathRegex')
  let matcher: string | RegExp
  try {
    matcher = pathRegex === undefined ? path ?? '' : new RegExp(pathRegex)
  } catch {
    throw badRequest(`pathRegex is not a regular expression: ${pathRegex ?? ''}`)
  }
  return { ...rest, path: matcher, times: times === null || times === -1 ? Infinity : times ?? 1 }
}

export function adminRoutes (state: SimulatorState, controls: FaultControls, resetAll: () => void): Route[] {
  const done = () => ok({ ok: true })
  return [
    { method: 'GET', path: '/_sim/state', public: true, handle: () => ok(state.counters()) },
    { method: 'GET', path: '/_sim/requests', public: true, handle: () => ok(state.requests) },
    { method: 'POST', path: '/_sim/reset', public: true, handle: () => { resetAll(); return done() } },
    { method: 'GET', path: '/_sim/faults', public: true, handle: () => ok(controls.list().map(({ rule, remaining }) => ({ ...rule, path: String(rule.path), remaining: Number.isFinite(remaining) ? remaining : -1 }))) },
    {
      method: 'POST',
      path: '/_sim/faults',
      public: true,
      handle: ({ body }) => {
        try {
          controls.add(ruleOf(body))
        } catch (error) {
          // the rule itself is wrong (no action, bad times): the caller's mistake, not ours
          if (error instanceof HttpError || !(error instanceof Error)) throw error
          throw badRequest(error.message)
        }
        return done()
      }
    },
    { method: 'DELETE', path: '/_sim/faults', public: true, handle: () => { controls.clear(); return done() } },
    { method: 'POST', path: '/_sim/tokens/expire', public: true, handle: () => { controls.expireTokens(); return done() } },
    { method: 'POST', path: '/_sim/latency', public: true, handle: ({ body }) => { controls.setLatency(latency(body).ms); return done() } },
    { method: 'GET', path: '/_sim/drift', public: true, handle: () => ok({ drift: controls.drift() }) },
    {
      method: 'POST',
      path: '/_sim/drift',
      public: true,
      handle: ({ body }) => {
        controls.setDrift(parseDrifts(drift(body).drift))
        return ok({ ok: true, drift: controls.drift() })
      }
    },
    {
      method: 'POST',
      path: '/_sim/orders/:orderId/status',
      public: true,
      handle: ({ params, body }) => {
        const status = orderStatus(body).provision_status
        if (status !== null && !isProvisionStatus(status)) throw badRequest(`unknown provision_status ${status}`)
        controls.setOrderStatus(params.orderId ?? '', status)
        return done()
      }
    },
    { method: 'POST', path: '/_sim/nodes/:nodeUuid/lock', public: true, handle: ({ params, body }) => { controls.lockNode(params.nodeUuid ?? '', lock(body ?? {}).ms ?? 60_000); return done() } }
  ]
}
