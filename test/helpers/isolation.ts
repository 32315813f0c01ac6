/**
 * One tenant's OpenMetal hangs while another's is healthy: the scenario of issue 10, shared by
 * the robustness test (test/robustness/isolation.test.ts) and `npm run bench`. The hanging
 * tenant's orders (`hang<n>`) never answer in time and it sends a burst of status requests
 * for them; meanwhile the healthy tenant polls its own server's status. What it measures: how
 * long the healthy tenant waits, when each hanging request is answered, and whether OpenMetal
 * still hears of a request after its caller was answered (the simulator's request log).
 * No vitest here: the bench imports it.
 */
import { request } from 'undici'
import type { Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { serverIdCodec } from '../../src/mapping/identifiers.ts'

export interface BurstOptions {
  /** the adapter under test */
  readonly adapterUrl: string
  readonly sim: Simulator
  /** the status request body of the hanging tenant for one server_id */
  readonly hangingBody: (serverId: string) => unknown
  /** the healthy tenant's status request body */
  readonly healthyBody: unknown
  /** hanging requests, all in flight together, sent over `spreadMs` */
  readonly requests: number
  readonly spreadMs: number
  /** the healthy tenant's concurrent pollers, and each one's pause between two polls */
  readonly pollers: number
  readonly pauseMs: number
  /** how long OpenMetal hangs on the hanging tenant's orders */
  readonly hangMs: number
  /** how long after the last hanging answer the simulator's log is watched for late calls (the healthy tenant polls on meanwhile) */
  readonly lateAfterMs: number
}

export interface BurstAnswer {
  readonly orderId: string
  readonly status: number
  readonly code: string | undefined
  readonly retryAfter: string | undefined
  /** from sending to the answer */
  readonly ms: number
  /** Date.now() at the answer */
  readonly answeredAt: number
}

export interface BurstResult {
  readonly hanging: readonly BurstAnswer[]
  /** the healthy tenant's answers: status and milliseconds */
  readonly healthy: ReadonlyArray<{ readonly status: number, readonly ms: number }>
  /** OpenMetal calls for the hanging requests, and how long after its request's answer each arrived (negative: before) */
  readonly upstream: ReadonlyArray<{ readonly orderId: string, readonly afterAnswerMs: number }>
}

const HANGING_ORDER = /^\/v1\/orders\/(hang\d+)$/
const SPREAD_BATCH = 25

async function post (url: string, body: unknown): Promise<{ status: number, code: string | undefined, retryAfter: string | undefined }> {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await response.body.text()
  let code: string | undefined
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code
  } catch {
    code = undefined
  }
  const retryAfter = response.headers['retry-after']
  return { status: response.statusCode, code, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter }
}

/**
 * Runs the burst: hangs the hanging tenant's orders (a simulator fault, cleared at the end),
 * sends its requests while the healthy tenant polls, and keeps polling until `lateAfterMs`
 * (and a little) after the last hanging answer, while OpenMetal's log is watched for late calls.
 */
export async function hangingTenantBurst (options: BurstOptions): Promise<BurstResult> {
  const statusUrl = `${options.adapterUrl}/v1/infrastructure/server/provision-status`
  const { sim } = options
  // the connections are opened first, as Cycle's would be: opening 300 at once costs this
  // process a few hundred milliseconds of CPU that would be counted as the adapter's
  await Promise.all(Array.from({ length: options.requests }, async () => { await (await request(`${options.adapterUrl}/healthz`)).body.dump() }))
  const logFrom = sim.state.requests.length
  sim.faults.add({ method: 'GET', path: HANGING_ORDER, delayMs: options.hangMs, times: Infinity })
  try {
    // the healthy tenant was polling before the burst (its token is cached): what counts is
    // how it fares from the burst on, during it and after it
    const healthy: Array<{ status: number, ms: number }> = []
    const polling = new AbortController()
    let recording = false
    const warm: Array<Promise<void>> = []
    const pollers = Array.from({ length: options.pollers }, async () => {
      let polled = (): void => {}
      warm.push(new Promise((resolve) => { polled = resolve }))
      while (!polling.signal.aborted) {
        const started = performance.now()
        const answer = await post(statusUrl, options.healthyBody).catch(() => ({ status: 0 }))
        if (recording) healthy.push({ status: answer.status, ms: performance.now() - started })
        polled()
        await sleep(options.pauseMs)
      }
    })
    await Promise.all(warm)
    recording = true
    const hanging = await Promise.all(Array.from({ length: options.requests }, async (_, index) => {
      const orderId = `hang${index + 1}`
      // sent in batches over `spreadMs`, all in flight together: one process writing 300
      // requests at once would stall its own pollers, not the adapter's
      await sleep(Math.floor(index / SPREAD_BATCH) * options.spreadMs / Math.ceil(options.requests / SPREAD_BATCH))
      const started = performance.now()
      const answer = await post(statusUrl, options.hangingBody(serverIdCodec.encode({ orderId, pod: 'pod_1' })))
        .catch(() => ({ status: 0, code: undefined, retryAfter: undefined }))
      return { orderId, ...answer, ms: performance.now() - started, answeredAt: Date.now() }
    }))
    const lastAnswer = Math.max(...hanging.map((answer) => answer.answeredAt))
    await sleep(lastAnswer + options.lateAfterMs + 500 - Date.now())
    polling.abort()
    await Promise.all(pollers)
    const answeredAt = new Map(hanging.map((answer) => [answer.orderId, answer.answeredAt]))
    const upstream = sim.state.requests.slice(logFrom).flatMap((entry) => {
      const orderId = HANGING_ORDER.exec(entry.path)?.[1]
      const answered = orderId === undefined ? undefined : answeredAt.get(orderId)
      return orderId === undefined || answered === undefined ? [] : [{ orderId, afterAnswerMs: entry.at - answered }]
    })
    return { hanging, healthy, upstream }
  } finally {
    sim.faults.clear()
  }
}

async function sleep (ms: number): Promise<void> {
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
}

/** The q-quantile (0..1) of some milliseconds, nearest rank. */
export function quantile (values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}
