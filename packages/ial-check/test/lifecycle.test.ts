/**
 * runLifecycle against a tiny fake adapter (fake-adapter.ts): it passes a correct adapter
 * and fails each defect with a message naming the field.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { runLifecycle, STEPS, type Exchange, type LifecycleOptions, type LifecycleReport, type Progress, type Retry, type StepResult } from '../src/lifecycle.ts'
import { RIGHT, startFakeAdapter, type Defect, type FakeAdapter } from './fake-adapter.ts'

let fake: FakeAdapter | undefined
afterEach(async () => {
  await fake?.close()
  fake = undefined
})

async function adapter (defects: Defect[] = []): Promise<FakeAdapter> {
  fake = await startFakeAdapter({ defects })
  return fake
}

const options = (url: string, more: Partial<LifecycleOptions> = {}): LifecycleOptions => ({
  url, credentials: { client_id: RIGHT.client_id, secret: RIGHT.secret }, interval: 0.01, timeout: 5, ...more
})

const outcomes = (report: LifecycleReport): Record<string, string> => Object.fromEntries(report.steps.map((step) => [step.step, step.outcome]))
const problems = (report: LifecycleReport): string => report.steps.flatMap((step) => step.problems).join('\n')
const OBJECT_ID = /^[0-9a-f]{24}$/

describe('against a correct adapter', () => {
  test('every step passes, in Cycle\'s order, with Cycle-shaped requests', async () => {
    const { url, requests, servers } = await adapter()
    const report = await runLifecycle(options(url))
    expect(report.steps.map((step) => [step.step, step.outcome, step.problems])).toEqual(STEPS.map((step) => [step, 'passed', []]))
    expect(report.ok).toBe(true)
    expect(report.summary).toEqual({ passed: 10, failed: 0, skipped: 0 })
    expect(report.leftover).toBeUndefined()
    expect(servers.size).toBe(0)

    const facts = Object.fromEntries(report.steps.map((step) => [step.step, step.facts]))
    expect(facts['server-models']).toMatchObject({ models: 2, with_stock: 1, model: 'medium_v4', location: 'pod_2' })
    expect(facts.provision).toMatchObject({ server_id: 'fake.1.pod_2' })
    expect(facts.status).toMatchObject({ uuid: '8d3c1b0e-5a7f-4c1e-9a0b-2f6e4d8c1a3b', ip: '198.51.100.114', mac: '0c:c4:7a:12:34:56' })
    expect(facts.allocate).toMatchObject({ ip: '198.51.100.115/28' })

    // the status polls are GETs with a body, and every request carries 24-hex Cycle IDs
    const statusCalls = requests.filter((call) => call.path.endsWith('/provision-status'))
    expect(statusCalls.length).toBeGreaterThanOrEqual(2)
    expect(statusCalls.every((call) => call.method === 'GET' && call.body !== undefined)).toBe(true)
    for (const call of requests) {
      const body = call.body as { auth: { cycle: { hub_id: string } }, request: { cycle?: Record<string, string | null> } | null }
      expect(body.auth.cycle.hub_id).toMatch(OBJECT_ID)
      for (const [key, value] of Object.entries(body.request?.cycle ?? {})) if (key.endsWith('_id') && value !== null) expect(value).toMatch(OBJECT_ID)
    }
    const provision = requests.find((call) => call.path.endsWith('/provision'))?.body as { request: { model_id: string, location_id: string, cycle: { server_id: string } } }
    expect(provision.request).toMatchObject({ model_id: 'medium_v4', location_id: 'pod_2' })
    // one server, one Cycle server ID, through to decommission
    const decommission = requests.find((call) => call.path.endsWith('/decommission'))?.body as { request: { extra: unknown, cycle: { server_id: string } } }
    expect(decommission.request.cycle.server_id).toBe(provision.request.cycle.server_id)
    expect(decommission.request.extra).toEqual({ order_id: 'order-1', state: 'complete' })
  })

  test('provision-status as POST passes too', async () => {
    const { url, requests } = await adapter()
    expect((await runLifecycle(options(url, { statusMethod: 'POST' }))).ok).toBe(true)
    expect(requests.filter((call) => call.path.endsWith('/provision-status')).every((call) => call.method === 'POST')).toBe(true)
  })

  test('an API key works too', async () => {
    const { url } = await adapter()
    expect((await runLifecycle(options(url, { credentials: { api_key: RIGHT.api_key }, only: ['verify', 'locations'] }))).ok).toBe(true)
  })

  test('the reporter sees steps, progress and every exchange, with credentials masked', async () => {
    const { url } = await adapter()
    const exchanges: Exchange[] = []
    const progress: Progress[] = []
    const events: string[] = []
    await runLifecycle(options(url), {
      onStepStart: (step) => events.push(`start ${step}`),
      onStepFinish: (result) => events.push(`finish ${result.step}`),
      onProgress: (update) => progress.push(update),
      onExchange: (call) => exchanges.push(call)
    })
    expect(events.slice(0, 4)).toEqual(['start verify', 'finish verify', 'start locations', 'finish locations'])
    expect(progress[0]).toMatchObject({ step: 'status', state: 'in_progress', polls: 1, serverId: 'fake.1.pod_2' })
    expect(exchanges.map((call) => call.path)).toContain('/v1/infrastructure/ip/release')
    expect(exchanges.find((call) => call.step === 'status')).toMatchObject({ method: 'GET', status: 200 })
    const shown = JSON.stringify(exchanges)
    expect(shown).not.toContain(RIGHT.secret)
    expect(shown).not.toContain(RIGHT.client_id)
    expect(shown).toContain('"secret":"***"')
  })

  test('--keep skips release and decommission, says so, and reports the server left behind', async () => {
    const { url, servers } = await adapter()
    const report = await runLifecycle(options(url, { keep: true }))
    expect(report.ok).toBe(true)
    expect(outcomes(report)).toMatchObject({ allocate: 'passed', release: 'skipped', decommission: 'skipped' })
    expect(report.steps.find((step) => step.step === 'decommission')?.skipped).toContain('--keep: server fake.1.pod_2 stays')
    expect(report.leftover).toMatchObject({ serverId: 'fake.1.pod_2', model: 'medium_v4', location: 'pod_2', extra: { order_id: 'order-1' } })
    expect(servers.size).toBe(1)
  })

  test('a transient 503 while polling is tolerated, as Cycle polls again', async () => {
    const { url } = await adapter(['transient-503'])
    const report = await runLifecycle(options(url))
    expect(report.ok).toBe(true)
    expect(report.steps.find((step) => step.step === 'status')?.facts).toMatchObject({ transient_errors: 1 })
  })
})

describe('Retry-After on 409, 429 and 503', () => {
  const restartPath = '/v1/infrastructure/server/restart'
  const restartOf = (report: LifecycleReport): StepResult | undefined => report.steps.find((step) => step.step === 'restart')

  test('a locked node: the step waits as asked, repeats the call once, passes, and reports the retry', async () => {
    const { url, requests } = await adapter(['restart-locked-once'])
    const waits: number[] = []
    const retried: Retry[] = []
    const report = await runLifecycle(options(url, { sleep: async (seconds) => { waits.push(seconds) } }), { onRetry: (retry) => retried.push(retry) })
    expect(report.ok).toBe(true)
    const retry = { step: 'restart', method: 'POST', path: restartPath, status: 409, code: '409.conflict', retryAfter: 120, waited: 120 }
    expect(restartOf(report)).toMatchObject({ outcome: 'passed', problems: [], retries: [retry] })
    expect(retried).toEqual([retry])
    expect(waits).toEqual([120])
    expect(requests.filter((call) => call.path === restartPath)).toHaveLength(2)
    // only the step that was retried says so
    expect(report.steps.filter((step) => step.retries !== undefined).map((step) => step.step)).toEqual(['restart'])
  })

  test('each wait is capped (retryWaitMax) and really waited', async () => {
    const { url } = await adapter(['restart-locked-once'])
    const started = performance.now()
    const report = await runLifecycle(options(url, { retryWaitMax: 0.2 }))
    expect(performance.now() - started).toBeGreaterThanOrEqual(200)
    expect(restartOf(report)?.retries).toEqual([expect.objectContaining({ retryAfter: 120, waited: 0.2 })])
  })

  test('still locked after the bound: the step fails saying so, and the server is still decommissioned', async () => {
    const { url, requests, servers } = await adapter(['restart-locked'])
    const waits: number[] = []
    const report = await runLifecycle(options(url, { retries: 2, sleep: async (seconds) => { waits.push(seconds) } }))
    expect(outcomes(report)).toMatchObject({ restart: 'failed', allocate: 'passed', decommission: 'passed' })
    const restart = restartOf(report)
    expect(restart?.problems.slice(0, 2)).toEqual([
      `POST ${restartPath} answered HTTP 409 409.conflict: the node is locked by another power action; retry in a few minutes`,
      'still HTTP 409 after 2 retries honouring Retry-After (at most 2 per step)'
    ])
    expect(restart?.retries).toHaveLength(2)
    expect(waits).toEqual([120, 120])
    expect(requests.filter((call) => call.path === restartPath)).toHaveLength(3)
    expect(servers.size).toBe(0)
  })

  test('retries: 0 fails at once; an interrupted wait stops retrying', async () => {
    const none = await runLifecycle(options((await adapter(['restart-locked'])).url, { retries: 0, sleep: async () => { throw new Error('no wait expected') } }))
    expect(restartOf(none)).toMatchObject({ outcome: 'failed' })
    expect(restartOf(none)?.retries).toBeUndefined()
    expect(restartOf(none)?.problems.join('\n')).not.toContain('retries honouring')
    await fake?.close()

    const { url, requests } = await adapter(['restart-locked'])
    const controller = new AbortController()
    const report = await runLifecycle(options(url, { signal: controller.signal, sleep: async () => { controller.abort() } }))
    expect(restartOf(report)?.retries).toHaveLength(1)
    expect(requests.filter((call) => call.path === restartPath)).toHaveLength(1)
    expect(outcomes(report)).toMatchObject({ restart: 'failed', decommission: 'passed' })
  })
})

describe('single steps (--only)', () => {
  test('status without a server says what to pass', async () => {
    const { url } = await adapter()
    const report = await runLifecycle(options(url, { only: ['status'] }))
    expect(report.ok).toBe(false)
    expect(problems(report)).toContain('needs a server_id: run provision first, or pass --server-id')
  })

  test('status, restart and decommission of an existing server, with its extra', async () => {
    const { url, servers } = await adapter()
    const first = await runLifecycle(options(url, { keep: true, only: ['provision'], model: 'medium_v4', location: 'pod_1' }))
    const serverId = String(first.steps[0]?.facts.server_id)
    expect(serverId).toBe('fake.1.pod_1')
    const report = await runLifecycle(options(url, { only: ['status', 'restart', 'decommission'], serverId, model: 'medium_v4', location: 'pod_1', extra: { order_id: 'order-1' } }))
    expect(report.steps.map((step) => [step.step, step.outcome, step.problems])).toEqual([['status', 'passed', []], ['restart', 'passed', []], ['decommission', 'passed', []]])
    expect(servers.size).toBe(0)
  })

  test('decommission without --model says so', async () => {
    const { url } = await adapter()
    const report = await runLifecycle(options(url, { only: ['decommission'], serverId: 'fake.1.pod_1', location: 'pod_1' }))
    expect(problems(report)).toContain('needs the server\'s model: pass --model SKU')
  })

  test('--model and --location choose what to provision', async () => {
    const { url, requests } = await adapter()
    const report = await runLifecycle(options(url, { only: ['server-models', 'provision'], location: 'pod_1', keep: true }))
    expect(report.ok).toBe(true)
    expect((requests.find((call) => call.path.endsWith('/provision'))?.body as { request: { location_id: string } }).request.location_id).toBe('pod_1')
    const missing = await runLifecycle(options(url, { only: ['server-models'], model: 'huge_v9' }))
    expect(problems(missing)).toContain('no server model has provider.model_id huge_v9 (offered: small_v4, medium_v4)')
    const noStock = await runLifecycle(options(url, { only: ['server-models'], model: 'small_v4' }))
    expect(problems(noStock)).toContain('small_v4 has no stock')
  })
})

describe('against a defective adapter', () => {
  test.each<[Defect, string, string]>([
    ['float-price', 'server-models', 'data.models[1].pricing.monthly is 792000.5, not an integer'],
    ['numeric-string', 'server-models', 'data.models[1].specs.memory.size_gb is "256", not an integer'],
    ['bare-payload', 'locations', 'is not wrapped in Cycle\'s {"data": ...} envelope'],
    ['status-ignores-get-body', 'status', 'the adapter ignores the JSON body of a GET'],
    ['accepts-any-credentials', 'verify', 'deliberately wrong credentials were answered {"valid": true}'],
    ['bad-error-envelope', 'verify', 'error.code "400.unauthorized" does not start with the HTTP status 401'],
    ['uuid-only-ids', 'provision', 'answered HTTP 422 422.invalid-input: must match format "uuid" (at /request/cycle/server_id)']
  ])('%s fails %s, naming it', async (defect, step, message) => {
    const { url } = await adapter([defect])
    const report = await runLifecycle(options(url))
    expect(report.ok).toBe(false)
    const failed = report.steps.filter((result) => result.outcome === 'failed')
    expect(failed.map((result) => result.step)).toEqual([step])
    expect(failed[0]?.problems.join('\n')).toContain(message)
    expect(failed[0]?.exchange).toBeDefined()
  })

  test('after an early failure nothing is provisioned', async () => {
    const { url, requests } = await adapter(['float-price'])
    const report = await runLifecycle(options(url))
    expect(outcomes(report)).toMatchObject({ provision: 'skipped', status: 'skipped', decommission: 'skipped' })
    expect(requests.some((call) => call.path.endsWith('/provision'))).toBe(false)
  })

  test('when status fails, the server is still decommissioned', async () => {
    const { url, servers } = await adapter(['status-ignores-get-body'])
    const report = await runLifecycle(options(url))
    expect(outcomes(report)).toMatchObject({ status: 'failed', restart: 'skipped', allocate: 'skipped', release: 'skipped', decommission: 'passed' })
    expect(problems(report)).toContain('GET /v1/infrastructure/server/provision-status answered HTTP 401 401.auth-invalid')
    expect(servers.size).toBe(0)
  })

  test('a server that never provisions times out, and is decommissioned', async () => {
    const { url, servers } = await adapter(['never-provisioned'])
    const report = await runLifecycle(options(url, { timeout: 0.1 }))
    expect(problems(report)).toMatch(/not provisioned after .* \(timeout 0.1 s; last state: in_progress\)/)
    expect(outcomes(report)).toMatchObject({ status: 'failed', decommission: 'passed' })
    expect(servers.size).toBe(0)
  })

  test('an interrupted run stops polling and decommissions what it created', async () => {
    const { url, servers } = await adapter(['never-provisioned'])
    const controller = new AbortController()
    const report = await runLifecycle(options(url, { interval: 0.05, timeout: 60, signal: controller.signal }), {
      onProgress: (update) => { if (update.polls === 2) controller.abort() }
    })
    expect(problems(report)).toContain('interrupted after')
    expect(outcomes(report)).toMatchObject({ status: 'failed', restart: 'skipped', allocate: 'skipped', release: 'skipped', decommission: 'passed' })
    expect(servers.size).toBe(0)
  })

  test('an adapter that is not there fails clearly', async () => {
    const report = await runLifecycle(options('http://127.0.0.1:9', { only: ['verify'] }))
    expect(problems(report)).toContain('POST /v1/auth/verify got no answer: ECONNREFUSED')
  })
})
