/**
 * Cycle's lifecycle of one server, played against any IAL adapter in Cycle's order and
 * cadence, with every answer checked against the contract (see contract.ts). The engine of
 * `ial-check` and of `npm run demo`.
 */
import { request } from 'undici'
import { checkError, checkSuccess, type Endpoint } from './contract.ts'
import {
  allocateBody, configureBody, cycleServer, objectId, provisionBody, releaseBody, serverActionBody, statusBody,
  type CycleServer, type Tenant
} from './cycle-requests.ts'

export const STEPS = ['verify', 'locations', 'server-models', 'configure', 'provision', 'status', 'restart', 'allocate', 'release', 'decommission'] as const
export type StepName = typeof STEPS[number]
const DESTRUCTIVE: ReadonlySet<StepName> = new Set(['release', 'decommission'])

export interface Credentials {
  readonly client_id?: string
  readonly secret?: string
  readonly api_key?: string
}

export interface LifecycleOptions {
  readonly url: string
  readonly credentials: Credentials
  /** seconds between provision-status polls (Cycle: 5) */
  readonly interval: number
  /** seconds to wait for provisioned (real provisioning takes 15-30 minutes) */
  readonly timeout: number
  readonly hubId?: string
  readonly config?: string
  readonly keep?: boolean
  readonly only?: readonly StepName[]
  readonly statusMethod?: 'GET' | 'POST'
  readonly model?: string
  readonly location?: string
  /** for single steps that need an earlier answer */
  readonly serverId?: string
  readonly extra?: Record<string, unknown>
}

export interface Exchange {
  readonly step: StepName
  readonly method: string
  readonly path: string
  readonly status: number
  readonly ms: number
  readonly request: unknown
  readonly response: unknown
}

export interface StepResult {
  readonly step: StepName
  readonly ok: boolean
  readonly ms: number
  readonly facts: Record<string, string | number | boolean>
  readonly problems: string[]
  readonly skipped?: string
}

export interface Reporter {
  stepStarted? (step: StepName): void
  stepFinished? (result: StepResult): void
  progress? (elapsedSeconds: number, state: string): void
  exchange? (exchange: Exchange): void
}

export interface LifecycleReport {
  readonly ok: boolean
  readonly url: string
  readonly steps: StepResult[]
}

class StepFailure extends Error {
  readonly problems: string[]

  constructor (problems: string[]) {
    super(problems.join('; '))
    this.problems = problems
  }
}

const SECRET_KEYS = new Set(['secret', 'api_key', 'config', 'client_id'])

/** The request as it may be shown: credentials replaced. */
export function masked (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, SECRET_KEYS.has(key) && typeof item === 'string' ? '***' : masked(item)]))
}

interface Context {
  readonly options: LifecycleOptions
  readonly reporter: Reporter
  readonly tenant: Tenant
  server: CycleServer | undefined
  serverId: string | undefined
  extra: Record<string, unknown> | null
  ip: { ip_id: string, ip_assignment_id: string, cidr: string } | undefined
}

