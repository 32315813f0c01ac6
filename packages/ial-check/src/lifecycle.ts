/**
 * Cycle's lifecycle of one server, played against any IAL adapter in Cycle's order and
 * cadence, with every answer checked against the contract (contract.ts). The engine of
 * `ial-check` and of `npm run demo`.
 *
 * Order: verify (right and deliberately wrong credentials), locations, server-models,
 * configure, provision, status (polled until provisioned), restart, allocate (ipv4), release,
 * decommission. `extra` round-trips from the provision answer (then from the latest status
 * answer) into the status, restart and decommission requests.
 *
 * Safety with real servers: provision is skipped when an earlier step failed, and once a
 * server exists decommission runs even when later steps failed or the run was interrupted
 * (unless `keep`).
 */
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { retryAfterSeconds } from './retry-after.ts'
import { checkError, checkSuccess, ENDPOINTS, messages, show, type Endpoint } from './contract.ts'
import {
  allocateBody, configureBody, cycleServer, listBody, objectId, provisionBody, releaseBody, serverActionBody, statusBody, verifyBody,
  type AllocatedIp, type CycleServer, type Tenant
} from './cycle-requests.ts'

export const STEPS = ['verify', 'locations', 'server-models', 'configure', 'provision', 'status', 'restart', 'allocate', 'release', 'decommission'] as const
export type StepName = typeof STEPS[number]

/** Steps that `keep` skips: they take away what the run created. */
export const DESTRUCTIVE: ReadonlySet<StepName> = new Set<StepName>(['release', 'decommission'])

export interface Credentials {
  readonly client_id?: string
  readonly secret?: string
  readonly api_key?: string
}

export interface LifecycleOptions {
  /** the adapter's base URL */
  readonly url: string
  readonly credentials: Credentials
  /** seconds between provision-status polls (Cycle: 5); fractions allowed */
  readonly interval: number
  /** seconds to wait for provisioned (real provisioning takes 15-30 minutes; default 45 min) */
  readonly timeout: number
  /** the Cycle hub ID to send (24 hex); default a fresh one per run */
  readonly hubId?: string
  readonly hubName?: string
  /** base64 string sent as auth.config */
  readonly config?: string
  /** skip release and decommission: the server and its IP stay */
  readonly keep?: boolean
  /** run only these steps (in Cycle's order); values a step needs come from the options below */
  readonly only?: readonly StepName[]
  /** provision-status: GET with a JSON body (Cycle's way, default) or POST */
  readonly statusMethod?: 'GET' | 'POST'
  /** the provider model (`provider.model_id`) to provision; default the first with stock */
  readonly model?: string
  /** the provider location (`provider.location_id`) to provision in */
  readonly location?: string
  /** an existing server's provider ID, for single steps (status, restart, allocate, decommission) */
  readonly serverId?: string
  /** that server's `extra`, as the provision or status answer gave it */
  readonly extra?: Record<string, unknown>
  /** seconds one HTTP exchange may take (default 60) */
  readonly requestTimeout?: number
  /** calls one step repeats after a 409, 429 or 503 with Retry-After, as a patient platform does (default 3; 0: none) */
  readonly retries?: number
  /** longest wait, in seconds, for one Retry-After; a longer one is waited this long (default 300) */
  readonly retryWaitMax?: number
  /** how a Retry-After is waited (default a timer the abort signal ends): tests bring a clock of their own */
  readonly sleep?: (seconds: number, signal: AbortSignal | undefined) => Promise<void>
  /** abort: stops polling and waiting; decommission still runs for a server this run created */
  readonly signal?: AbortSignal
}

/** One request and its answer, credentials masked. */
export interface Exchange {
  readonly step: StepName
  readonly method: 'GET' | 'POST'
  readonly path: string
  /** HTTP status; 0 when no answer came */
  readonly status: number
  readonly ms: number
  readonly request: unknown
  /** the answer's body: parsed JSON, or the text when it is not JSON */
  readonly response: unknown
}

export type Facts = Record<string, string | number | boolean>

