/**
 * The OpenMetal Central API simulator: a real HTTP server, stateful and in memory, that
 * answers the operations the adapter uses in the spec's shapes and refuses what the real API
 * refuses. Tests, the demo and the benchmarks run against it; an operator can point the
 * adapter at it to try everything without an account. Faults are injected per request
 * (faults.ts) from code or over the admin API (admin.ts); drift mode (drift.ts) answers with
 * the deviations from the spec the real API shows. See README.md.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { adminRoutes } from './admin.ts'
import { createControls, historyFor, type FaultControls, type LiveSettings } from './controls.ts'
import { applyDrift, parseDrifts, type Drift } from './drift.ts'
import { FaultRules } from './faults.ts'
import { HttpError, Router, errorBody, parseJson, readBody, respond, type Answer, type Route } from './http.ts'
import { WIPE_AFTER_STEPS, advance } from './provisioning.ts'
import { accountRoutes } from './routes-account.ts'
import { networkRoutes } from './routes-network.ts'
import { orderRoutes } from './routes-orders.ts'
import { publicRoutes } from './routes-public.ts'
import { vlanRoutes } from './routes-vlans.ts'
import { SimulatorState, defaultOrganizations, type RequestLogEntry, type SimulatorOrganization } from './state.ts'

export { SimulatorState, defaultOrganizations, type RequestLogEntry, type SimulatorOrganization } from './state.ts'
export type { AnswerHook, FaultControls, HookAnswer, HookRequest } from './controls.ts'
export { DRIFTS, parseDrifts, type Drift } from './drift.ts'
export type { ActiveFault, FaultRule } from './faults.ts'
export { PROVISION_STATUSES, type ProvisionStatus } from './provisioning.ts'

export interface SimulatorOptions {
  /** default 127.0.0.1: the admin API has no authentication */
  host?: string
  /** default 0, any free port */
  port?: number
  /** time between provisioning states, default 3000 */
  provisioningStepMs?: number
  /** lifetime of issued OAuth tokens, default 14400 (what OpenMetal issues) */
  tokenTtlSeconds?: number
  /** how long a deleted cloud stays pending delete before it is wiped from every list (its order then inactive); default 10 provisioning steps, at least 1 s (the real API: three days) */
  wipeAfterMs?: number
  /** latency added to every API call, default 0 */
  latencyMs?: number
  /** a node answers 409 this long after each power action, default 0 */
  powerLockMs?: number
  /** default: defaultOrganizations */
  organizations?: SimulatorOrganization[]
  /** one line per API call on stdout, default false */
  logger?: boolean
  /** the time source, default Date.now (tests of expiry can move time without waiting) */
  clock?: () => number
  /** deviations from the spec to answer with (drift.ts), default none; `faults.setDrift` changes them */
  drift?: Drift[]
  /** items per page of a list under link-pages/wrapped-pages, default 5 */
  pageSize?: number
  /** older orders each organisation starts with; default 12 while a paging drift is active, else 0 */
  historyOrders?: number
}