async function exchange (context: Context, step: StepName, method: 'GET' | 'POST', path: string, body: unknown): Promise<{ status: number, body: unknown }> {
  const started = performance.now()
  const response = await request(`${context.options.url.replace(/\/$/, '')}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 60_000,
    bodyTimeout: 60_000
  })
  const text = await response.body.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = text
  }
  context.reporter.exchange?.({ step, method, path, status: response.statusCode, ms: Math.round(performance.now() - started), request: masked(body), response: parsed })
  return { status: response.statusCode, body: parsed }
}

/** A call that must succeed; its `data` checked against the contract. */
async function expectData (context: Context, step: StepName, endpoint: Endpoint, method: 'GET' | 'POST', path: string, body: unknown): Promise<unknown> {
  const answer = await exchange(context, step, method, path, body)
  if (answer.status !== 200) {
    const shape = checkError(answer.status, answer.body)
    const error = (answer.body as { error?: { code?: string, detail?: string, title?: string } } | null)?.error
    throw new StepFailure([`${method} ${path} answered ${answer.status} ${error?.code ?? ''}: ${error?.detail ?? error?.title ?? ''}`.trim(), ...shape])
  }
  const problems = checkSuccess(endpoint, answer.status, answer.body)
  if (problems.length > 0) throw new StepFailure(problems)
  return (answer.body as { data: unknown }).data
}

function need<T> (value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new StepFailure([`needs ${what}`])
  return value
}

type StepRun = (context: Context) => Promise<Record<string, string | number | boolean>>

const steps: Record<StepName, StepRun> = {
  async verify (context) {
    const valid = await expectData(context, 'verify', 'verify', 'POST', '/v1/auth/verify', { auth: context.tenant, request: null }) as { valid: boolean }
    if (!valid.valid) throw new StepFailure(['the credentials were answered valid:false'])
    const { credentials } = context.options
    const wrong: Tenant = credentials.api_key !== undefined && credentials.client_id === undefined
      ? { cycle: context.tenant.cycle, api_key: `${credentials.api_key}-wrong` }
      : { cycle: context.tenant.cycle, client_id: credentials.client_id ?? 'ial-check', secret: `${credentials.secret ?? ''}-wrong` }
    const rejected = await expectData(context, 'verify', 'verify', 'POST', '/v1/auth/verify', { auth: wrong, request: null }) as { valid: boolean }
    if (rejected.valid) throw new StepFailure(['deliberately wrong credentials were answered valid:true'])
    return { valid: true, wrong_credentials: 'valid:false' }
  },

  async locations (context) {
    const data = await expectData(context, 'locations', 'locations', 'GET', '/v1/infrastructure/provider/locations', { auth: context.tenant, request: null }) as { locations: Array<{ provider?: { location_id: string } }> | null }
    return { locations: data.locations?.length ?? 0 }
  },

  async 'server-models' (context) {
    const data = await expectData(context, 'server-models', 'server-models', 'GET', '/v1/infrastructure/provider/server-models', { auth: context.tenant, request: null }) as { models: Array<{ provider: { model_id: string, locations?: string[] | null } }> | null }
    const models = data.models ?? []
    const model = models.find((candidate) => (context.options.model === undefined || candidate.provider.model_id === context.options.model) &&
      (candidate.provider.locations ?? []).some((pod) => context.options.location === undefined || pod === context.options.location))
    if (model === undefined) throw new StepFailure([`no server model${context.options.model === undefined ? '' : ` ${context.options.model}`} has stock${context.options.location === undefined ? '' : ` in ${context.options.location}`}`])
    const location = context.options.location ?? model.provider.locations?.[0] ?? ''
    context.server = cycleServer(model.provider.model_id, location)
    return { models: models.length, model: model.provider.model_id, location }
  },

  async configure (context) {
    const server = need(context.server ?? serverFromOptions(context.options), 'a location: run server-models first or pass --location')
    const data = await expectData(context, 'configure', 'configure', 'POST', '/v1/location/configure', configureBody(context.tenant, server.locationId)) as { configured: boolean }
    if (!data.configured) throw new StepFailure(['configured is false'])
    return { location: server.locationId }
  },

  async provision (context) {
    const server = need(context.server ?? serverFromOptions(context.options), 'a model and location: run server-models first or pass --model and --location')
    const data = await expectData(context, 'provision', 'provision', 'POST', '/v1/infrastructure/server/provision', provisionBody(context.tenant, server)) as { server_id: string, extra?: Record<string, unknown> }
    context.server = server
    context.serverId = data.server_id
    context.extra = data.extra ?? null
    return { server_id: data.server_id }
  },

  async status (context) {
    const server = need(context.server ?? serverFromOptions(context.options), 'a server: run provision first or pass --server-id, --model and --location')
    const serverId = need(context.serverId, 'a server_id: run provision first or pass --server-id')
    const method = context.options.statusMethod ?? 'GET'
    const started = performance.now()
    for (;;) {
      const data = await expectData(context, 'status', 'status', method, '/v1/infrastructure/server/provision-status', statusBody(context.tenant, server, serverId, context.extra)) as { provisioned: boolean, auth: { uuid?: string | null, initial_ips?: string[] | null, mac_addr?: string | null }, extra?: Record<string, unknown> }
      if (data.extra !== undefined) context.extra = data.extra
      const elapsed = (performance.now() - started) / 1000
      if (data.provisioned) {
        const problems = [
          ...(typeof data.auth.uuid === 'string' && data.auth.uuid !== '' ? [] : ['provisioned without auth.uuid']),
          ...((data.auth.initial_ips ?? []).length > 0 ? [] : ['provisioned without auth.initial_ips']),
          ...(typeof data.auth.mac_addr === 'string' && data.auth.mac_addr !== '' ? [] : ['provisioned without auth.mac_addr'])
        ]
        if (problems.length > 0) throw new StepFailure(problems)
        return { uuid: data.auth.uuid ?? '', ip: data.auth.initial_ips?.[0] ?? '', mac: data.auth.mac_addr ?? '', waited_s: Math.round(elapsed) }
      }
      const state = typeof data.extra?.state === 'string' ? data.extra.state : 'provisioning'
      context.reporter.progress?.(elapsed, state)
      if (elapsed + context.options.interval > context.options.timeout) throw new StepFailure([`not provisioned after ${Math.round(elapsed)} s (last state: ${state})`])
      await new Promise((resolve) => setTimeout(resolve, context.options.interval * 1000))
    }
  },

  async restart (context) {
    const done = await expectData(context, 'restart', 'restart', 'POST', '/v1/infrastructure/server/restart', serverActionBody(context.tenant, need(context.server, 'a server'), need(context.serverId, 'a server_id'), context.extra))
    if (done !== true) throw new StepFailure(['restart did not answer true'])
    return {}
  },

  async allocate (context) {
    const data = await expectData(context, 'allocate', 'allocate', 'POST', '/v1/infrastructure/ip/allocate', allocateBody(context.tenant, need(context.server, 'a server'), need(context.serverId, 'a server_id'))) as { ip_id: string, ip_assignment_id: string, cidr: string, gateway: string }
    context.ip = data
    return { ip: data.cidr, gateway: data.gateway }
  },

  async release (context) {
    const done = await expectData(context, 'release', 'release', 'POST', '/v1/infrastructure/ip/release', releaseBody(context.tenant, need(context.server, 'a server'), need(context.serverId, 'a server_id'), need(context.ip, 'an allocated IP: run allocate first')))
    if (done !== true) throw new StepFailure(['release did not answer true'])
    return { ip: context.ip?.cidr ?? '' }
  },

  async decommission (context) {
    const done = await expectData(context, 'decommission', 'decommission', 'POST', '/v1/infrastructure/server/decommission', serverActionBody(context.tenant, need(context.server, 'a server'), need(context.serverId, 'a server_id'), context.extra))
    if (done !== true) throw new StepFailure(['decommission did not answer true'])
    return { server_id: context.serverId ?? '' }
  }
}

function serverFromOptions (options: LifecycleOptions): CycleServer | undefined {
  return options.model !== undefined && options.location !== undefined ? cycleServer(options.model, options.location) : undefined
}

export async function runLifecycle (options: LifecycleOptions, reporter: Reporter = {}): Promise<LifecycleReport> {
  const tenant: Tenant = { ...options.credentials, ...(options.config === undefined ? {} : { config: options.config }), cycle: { hub_id: options.hubId ?? objectId(), hub_name: 'ial-check' } }
  const context: Context = { options, reporter, tenant, server: serverFromOptions(options), serverId: options.serverId, extra: options.extra ?? null, ip: undefined }
  const results: StepResult[] = []
  let failed = false
  for (const step of STEPS) {
    if (options.only !== undefined && !options.only.includes(step)) continue
    if (options.keep === true && DESTRUCTIVE.has(step)) {
      const result = { step, ok: true, ms: 0, facts: {}, problems: [], skipped: '--keep' }
      results.push(result)
      reporter.stepFinished?.(result)
      continue
    }
    if (failed && options.only === undefined) {
      const result = { step, ok: false, ms: 0, facts: {}, problems: [], skipped: 'an earlier step failed' }
      results.push(result)
      reporter.stepFinished?.(result)
      continue
    }
    reporter.stepStarted?.(step)
    const started = performance.now()
    let result: StepResult
    try {
      const facts = await steps[step](context)
      result = { step, ok: true, ms: Math.round(performance.now() - started), facts, problems: [] }
    } catch (error) {
      const problems = error instanceof StepFailure ? error.problems : [`request failed: ${(error as Error).message}`]
      result = { step, ok: false, ms: Math.round(performance.now() - started), facts: {}, problems }
      failed = true
    }
    results.push(result)
    reporter.stepFinished?.(result)
  }
  return { ok: results.every((result) => result.ok), url: options.url, steps: results }
}