/** A call repeated because the adapter answered 409, 429 or 503 with Retry-After. */
export interface Retry {
  readonly step: StepName
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly status: number
  /** the error code of the answer, when it had one */
  readonly code?: string
  /** seconds the Retry-After asked for */
  readonly retryAfter: number
  /** seconds waited: the Retry-After, at most `retryWaitMax` */
  readonly waited: number
}

export interface StepResult {
  readonly step: StepName
  readonly outcome: 'passed' | 'failed' | 'skipped'
  /** false only when the step failed */
  readonly ok: boolean
  readonly ms: number
  readonly facts: Facts
  readonly problems: string[]
  /** why the step did not run */
  readonly skipped?: string
  /** for a failed step: the last exchange, to see what the adapter answered */
  readonly exchange?: Exchange
  /** calls the step repeated, honouring the adapter's Retry-After */
  readonly retries?: readonly Retry[]
}

export interface Progress {
  readonly step: 'status'
  /** seconds since the first provision-status call */
  readonly elapsed: number
  /** from the status answer's `extra` (`state`, `order_status`, `status`), else 'provisioning' */
  readonly state: string
  readonly polls: number
  readonly serverId: string
}

export interface Reporter {
  onStepStart? (step: StepName): void
  onStepFinish? (result: StepResult): void
  /** after each provision-status answer that is not yet provisioned */
  onProgress? (progress: Progress): void
  onExchange? (exchange: Exchange): void
  /** before waiting out a Retry-After */
  onRetry? (retry: Retry): void
  /** @deprecated alias of onExchange (scripts/demo.ts) */
  exchange? (exchange: Exchange): void
}

export interface LifecycleReport {
  /** every step that ran passed (and at least one ran) */
  readonly ok: boolean
  readonly url: string
  readonly startedAt: string
  readonly ms: number
  readonly summary: { readonly passed: number, readonly failed: number, readonly skipped: number }
  readonly steps: StepResult[]
  /** a server this run created and did not decommission: how to find it again */
  readonly leftover?: { readonly serverId: string, readonly model: string, readonly location: string, readonly extra: Record<string, unknown> | null }
}

class StepFailure extends Error {
  readonly problems: string[]
  readonly facts: Facts

  constructor (problems: string[], facts: Facts = {}) {
    super(problems.join('; '))
    this.problems = problems
    this.facts = facts
  }
}

/** A value a step needs is missing. */
class Missing extends Error {
  readonly what: string
  readonly hint: string

  constructor (what: string, hint: string) {
    super(`needs ${what}`)
    this.what = what
    this.hint = hint
  }
}

const SECRET_KEYS = new Set(['secret', 'api_key', 'config', 'client_id'])

/** The value as it may be shown: credential fields replaced by `***`. */
export function masked (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, SECRET_KEYS.has(key) && typeof item === 'string' ? '***' : masked(item)]))
}

/** Replaces every occurrence of the secrets in every string of `value` (an adapter may echo them). */
export function redactor (secrets: readonly (string | undefined)[]): <T>(value: T) => T {
  const known = secrets.filter((secret): secret is string => secret !== undefined && secret.length >= 4).sort((a, b) => b.length - a.length)
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return known.reduce((text, secret) => text.replaceAll(secret, '***'), value)
    if (Array.isArray(value)) return value.map(scrub)
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [scrub(key) as string, scrub(item)]))
    return value
  }
  return <T>(value: T): T => scrub(value) as T
}

/** What the status answer's `extra` says about progress, for people. */
export function pollState (extra: unknown): string {
  if (typeof extra === 'object' && extra !== null) {
    for (const key of ['state', 'order_status', 'status', 'provision_status']) {
      const value = (extra as Record<string, unknown>)[key]
      if (typeof value === 'string' && value !== '') return value
    }
  }
  return 'provisioning'
}

function seconds (value: number): string {
  return `${value < 10 ? Math.round(value * 10) / 10 : Math.round(value)} s`
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// ---------------------------------------------------------------------------------------
// IPv4 arithmetic for the allocate answer

function ipv4 (text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined
  const parts = text.split('.')
  if (parts.length !== 4 || parts.some((part) => !/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255)) return undefined
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0)
}

function dotted (value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.')
}