export interface Simulator {
  /** base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string
  readonly state: SimulatorState
  readonly faults: FaultControls
  close (): Promise<void>
}

const BODY_LIMIT_BYTES = 1024 * 1024

function nonNegative (name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, not ${value}`)
  return value
}

function splitUrl (raw: string): { path: string, query: URLSearchParams } {
  // not new URL(): a path like //v1/orders would be read as a host name
  const mark = raw.indexOf('?')
  return mark < 0 ? { path: raw, query: new URLSearchParams() } : { path: raw.slice(0, mark), query: new URLSearchParams(raw.slice(mark + 1)) }
}

export async function startSimulator (options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1'
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 14_400
  if (!Number.isInteger(tokenTtlSeconds) || tokenTtlSeconds <= 0) throw new RangeError(`tokenTtlSeconds must be a positive integer, not ${tokenTtlSeconds}`)
  const initialLatencyMs = nonNegative('latencyMs', options.latencyMs ?? 0)
  const powerLockMs = nonNegative('powerLockMs', options.powerLockMs ?? 0)
  const pageSize = options.pageSize ?? 5
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, not ${pageSize}`)
  const historyOrders = options.historyOrders
  if (historyOrders !== undefined && (!Number.isInteger(historyOrders) || historyOrders < 0)) throw new RangeError(`historyOrders must be an integer >= 0, not ${historyOrders}`)
  let initialDrift: Drift[]
  try {
    initialDrift = parseDrifts(options.drift ?? [])
  } catch (error) {
    throw new RangeError(error instanceof Error ? error.message : String(error))
  }
  const provisioningStepMs = nonNegative('provisioningStepMs', options.provisioningStepMs ?? 3000)
  const state = new SimulatorState({
    organizations: options.organizations ?? defaultOrganizations,
    provisioningStepMs,
    wipeAfterMs: nonNegative('wipeAfterMs', options.wipeAfterMs ?? Math.max(1000, WIPE_AFTER_STEPS * provisioningStepMs)),
    clock: options.clock ?? Date.now
  })
  const rules = new FaultRules()
  const settings: LiveSettings = { latencyMs: initialLatencyMs, drift: new Set(initialDrift), answerHook: undefined, historyOrders }
  state.setHistoryOrders(historyFor(settings.drift, historyOrders))
  const faults = createControls(state, rules, settings)
  const api = new Router([...publicRoutes(state, tokenTtlSeconds), ...orderRoutes(state, () => powerLockMs), ...networkRoutes(state), ...vlanRoutes(state), ...accountRoutes(state)])
  const admin = new Router(adminRoutes(state, faults, () => {
    faults.setDrift(initialDrift)
    state.reset()
    rules.clear()
    settings.latencyMs = initialLatencyMs
  }))
  // aborted on close, so injected delays do not keep a closed simulator's process alive
  const closing = new AbortController()
  const log = options.logger === true ? (line: string) => { process.stdout.write(`${line}\n`) } : undefined

  // the origin for the Link headers of paged lists, known once listening
  let origin = ''

  /** Handles a request; `seen` learns the matched route and the calling organisation. */
  async function dispatch (router: Router, method: string, path: string, query: URLSearchParams, headers: IncomingHttpHeaders, text: string, seen: { route?: Route, org?: string } = {}): Promise<Answer> {
    const match = router.match(method, path)
    if (match.kind === 'none') throw new HttpError(404, `no route for ${method} ${path}`)
    if (match.kind === 'wrong-method') throw new HttpError(405, `${method} is not allowed on ${path}`, { allow: match.allowed.join(', ') })
    let org = ''
    if (match.route.public !== true) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1]
      const found = bearer === undefined ? undefined : state.orgOfBearer(bearer)
      if (found === undefined) throw new HttpError(401, bearer === undefined ? 'Unauthorized: missing Bearer token' : 'Unauthorized: invalid or expired Bearer token', { 'www-authenticate': 'Bearer' })
      org = found
    }
    Object.assign(seen, { route: match.route, org })
    const body = parseJson(text)
    advance(state)
    return await match.route.handle({ params: match.params, query, headers, body, org })
  }

  function answerOf (error: unknown): Answer {
    if (error instanceof HttpError) return { status: error.status, body: { ...errorBody(error.status, error.message), ...error.extra }, headers: error.headers }
    console.error('simulator: unexpected error', error)
    return { status: 500, body: errorBody(500, 'simulator error') }
  }

  async function serveAdmin (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    try {
      const text = await readBody(request, BODY_LIMIT_BYTES)
      respond(response, await dispatch(admin, request.method ?? 'GET', path, query, request.headers, text))
    } catch (error) {
      respond(response, answerOf(error))
    }
  }

  async function serveApi (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const started = performance.now()
    const method = request.method ?? 'GET'
    const entry: RequestLogEntry = { method, path, at: Date.now(), status: 0 }
    state.requests.push(entry)
    let gone = false
    response.once('close', () => { gone = !response.writableFinished })
    const finish = (status: RequestLogEntry['status']): void => {
      entry.status = status
      log?.(`${new Date().toISOString()} ${method} ${path} ${status} ${Math.round(performance.now() - started)}ms`)
    }
    const drop = (): void => {
      request.socket.destroy()
      finish('dropped')
    }
    try {
      const text = await readBody(request, BODY_LIMIT_BYTES)
      if (settings.latencyMs > 0) await sleep(settings.latencyMs, undefined, { signal: closing.signal })
      const rule = rules.take(method, path)
      if (rule?.delayMs !== undefined) await sleep(rule.delayMs, undefined, { signal: closing.signal })
      // a client that gave up while we hung never sees an answer, so nothing is done for it
      if (gone) return finish('abandoned')
      if (rule?.drop === 'before') return drop()
      if (rule?.status !== undefined) {
        const headers: Record<string, string> = rule.retryAfter === undefined ? {} : { 'retry-after': String(rule.retryAfter) }
        respond(response, { status: rule.status, body: rule.body ?? errorBody(rule.status, 'injected fault'), headers })
        return finish(rule.status)
      }
      const seen: { route?: Route, org?: string } = {}
      let answer: Answer
      try {
        answer = await dispatch(api, method, path, query, request.headers, text, seen)
      } catch (error) {
        answer = answerOf(error)
      }
      if (seen.route !== undefined) {
        answer = applyDrift(settings.drift, `${seen.route.method} ${seen.route.path}`, answer, { origin, method, path, query, org: seen.org ?? '', pageSize })
      }
      if (settings.answerHook !== undefined) {
        answer = await settings.answerHook({ status: answer.status, body: answer.body, headers: { ...answer.headers } }, { method, path, query })
      }
      if (rule?.answerDelayMs !== undefined) await sleep(rule.answerDelayMs, undefined, { signal: closing.signal })
      if (rule?.drop === 'after') return drop()
      if (rule?.malformed === true) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"data": [{"id": "trunc')
        return finish(200)
      }
      respond(response, answer)
      finish(answer.status)
    } catch (error) {
      if (gone || closing.signal.aborted) {
        request.socket.destroy()
        return finish('abandoned')
      }
      const answer = answerOf(error)
      respond(response, answer)
      finish(answer.status)
    }
  }

  const server = createServer((request, response) => {
    const { path, query } = splitUrl(request.url ?? '/')
    const serve = path === '/_sim' || path.startsWith('/_sim/') ? serveAdmin : serveApi
    serve(request, response, path, query).catch((error: unknown) => {
      respond(response, answerOf(error))
    })
  })
  // longer than any client's idle keep-alive, so a pooled connection is never closed under a request
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closed: Promise<void> | undefined
  return {
    url: origin,
    state,
    faults,
    close () {
      closed ??= new Promise<void>((resolve) => {
        closing.abort()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    }
  }
}