function cidr (text: unknown): { address: number, prefix: number } | undefined {
  if (typeof text !== 'string') return undefined
  const [address, prefix, ...rest] = text.split('/')
  const parsed = ipv4(address)
  if (parsed === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) return undefined
  return { address: parsed, prefix: Number(prefix) }
}

/** Problems with an allocate answer's addresses (DESIGN: cidr = address/prefix, network in CIDR form). */
export function checkAllocation (data: { cidr?: unknown, gateway?: unknown, netmask?: unknown, network?: unknown }): string[] {
  const problems: string[] = []
  const block = cidr(data.cidr)
  if (block === undefined) problems.push(`data.cidr is ${show(data.cidr)}, not an IPv4 address with a prefix length (e.g. 198.51.100.115/28)`)
  if (ipv4(data.gateway) === undefined) problems.push(`data.gateway is ${show(data.gateway)}, not an IPv4 address`)
  if (block === undefined) return problems
  const size = 2 ** (32 - block.prefix)
  const network = Math.floor(block.address / size) * size
  const netmask = dotted(2 ** 32 - size)
  if (data.netmask !== netmask) problems.push(`data.netmask is ${show(data.netmask)}, but the /${block.prefix} of data.cidr means ${netmask}`)
  const expected = `${dotted(network)}/${block.prefix}`
  if (data.network !== expected) problems.push(`data.network is ${show(data.network)}, expected ${expected} (the network of ${String(data.cidr)}, in CIDR form)`)
  const gateway = ipv4(data.gateway)
  if (gateway !== undefined && (gateway < network || gateway >= network + size)) problems.push(`data.gateway ${String(data.gateway)} is outside ${expected}`)
  return problems
}

// ---------------------------------------------------------------------------------------
// the run

interface ModelChoice {
  readonly modelId: string
  readonly locationId: string
  readonly modelClass?: string
  readonly modelCategory?: string
}

interface Context {
  readonly options: LifecycleOptions
  readonly reporter: Reporter
  readonly tenant: Tenant
  readonly redact: <T>(value: T) => T
  readonly results: StepResult[]
  step: StepName
  lastExchange: Exchange | undefined
  /** provider location IDs the locations step listed */
  listedLocations: string[] | undefined
  choice: ModelChoice | undefined
  server: CycleServer | undefined
  serverId: string | undefined
  /** the server exists because this run provisioned it */
  created: boolean
  extra: Record<string, unknown> | null
  ip: AllocatedIp | undefined
  /** the calls the current step repeated */
  retries: Retry[]
}

interface Answer {
  readonly status: number
  readonly body: unknown
  readonly json: boolean
  /** seconds, from a Retry-After header */
  readonly retryAfter: number | undefined
}

/** Answers after which Cycle, told how long to wait, calls again: a locked node, a rate limit, not ready yet. */
const RETRY_STATUSES = new Set([409, 429, 503])
const DEFAULT_RETRIES = 3
const DEFAULT_RETRY_WAIT_MAX = 300

async function exchange (context: Context, method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<Answer> {
  const started = performance.now()
  const timeout = (context.options.requestTimeout ?? 60) * 1000
  const report = (status: number, response: unknown): void => {
    const call: Exchange = { step: context.step, method, path, status, ms: Math.round(performance.now() - started), request: context.redact(masked(body)), response: context.redact(response) }
    context.lastExchange = call
    context.reporter.onExchange?.(call)
    context.reporter.exchange?.(call)
  }
  let status: number
  let text: string
  let retryAfter: number | undefined
  try {
    const response = await request(`${context.options.url.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(signal === undefined ? {} : { signal })
    })
    status = response.statusCode
    retryAfter = retryAfterSeconds(response.headers['retry-after'])
    text = await response.body.text()
  } catch (error) {
    const reason = error as { code?: string, message?: string }
    report(0, null)
    throw new StepFailure([context.redact(`${method} ${path} got no answer: ${[reason.code, reason.message].filter((part) => part !== undefined && part !== '').join(' ')}`)])
  }
  let parsed: unknown = text
  let json = false
  try {
    parsed = JSON.parse(text)
    json = true
  } catch {
    // kept as text
  }
  report(status, parsed)
  return { status, body: parsed, json, retryAfter }
}

function errorCode (answer: Answer): string | undefined {
  const error = isObject(answer.body) && isObject(answer.body.error) ? answer.body.error : undefined
  return typeof error?.code === 'string' ? error.code : undefined
}

/**
 * After a 409, 429 or 503 that says when to come back: waits that long (at most
 * `retryWaitMax`) and answers 'retry' while the step has retries left; 'exhausted' once it
 * has none; 'no' for any other answer, when retries are off, or when the run is being stopped.
 */
async function retryAfterAnswer (context: Context, method: 'GET' | 'POST', path: string, answer: Answer): Promise<'retry' | 'exhausted' | 'no'> {
  const { options } = context
  const stopping = (): boolean => options.signal?.aborted === true
  const bound = options.retries ?? DEFAULT_RETRIES
  if (!RETRY_STATUSES.has(answer.status) || answer.retryAfter === undefined || bound === 0 || stopping()) return 'no'
  if (context.retries.length >= bound) return 'exhausted'
  const code = errorCode(answer)
  const retry: Retry = {
    step: context.step,
    method,
    path,
    status: answer.status,
    ...(code === undefined ? {} : { code }),
    retryAfter: answer.retryAfter,
    waited: Math.min(answer.retryAfter, options.retryWaitMax ?? DEFAULT_RETRY_WAIT_MAX)
  }
  context.retries.push(retry)
  context.reporter.onRetry?.(retry)
  await (options.sleep ?? wait)(retry.waited, options.signal)
  return stopping() ? 'no' : 'retry'
}

function errorSummary (method: string, path: string, answer: Answer): string {
  const error = isObject(answer.body) && isObject(answer.body.error) ? answer.body.error : undefined
  const code = errorCode(answer)
  const detail = typeof error?.detail === 'string' ? error.detail : typeof error?.title === 'string' ? error.title : answer.json ? '' : show(answer.body)
  const source = typeof error?.source === 'string' ? ` (at ${error.source})` : ''
  return `${method} ${path} answered HTTP ${answer.status}${code === undefined ? '' : ` ${code}`}${detail === '' ? '' : `: ${detail}`}${source}`
}

/** A call that must succeed; its `data` checked against the contract. */
async function call (context: Context, endpoint: Endpoint, body: unknown, method: 'GET' | 'POST' = ENDPOINTS[endpoint].method, signal?: AbortSignal): Promise<unknown> {
  const { path } = ENDPOINTS[endpoint]
  let answer: Answer
  let retry: 'retry' | 'exhausted' | 'no'
  do {
    answer = await exchange(context, method, path, body, signal)
    retry = answer.status === 200 ? 'no' : await retryAfterAnswer(context, method, path, answer)
  } while (retry === 'retry')
  if (answer.status !== 200) {
    const gaveUp = retry === 'exhausted' ? [`still HTTP ${answer.status} after ${context.retries.length} ${context.retries.length === 1 ? 'retry' : 'retries'} honouring Retry-After (at most ${context.options.retries ?? DEFAULT_RETRIES} per step)`] : []
    throw new StepFailure(context.redact([errorSummary(method, path, answer), ...gaveUp, ...messages(checkError(answer.status, answer.body))]), { http_status: answer.status })
  }
  if (!answer.json) throw new StepFailure(context.redact([`${method} ${path} answered HTTP 200 with a body that is not JSON: ${show(answer.body)}`]))
  const problems = checkSuccess(endpoint, answer.status, answer.body)
  if (problems.length > 0) throw new StepFailure(context.redact(messages(problems)))
  return (answer.body as { data: unknown }).data
}

function need<T> (value: T | undefined | null, what: string, hint: string): T {
  if (value === undefined || value === null) throw new Missing(what, hint)
  return value
}

function wrongCredentials (credentials: Credentials): Credentials {
  const wrong = `ial-check-wrong-${randomBytes(8).toString('hex')}`
  if (credentials.client_id !== undefined) return { client_id: credentials.client_id, secret: wrong }
  if (credentials.api_key !== undefined) return { api_key: wrong }
  return { client_id: 'ial-check-wrong', secret: wrong }
}

function wait (seconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve()
      return
    }
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, seconds * 1000)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** the server for steps that need one: this run's, or one described by the options */
function serverFor (context: Context, what: 'model' | 'location'): CycleServer {
  if (context.server !== undefined) return context.server
  const { options } = context
  const location = need(context.choice?.locationId ?? options.location, 'the server\'s location', 'pass --location POD')
  const model = what === 'model' ? need(context.choice?.modelId ?? options.model, 'the server\'s model', 'pass --model SKU') : context.choice?.modelId ?? options.model ?? ''
  context.server = cycleServer(model, location)
  return context.server
}

function serverId (context: Context): string {
  return need(context.serverId, 'a server_id', 'run provision first, or pass --server-id ID (and --extra JSON from its provision answer)')
}

function failed (context: Context, step: StepName): boolean {
  return context.results.some((result) => result.step === step && result.outcome === 'failed')
}

function requireProvisioned (context: Context): void {
  if (failed(context, 'status') || failed(context, 'provision')) throw new Missing('a provisioned server', 'status did not report it provisioned')
}

type Step = (context: Context) => Promise<Facts>

const steps: Record<StepName, Step> = {
  async verify (context) {
    const right = await call(context, 'verify', verifyBody(context.tenant)) as { valid: boolean }
    const problems: string[] = []
    if (!right.valid) problems.push('the credentials were answered {"valid": false}: are they right? (every later step needs them)')
    const wrong: Tenant = { ...wrongCredentials(context.options.credentials), cycle: context.tenant.cycle }
    try {
      const answer = await call(context, 'verify', verifyBody(wrong)) as { valid: boolean }
      if (answer.valid) problems.push('deliberately wrong credentials were answered {"valid": true}')
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error
      problems.push(`deliberately wrong credentials: Cycle expects HTTP 200 {"data": {"valid": false}}, but ${error.problems[0] ?? 'the call failed'}`, ...error.problems.slice(1))
    }
    if (problems.length > 0) throw new StepFailure(problems)
    return { valid: true, wrong_credentials: 'valid:false' }
  },

  async locations (context) {
    const data = await call(context, 'locations', listBody(context.tenant)) as { locations: Array<{ name: string, provider?: { location_id?: string } }> | null }
    const locations = data.locations ?? []
    const ids = locations.map((location) => location.provider?.location_id ?? '')
    const problems: string[] = []
    ids.forEach((id, index) => {
      if (id === '') problems.push(`data.locations[${index}].provider.location_id is missing: Cycle cannot refer to the location`)
      else if (ids.indexOf(id) !== index) problems.push(`data.locations[${index}].provider.location_id ${id} is listed twice`)
    })
    if (problems.length > 0) throw new StepFailure(problems)
    context.listedLocations = ids
    return { locations: locations.length, ...(ids.length > 0 ? { first: ids[0] ?? '' } : {}) }
  },

  async 'server-models' (context) {
    const { options } = context
    const data = await call(context, 'server-models', listBody(context.tenant)) as { models: Array<{ provider: { model_id: string, category: string, class?: string | null, locations?: string[] | null } }> | null }
    const models = data.models ?? []
    const problems: string[] = []
    const ids = models.map((model) => model.provider.model_id)
    ids.forEach((id, index) => {
      if (id === '') problems.push(`data.models[${index}].provider.model_id is empty`)
      else if (ids.indexOf(id) !== index) problems.push(`data.models[${index}].provider.model_id ${id} is listed twice`)
    })
    const listed = context.listedLocations
    if (listed !== undefined) {
      models.forEach((model, index) => {
        for (const pod of model.provider.locations ?? []) {
          if (!listed.includes(pod)) problems.push(`data.models[${index}].provider.locations names ${pod}, which the locations answer does not list`)
        }
      })
    }
    if (problems.length > 0) throw new StepFailure(problems)
    const stocked = models.filter((model) => (model.provider.locations ?? []).length > 0)
    const facts: Facts = { models: models.length, with_stock: stocked.length }
    const model = stocked.find((candidate) => (options.model === undefined || candidate.provider.model_id === options.model) &&
      (options.location === undefined || (candidate.provider.locations ?? []).includes(options.location)))
    if (model === undefined) {
      const named = options.model === undefined ? undefined : models.find((candidate) => candidate.provider.model_id === options.model)
      const why = options.model !== undefined && named === undefined
        ? `no server model has provider.model_id ${options.model} (offered: ${ids.slice(0, 12).join(', ')}${ids.length > 12 ? ', ...' : ''})`
        : named !== undefined
          ? `${options.model ?? ''} has no stock${options.location === undefined ? '' : ` in ${options.location}`} (stock in: ${(named.provider.locations ?? []).join(', ') || 'none'})`
          : `no server model has stock${options.location === undefined ? '' : ` in ${options.location}`}: nothing to provision`
      throw new StepFailure([why], facts)
    }
    const location = options.location ?? model.provider.locations?.[0] ?? ''
    context.choice = { modelId: model.provider.model_id, locationId: location, modelCategory: model.provider.category, ...(typeof model.provider.class === 'string' && model.provider.class !== '' ? { modelClass: model.provider.class } : {}) }
    return { ...facts, model: model.provider.model_id, location }
  },

  async configure (context) {
    const location = need(context.choice?.locationId ?? context.options.location ?? context.listedLocations?.[0], 'a location', 'pass --location POD, or run locations or server-models first')
    const data = await call(context, 'configure', configureBody(context.tenant, location)) as { configured: boolean, version?: string | null }
    if (!data.configured) throw new StepFailure([`data.configured is false for ${location}`])
    return { location, ...(typeof data.version === 'string' ? { version: data.version } : {}) }
  },

  async provision (context) {
    const { options } = context
    const modelId = need(context.choice?.modelId ?? options.model, 'a server model', 'pass --model SKU, or run server-models first')
    const locationId = need(context.choice?.locationId ?? options.location, 'a location', 'pass --location POD, or run server-models first')
    const server = cycleServer(modelId, locationId, {
      ...(context.choice?.modelClass === undefined ? {} : { modelClass: context.choice.modelClass }),
      ...(context.choice?.modelCategory === undefined ? {} : { modelCategory: context.choice.modelCategory })
    })
    const data = await call(context, 'provision', provisionBody(context.tenant, server)) as { server_id: string, extra?: Record<string, unknown>, location_modified?: boolean }
    if (data.server_id === '') throw new StepFailure(['data.server_id is empty: Cycle would have nothing to refer to the server by'])
    context.server = server
    context.serverId = data.server_id
    context.created = true
    context.extra = data.extra ?? null
    return { server_id: data.server_id, model: modelId, location: locationId, hostname: server.hostname, ...(data.location_modified === true ? { location_modified: true } : {}) }
  },

  async status (context) {
    const { options } = context
    const id = serverId(context)
    const server = serverFor(context, 'location')
    const method = options.statusMethod ?? 'GET'
    const started = performance.now()
    let polls = 0
    let transient = 0
    let transients = 0
    let state = 'provisioning'
    for (;;) {
      const elapsed = (): number => (performance.now() - started) / 1000
      let data: { server_id: string, provisioned: boolean, auth: { uuid?: string | null, initial_ips?: string[] | null, mac_addr?: string | null }, extra?: Record<string, unknown> }
      try {
        polls++
        data = await call(context, 'status', statusBody(context.tenant, server, id, context.extra), method, options.signal) as typeof data
        transient = 0
      } catch (error) {
        if (!(error instanceof StepFailure)) throw error
        if (options.signal?.aborted === true) throw new StepFailure([`interrupted after ${seconds(elapsed())} (last state: ${state})`], { polls })
        const status = typeof error.facts.http_status === 'number' ? error.facts.http_status : 0
        // Cycle polls again after a 429, a 5xx or no answer; a few in a row are tolerated
        if ((status === 0 || status === 429 || status >= 500) && transient < 3 && elapsed() + options.interval <= options.timeout) {
          transient++
          transients++
          await wait(options.interval, options.signal)
          continue
        }
        if (method === 'GET' && status >= 400 && status < 500 && polls === 1) throw new StepFailure([...error.problems, ...await getBodyHint(context, server, id)], { polls })
        throw new StepFailure(error.problems, { polls })
      }
      if (isObject(data.extra)) context.extra = data.extra
      state = pollState(data.extra)
      if (data.provisioned) {
        const problems: string[] = []
        if (typeof data.auth.uuid !== 'string' || data.auth.uuid === '') problems.push('provisioned, but data.auth.uuid is empty: Cycle cannot recognise the server when it boots')
        const ips = data.auth.initial_ips ?? []
        if (ips.length === 0) problems.push('provisioned, but data.auth.initial_ips is empty')
        if (typeof data.auth.mac_addr !== 'string' || data.auth.mac_addr === '') problems.push('provisioned, but data.auth.mac_addr is empty')
        else if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(data.auth.mac_addr)) problems.push(`data.auth.mac_addr ${show(data.auth.mac_addr)} is not a MAC address`)
        const facts: Facts = { server_id: id, uuid: data.auth.uuid ?? '', ip: ips.join(','), mac: data.auth.mac_addr ?? '', polls, waited_s: Math.round(elapsed() * 10) / 10 }
        if (data.server_id !== id && data.server_id !== '') facts.status_server_id = data.server_id
        if (transients > 0) facts.transient_errors = transients
        if (problems.length > 0) throw new StepFailure(problems, facts)
        return facts
      }
      context.reporter.onProgress?.({ step: 'status', elapsed: elapsed(), state, polls, serverId: id })
      if (options.signal?.aborted === true) throw new StepFailure([`interrupted after ${seconds(elapsed())} (last state: ${state})`], { polls })
      if (elapsed() + options.interval > options.timeout) throw new StepFailure([`not provisioned after ${seconds(elapsed())} (timeout ${seconds(options.timeout)}; last state: ${state})`], { polls })
      await wait(options.interval, options.signal)
    }
  },

  async restart (context) {
    requireProvisioned(context)
    const id = serverId(context)
    const done = await call(context, 'restart', serverActionBody(context.tenant, serverFor(context, 'model'), id, context.extra))
    if (done !== true) throw new StepFailure([`data is ${show(done)}: restart must answer true`])
    return { server_id: id }
  },

  async allocate (context) {
    requireProvisioned(context)
    const id = serverId(context)
    const data = await call(context, 'allocate', allocateBody(context.tenant, serverFor(context, 'location'), id, 'ipv4')) as { ip_id: string, ip_assignment_id: string, cidr: string, gateway: string, netmask: string, network: string, nat_private_ip?: string | null }
    context.ip = data
    const problems = checkAllocation(data)
    if (data.ip_id === '') problems.push('data.ip_id is empty: release would have nothing to refer to')
    if (problems.length > 0) throw new StepFailure(problems)
    return { ip: data.cidr, gateway: data.gateway, network: data.network }
  },

  async release (context) {
    const id = serverId(context)
    const ip = need(context.ip, 'an allocated IP', 'run allocate in the same run')
    const done = await call(context, 'release', releaseBody(context.tenant, serverFor(context, 'location'), id, ip))
    if (done !== true) throw new StepFailure([`data is ${show(done)}: release must answer true`])
    context.ip = undefined
    return { ip: ip.cidr }
  },

  async decommission (context) {
    const id = serverId(context)
    const done = await call(context, 'decommission', serverActionBody(context.tenant, serverFor(context, 'model'), id, context.extra))
    if (done !== true) throw new StepFailure([`data is ${show(done)}: decommission must answer true`])
    context.created = false
    return { server_id: id }
  }
}

/** After a GET provision-status failed: does the same request work as POST? Then the adapter ignores GET bodies. */
async function getBodyHint (context: Context, server: CycleServer, id: string): Promise<string[]> {
  const failedGet = context.lastExchange
  try {
    await call(context, 'status', statusBody(context.tenant, server, id, context.extra), 'POST', context.options.signal)
    return ['the same request sent as POST succeeded: the adapter ignores the JSON body of a GET. Cycle sends provision-status as a GET with a JSON body']
  } catch {
    return []
  } finally {
    context.lastExchange = failedGet
  }
}

/** The step's repeated calls, for its result (none: no field). */
function retriesOf (context: Context): { retries?: readonly Retry[] } {
  return context.retries.length === 0 ? {} : { retries: context.redact(context.retries) }
}

function skippedResult (step: StepName, reason: string): StepResult {
  return { step, outcome: 'skipped', ok: true, ms: 0, facts: {}, problems: [], skipped: reason }
}

/** Runs the steps in Cycle's order and reports each; never throws for an adapter's failure. */
export async function runLifecycle (options: LifecycleOptions, reporter: Reporter = {}): Promise<LifecycleReport> {
  const startedAt = new Date()
  const begun = performance.now()
  const { credentials } = options
  const tenant: Tenant = {
    ...(credentials.client_id === undefined ? {} : { client_id: credentials.client_id }),
    ...(credentials.secret === undefined ? {} : { secret: credentials.secret }),
    ...(credentials.api_key === undefined ? {} : { api_key: credentials.api_key }),
    ...(options.config === undefined ? {} : { config: options.config }),
    cycle: { hub_id: options.hubId ?? objectId(), hub_name: options.hubName ?? 'ial-check' }
  }
  const context: Context = {
    options,
    reporter,
    tenant,
    redact: redactor([credentials.secret, credentials.api_key, options.config]),
    results: [],
    step: 'verify',
    lastExchange: undefined,
    listedLocations: undefined,
    choice: undefined,
    server: undefined,
    serverId: options.serverId,
    created: false,
    extra: options.extra ?? null,
    ip: undefined,
    retries: []
  }
  const finish = (result: StepResult): void => {
    context.results.push(result)
    reporter.onStepFinish?.(result)
  }
  for (const step of STEPS) {
    if (options.only !== undefined && !options.only.includes(step)) continue
    context.step = step
    const anyFailed = context.results.some((result) => result.outcome === 'failed')
    if (options.keep === true && DESTRUCTIVE.has(step)) {
      finish(skippedResult(step, step === 'decommission' && context.serverId !== undefined
        ? `--keep: server ${context.serverId} stays; decommission it later with --only decommission --server-id ${context.serverId} --model ${context.server?.modelId ?? 'SKU'} --location ${context.server?.locationId ?? 'POD'}`
        : '--keep'))
      continue
    }
    if (options.signal?.aborted === true && !(step === 'decommission' && context.created)) {
      finish(skippedResult(step, 'interrupted'))
      continue
    }
    if (step === 'provision' && anyFailed) {
      finish(skippedResult(step, 'an earlier step failed: not provisioning a server'))
      continue
    }
    reporter.onStepStart?.(step)
    context.lastExchange = undefined
    context.retries = []
    const started = performance.now()
    const ms = (): number => Math.round(performance.now() - started)
    try {
      const facts = await steps[step](context)
      finish({ step, outcome: 'passed', ok: true, ms: ms(), facts: context.redact(facts), problems: [], ...retriesOf(context) })
    } catch (error) {
      if (error instanceof Missing) {
        if (anyFailed) finish(skippedResult(step, `needs ${error.what}, which an earlier step did not produce`))
        else finish({ step, outcome: 'failed', ok: false, ms: ms(), facts: {}, problems: [`needs ${error.what}: ${error.hint}`] })
        continue
      }
      const problems = error instanceof StepFailure ? error.problems : [context.redact(`unexpected error: ${error instanceof Error ? error.message : String(error)}`)]
      const facts = error instanceof StepFailure ? Object.fromEntries(Object.entries(error.facts).filter(([key]) => key !== 'http_status')) : {}
      finish({ step, outcome: 'failed', ok: false, ms: ms(), facts: context.redact(facts), problems, ...(context.lastExchange === undefined ? {} : { exchange: context.lastExchange }), ...retriesOf(context) })
    }
  }
  const count = (outcome: StepResult['outcome']): number => context.results.filter((result) => result.outcome === outcome).length
  const summary = { passed: count('passed'), failed: count('failed'), skipped: count('skipped') }
  return {
    ok: summary.failed === 0 && summary.passed > 0,
    url: options.url,
    startedAt: startedAt.toISOString(),
    ms: Math.round(performance.now() - begun),
    summary,
    steps: context.results,
    ...(context.created && context.serverId !== undefined && context.server !== undefined
      ? { leftover: { serverId: context.serverId, model: context.server.modelId, location: context.server.locationId, extra: context.redact(context.extra) } }
      : {})
  }
}
