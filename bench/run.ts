/**
 * npm run bench [-- --latency 20 --quick --ci --json FILE]
 *
 * Starts the OpenMetal simulator with an injected per-call latency L, the adapter as a
 * child process (so its RSS is its own), and a bare Fastify route returning the same JSON
 * as a cached endpoint. Measures each endpoint with autocannon on loopback, bounded in
 * time, and compares it with its ideal: the critical path of dependent upstream round
 * trips x L, or the bare route. Everything stops by itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism, setPriority } from 'node:os'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { Agent, request } from 'undici'
import { startSimulator, type Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { execForm, freePort, instructionsOf, parseDockerfile, readRepoFile, root } from '../test/ops/support.ts'
import { measureCallBudget, type StepCalls } from '../test/helpers/call-budget.ts'
import { hangingTenantBurst, quantile } from '../test/helpers/isolation.ts'
import pg from 'pg'
import { startPglite } from '../test/helpers/pglite.ts'
import { startWireCounter, type WireCounts } from './pg-wire-counter.ts'
import { UsageError, parseCommandLine, readCommandLine } from '../src/cli/args.ts'
import { ENVIRONMENT } from '../src/config.ts'
import { failsRun, verdictOf, type Row } from './verdict.ts'
import { SSH_PUBLIC_KEY } from '../test/helpers/fixtures.ts'

const USAGE = `usage: npm run bench [-- --latency MS] [--quick] [--ci] [--json FILE]

Builds the server, then measures each endpoint of the adapter (run as the image runs it)
against its ideal, with the OpenMetal simulator answering after MS milliseconds. BENCHMARKS.md
explains the rows and targets; exit code 1 when a target is missed.

options:
  --latency MS   per-call latency of the simulated OpenMetal (default 20)
  --quick        shorter runs (about 55 s instead of 2 minutes)
  --ci           fail a row only past its CI line where its target is inside this machine's noise
  --json FILE    where the results go (default bench/results/<quick|full>-L<MS>.json, ignored by git)
  --help         this text`

const values = readCommandLine({ name: 'bench', help: 'npm run bench -- --help', usage: USAGE }, () => {
  const { values } = parseCommandLine({ options: { latency: { type: 'string', default: '20' }, quick: { type: 'boolean', default: false }, ci: { type: 'boolean', default: false }, json: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } })
  if (values.help) return 'help'
  if (!/^\d+(\.\d+)?$/.test(values.latency)) throw new UsageError(`--latency is a number of milliseconds, not ${values.latency}`)
  return values
})
const L = Number(values.latency)
const quick = values.quick === true
const SECONDS = quick ? 2 : 5
// the Deployment's memory request (deploy/kubernetes/base/deployment.yaml, 160Mi = 167.8 MB): a busy
// replica must fit what it asks the scheduler for
const RSS_LIMIT_MB = 160
// The same code measured 147 and 177 MB in two CI runs an hour apart (the high-water mark of a
// collected heap, not growth: both grew 0 %), so CI fails it only past half the Deployment's
// limit (512Mi); the full run reports it against the request (BENCHMARKS.md, In CI)
const RSS_CI_CEILING_MB = 256
// The cached endpoint's target (>= 0.5 x bare Fastify) sits inside this machine's round-to-round
// noise; CI fails it only below this floor: an added cost of about a quarter per request
const CACHED_CI_FLOOR = 0.4
// Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on every mainstream kernel)
const CLOCK_TICKS = 100

const HUB = 'a1b2c3d4e5f6a1b2c3d4e5f6'
const AUTH = { client_id: 'sim-client', secret: 'sim-secret', cycle: { hub_id: HUB, hub_name: 'bench' } }
const SSH_KEY = SSH_PUBLIC_KEY

// With taskset (util-linux) and two cores, the load generator and the simulator (this
// process) keep core 0 and every server under test gets core 1, so they do not take turns
// on one core; without it everything shares whatever the scheduler gives.
const pinning = availableParallelism() >= 2 && spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }).status === 0

function onServerCore (command: readonly string[]): [string, string[]] {
  const [program = process.execPath, ...args] = command
  return pinning ? ['taskset', ['-c', '1', program, ...args]] : [program, args]
}

/** The runtime stage's CMD (`node <flags> dist/server.js`): the adapter runs as the image runs it. */
function imageCommand (): string[] {
  const runtime = parseDockerfile(readRepoFile('Dockerfile')).at(-1)
  const command = runtime === undefined ? [] : execForm(instructionsOf(runtime, 'CMD').at(-1) ?? '')
  if (command[0] !== 'node') throw new Error(`the Dockerfile's CMD does not start node: ${command.join(' ')}`)
  return command.slice(1)
}

async function startAdapter (simulatorUrl: string, env: Record<string, string>): Promise<{ url: string, child: ChildProcess, rss: () => Promise<number> }> {
  const port = await freePort()
  // the built server, as the image runs it (`npm run bench` builds first)
  const child = spawn(...onServerCore([process.execPath, ...imageCommand()]), {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', OPENMETAL_API_URL: simulatorUrl, RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0', OPENMETAL_SSH_PUBLIC_KEY: SSH_KEY, ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const response = await request(`${url}/healthz`)
      await response.body.dump()
      if (response.statusCode === 200) break
    } catch {
      await sleep(100)
    }
  }
  const rss = async (): Promise<number> => {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  }
  return { url, child, rss }
}

async function startBaseline (json: string, mode: 'bare' | 'wrapper'): Promise<{ url: string, child: ChildProcess }> {
  const port = await freePort()
  const child = spawn(...onServerCore([process.execPath, join(root, 'bench/bare-fastify.ts'), mode]), { cwd: root, env: { ...process.env, BENCH_JSON: json, BENCH_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()))
  return { url: `http://127.0.0.1:${port}`, child }
}

async function load (url: string, options: { method?: 'GET' | 'POST', body?: unknown, connections: number, seconds?: number, amount?: number }): Promise<autocannon.Result> {
  return await autocannon({
    url,
    method: options.method ?? 'GET',
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.seconds ?? SECONDS } : { amount: options.amount }),
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json' } })
  })
}

/** Requests per second over the whole run (autocannon's average is of per-second samples, few in a short run). */
function rpsOf (result: autocannon.Result): number {
  return result.duration > 0 ? result.requests.total / result.duration : 0
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
async function cpuSeconds (pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // the fields after the command name, which is in parentheses and may hold spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

interface Served { result: autocannon.Result, cpu: number }

/** One load run, with the CPU the serving process spent on it. */
async function served (url: string, pid: number | undefined, options: Parameters<typeof load>[1]): Promise<Served> {
  const before = await cpuSeconds(pid)
  const result = await load(url, options)
  return { result, cpu: await cpuSeconds(pid) - before }
}

/** Requests per CPU-second of the serving process: what one core of it can carry. */
function capacityOf (run: Served): number {
  return run.cpu > 0 ? run.result.requests.total / run.cpu : 0
}

/**
 * A cached endpoint against the bare Fastify route, both sent the same request (a GET
 * carrying Cycle's wrapper), both warmed up first (a cold JIT would dominate a short run),
 * then measured in alternation. The load generator shares the machine's two cores with the
 * server under test, so requests/s say as much about the generator as about the server; the
 * ratio compares what each server can carry per CPU-second it spends, the median of the rounds.
 */
interface Server { readonly url: string, readonly pid: number | undefined }

async function cachedAgainstBare (adapter: Server, body: unknown, bare: Server, wrapper: Server | undefined, connections: number): Promise<{ row: Row, wrapperRatio: number | undefined }> {
  const rounds = quick ? 5 : 7
  const seconds = quick ? 1 : 2
  for (const server of [bare, wrapper, adapter]) if (server !== undefined) await load(server.url, { body, connections, seconds: quick ? 1.5 : 2 })
  const pairs: Array<{ bare: Served, adapter: Served, ratio: number, wrapperRatio: number | undefined }> = []
  for (let round = 0; round < rounds; round++) {
    const bareRun = await served(bare.url, bare.pid, { body, connections, seconds })
    const wrapperRun = wrapper === undefined ? undefined : await served(wrapper.url, wrapper.pid, { body, connections, seconds })
    const adapterRun = await served(adapter.url, adapter.pid, { body, connections, seconds })
    pairs.push({ bare: bareRun, adapter: adapterRun, ratio: capacityOf(adapterRun) / capacityOf(bareRun), wrapperRatio: wrapperRun === undefined ? undefined : capacityOf(adapterRun) / capacityOf(wrapperRun) })
  }
  const wrapperRatios = pairs.flatMap((pair) => pair.wrapperRatio === undefined ? [] : [pair.wrapperRatio]).sort((x, y) => x - y)
  pairs.sort((x, y) => x.ratio - y.ratio)
  const median = pairs[Math.floor(pairs.length / 2)] as (typeof pairs)[number]
  const target = 0.5
  const row: Row = {
    name: 'locations (cached, L=0)',
    connections,
    requests: median.adapter.result.requests.total,
    p50: median.adapter.result.latency.p50,
    p99: median.adapter.result.latency.p99,
    rps: Math.round(rpsOf(median.adapter.result)),
    upstreamPerRequest: 0,
    rounds: pairs.map((pair) => ({
      bareRps: Math.round(rpsOf(pair.bare.result)),
      adapterRps: Math.round(rpsOf(pair.adapter.result)),
      bareReqPerCpuSecond: Math.round(capacityOf(pair.bare)),
      adapterReqPerCpuSecond: Math.round(capacityOf(pair.adapter)),
      ratio: Math.round(pair.ratio * 100) / 100,
      ...(pair.wrapperRatio === undefined ? {} : { againstWrapperParsing: Math.round(pair.wrapperRatio * 100) / 100 })
    })),
    ideal: {
      metric: 'rps',
      unit: 'req/CPU-s',
      value: capacityOf(median.bare),
      why: `bare Fastify; adapter ${Math.round(capacityOf(median.adapter))} req/CPU-s, rounds ${pairs.map((pair) => pair.ratio.toFixed(2)).join(' ')}`
    },
    // three decimals: a median of 0.498 must not print as the 0.5 it misses
    ratio: Math.round(median.ratio * 1000) / 1000,
    target,
    met: median.ratio >= target,
    ciFloor: CACHED_CI_FLOOR
  }
  const wrapperMedian = wrapperRatios[Math.floor(wrapperRatios.length / 2)]
  return { row, wrapperRatio: wrapperMedian === undefined ? undefined : Math.round(wrapperMedian * 100) / 100 }
}

function upstreamCount (sim: Simulator): number {
  return sim.state.requests.length
}

/** In CI a row that would fail is measured once more: a noisy neighbour gets one retry, a regression does not pass. */
async function onceMoreInCi<T> (measure: () => Promise<T>, rowOf: (result: T) => Row): Promise<T> {
  const first = await measure()
  return values.ci === true && failsRun(rowOf(first), values.ci === true) ? await measure() : first
}

async function measured (sim: Simulator, name: string, run: () => Promise<autocannon.Result>, ideal: Row['ideal'], target: number, connections: number, ciCeiling?: number): Promise<Row> {
  return await onceMoreInCi(async () => ({ ...await measuredOnce(sim, name, run, ideal, target, connections), ...(ciCeiling === undefined ? {} : { ciCeiling }) }), (row) => row)
}

async function measuredOnce (sim: Simulator, name: string, run: () => Promise<autocannon.Result>, ideal: Row['ideal'], target: number, connections: number): Promise<Row> {
  const before = upstreamCount(sim)
  const result = await run()
  const requests = result.requests.total
  const upstreamPerRequest = requests === 0 ? 0 : (upstreamCount(sim) - before) / requests
  const value = ideal.metric === 'p50' ? result.latency.p50 : rpsOf(result)
  const ratio = ideal.metric === 'p50' ? value / ideal.value : value / ideal.value
  const met = ideal.metric === 'p50' ? value <= target : ratio >= target
  return { name, connections, requests, p50: result.latency.p50, p99: result.latency.p99, rps: Math.round(rpsOf(result)), upstreamPerRequest: Math.round(upstreamPerRequest * 100) / 100, ideal, ratio: Math.round(ratio * 100) / 100, target, met }
}

/** The isolation row's scenario (issue 10), as a user reproduced it: a 5 s deadline, OpenMetal hanging 40 s. */
const ISOLATION = { deadlineMs: 5_000, hangMs: 40_000, requests: 300, pollers: 8, pauseMs: 20, p99TargetMs: 1_000, answerSlackMs: 1_000, lateAfterMs: 2_000 }

interface IsolationFigures {
  hangingRequests: number
  refusedAtOnce: number
  answeredByDeadline: number
  slowestHangingAnswerMs: number
  openMetalCallsForHanging: number
  latestCallAfterAnswerMs: number
  otherTenantErrors: number
}

/**
 * One tenant's OpenMetal orders hang while 300 of its status requests are in flight; another
 * tenant polls its healthy server meanwhile (test/helpers/isolation.ts, also a test). Its own
 * adapter process, with the deadline the user had.
 */
async function isolationRow (sim: Simulator, env: Record<string, string>, healthyBody: unknown, cycle: Record<string, string>): Promise<{ row: Row, figures: IsolationFigures }> {
  const isolated = await startAdapter(sim.url, { ...env, REQUEST_DEADLINE_MS: String(ISOLATION.deadlineMs) })
  try {
    const hangingAuth = { client_id: 'sim-client-b', secret: 'sim-secret-b', cycle: { hub_id: 'e1b2c3d4e5f6a1b2c3d4e5f6', hub_name: 'bench-hanging' } }
    const started = performance.now()
    const run = await hangingTenantBurst({
      adapterUrl: isolated.url,
      sim,
      hangingBody: (serverId) => ({ auth: hangingAuth, request: { server_id: serverId, location_id: 'pod_1', extra: null, cycle } }),
      healthyBody,
      requests: ISOLATION.requests,
      spreadMs: 250,
      pollers: ISOLATION.pollers,
      pauseMs: ISOLATION.pauseMs,
      hangMs: ISOLATION.hangMs,
      lateAfterMs: ISOLATION.lateAfterMs
    })
    const seconds = (performance.now() - started) / 1000
    const latencies = run.healthy.map((answer) => answer.ms)
    const figures: IsolationFigures = {
      hangingRequests: run.hanging.length,
      refusedAtOnce: run.hanging.filter((answer) => answer.status === 503 && answer.retryAfter !== undefined).length,
      answeredByDeadline: run.hanging.filter((answer) => answer.status !== 0 && answer.ms <= ISOLATION.deadlineMs + ISOLATION.answerSlackMs).length,
      slowestHangingAnswerMs: Math.round(run.hanging.reduce((slowest, answer) => Math.max(slowest, answer.ms), 0)),
      openMetalCallsForHanging: run.upstream.length,
      latestCallAfterAnswerMs: Math.round(Math.max(-Infinity, ...run.upstream.map((call) => call.afterAnswerMs))),
      otherTenantErrors: run.healthy.filter((answer) => answer.status !== 200).length
    }
    const p99 = Math.round(quantile(latencies, 0.99))
    const met = p99 <= ISOLATION.p99TargetMs && figures.otherTenantErrors === 0 && figures.answeredByDeadline === figures.hangingRequests &&
      figures.latestCallAfterAnswerMs < ISOLATION.lateAfterMs
    const row: Row = {
      name: 'status, other tenant hanging',
      connections: ISOLATION.pollers,
      requests: latencies.length,
      p50: Math.round(quantile(latencies, 0.5)),
      p99,
      rps: Math.round(latencies.length / seconds),
      upstreamPerRequest: Math.round(figures.openMetalCallsForHanging / figures.hangingRequests * 100) / 100,
      ideal: {
        metric: 'p99',
        value: ISOLATION.p99TargetMs,
        why: `${figures.answeredByDeadline}/${figures.hangingRequests} hanging answered by ${ISOLATION.deadlineMs / 1000}+1 s (slowest ${figures.slowestHangingAnswerMs} ms, ${figures.refusedAtOnce} refused at once); last OpenMetal call ${figures.latestCallAfterAnswerMs} ms after its answer; ${figures.otherTenantErrors} errors`
      },
      ratio: Math.round(p99 / ISOLATION.p99TargetMs * 100) / 100,
      target: ISOLATION.p99TargetMs,
      met
    }
    return { row, figures }
  } finally {
    isolated.child.kill('SIGTERM')
  }
}

/**
 * The coordination rows (issue: "provision p50 with the PostgreSQL coordinator within 3 ms of
 * the in-process one at the same latency; status polls do not touch the coordinator at all").
 * Two fresh adapters, one without DATABASE_URL and one coordinating through PGlite served by
 * this process behind a relay that counts every statement sent to it; sequential purchases,
 * each a new Cycle server (a lease taken, the label looked for, the order, the read-back, the
 * lease given back), alternating between the two so the machine's drift hits both alike; then
 * status polls against the PostgreSQL one while the relay and the lease table are watched.
 */
/**
 * The issue's margin is for a PostgreSQL server (TEST_DATABASE_URL, as CI runs it); PGlite,
 * PostgreSQL compiled to WebAssembly in this process, takes about 1.5 ms a statement after an
 * idle spell where a server takes 0.6, so without a server the row is held to a looser line.
 */
const COORDINATION = { purchases: quick ? 30 : 100, warmUp: 3, marginMs: 3, pgliteMarginMs: 6, polls: 200, pollConnections: 8 }
const COORDINATION_TENANT = { ...AUTH, cycle: { hub_id: 'f1b2c3d4e5f6a1b2c3d4e5f6', hub_name: 'bench-coordination' } }

interface CoordinationFigures {
  /** what the purchases were coordinated through: a PostgreSQL server (TEST_DATABASE_URL) or PGlite in the bench process */
  database: 'PostgreSQL' | 'PGlite'
  /** the margin over the in-process p50 the row is held to (the issue's 3 ms for a server) */
  marginMs: number
  model: string
  pod: string
  purchases: number
  inProcessP50Ms: number
  postgresP50Ms: number
  differenceMs: number
  inProcessP99Ms: number
  postgresP99Ms: number
  /** statements the PostgreSQL adapter sent per measured purchase (take the lease, give it back) */
  statementsPerPurchase: number
  /** of the difference, the time per purchase PGlite had a statement of it outstanding (seen at the relay) */
  databaseMsPerPurchase: number
  /** how long both rows took, adapters' start and PGlite's included */
  seconds: number
  polls: { requests: number, errors: number, statements: number, messages: number, connections: number, leaseRowsBefore: number, leaseRowsAfter: number, leaseRowsUnchanged: boolean }
}

type ProvisionAnswer = { ms: number, data: Record<string, unknown> }

async function provisionOnce (url: string, body: unknown): Promise<ProvisionAnswer> {
  const started = performance.now()
  const response = await request(`${url}/v1/infrastructure/server/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const answer = await response.body.json() as { data?: Record<string, unknown> }
  const ms = performance.now() - started
  if (response.statusCode !== 200 || answer.data === undefined) throw new Error(`a provision answered ${response.statusCode}: ${JSON.stringify(answer).slice(0, 300)}`)
  return { ms, data: answer.data }
}

/** The model and pod the simulator has the most of, which must cover every purchase of the rows (a CI retry included). */
function stockedChoice (sim: Simulator, models: ReadonlyArray<{ provider: { model_id: string, locations: string[] } }>, needed: number): { model: string, pod: string } {
  const choices = models.flatMap((model) => model.provider.locations.map((pod) => ({ model: model.provider.model_id, pod, count: sim.state.stock[pod]?.[model.provider.model_id] ?? 0 })))
  const best = choices.sort((x, y) => y.count - x.count)[0]
  if (best === undefined || best.count < needed) throw new Error(`the coordination rows buy ${needed} servers; the simulator has at most ${best?.count ?? 0} of one model in one pod`)
  return best
}

function round1 (ms: number): number {
  return Math.round(ms * 10) / 10
}

function changed (before: WireCounts, after: WireCounts): WireCounts {
  const byType = Object.fromEntries(Object.entries(after.byType).map(([type, n]) => [type, n - (before.byType[type] ?? 0)]).filter(([, n]) => n !== 0))
  return { connections: after.connections - before.connections, messages: after.messages - before.messages, statements: after.statements - before.statements, byType, serverMs: after.serverMs - before.serverMs }
}

async function coordinationRows (sim: Simulator, env: Record<string, string>, models: ReadonlyArray<{ provider: { model_id: string, locations: string[] } }>): Promise<{ rows: Row[], figures: CoordinationFigures }> {
  const started = performance.now()
  const perRun = 2 * COORDINATION.purchases
  const { model, pod } = stockedChoice(sim, models, 2 * COORDINATION.warmUp + (values.ci === true ? 2 : 1) * perRun)
  const database = await benchDatabase()
  const marginMs = database.kind === 'PostgreSQL' ? COORDINATION.marginMs : COORDINATION.pgliteMarginMs
  const relay = await startWireCounter({ host: database.url.hostname, port: Number(database.url.port) })
  const databaseUrl = new URL(database.url)
  databaseUrl.hostname = '127.0.0.1'
  databaseUrl.port = String(relay.port)
  const [inProcess, postgres] = await Promise.all([
    startAdapter(sim.url, env),
    startAdapter(sim.url, { ...env, DATABASE_URL: databaseUrl.href, COORDINATION_REQUIRED: 'true' })
  ])
  try {
    const ready = await request(`${postgres.url}/readyz`)
    await ready.body.dump()
    if (ready.statusCode !== 200 || relay.counts().statements === 0) throw new Error(`the PostgreSQL-coordinated adapter is not ready through the relay (/readyz ${ready.statusCode}, ${relay.counts().statements} statements seen)`)
    let serial = 0
    // a new Cycle server each time, so each provision buys (a provision that finds its order takes no lease)
    const bodyOf = (kind: 'in-process' | 'postgres') => {
      serial++
      const serverId = `${kind === 'postgres' ? '8c' : '7c'}${serial.toString(16).padStart(22, '0')}`
      return { auth: COORDINATION_TENANT, request: { hostname: `bench-${serial}`, model_id: model, location_id: pod, model_features: {}, location_configuration: {}, cycle: { server_id: serverId, model_class: 'bm', model_category: 'bm', model_id: 'c1b2c3d4e5f6a1b2c3d4e5f6', location_id: 'd1b2c3d4e5f6a1b2c3d4e5f6' } } }
    }
    // JIT, the OAuth token, the catalog, the pool's connection, the hourly sweep: not measured
    for (let index = 0; index < COORDINATION.warmUp; index++) {
      await provisionOnce(inProcess.url, bodyOf('in-process'))
      await provisionOnce(postgres.url, bodyOf('postgres'))
    }

    let lastBought: { answer: ProvisionAnswer, body: ReturnType<typeof bodyOf> } | undefined
    const purchases = async () => {
      const inProcessMs: number[] = []
      const postgresMs: number[] = []
      const upstreamBefore = upstreamCount(sim)
      const wireBefore = relay.counts()
      for (let index = 0; index < COORDINATION.purchases; index++) {
        // alternating which goes first, so neither always follows the other
        for (const kind of index % 2 === 0 ? ['in-process', 'postgres'] as const : ['postgres', 'in-process'] as const) {
          const body = bodyOf(kind)
          const bought = await provisionOnce(kind === 'postgres' ? postgres.url : inProcess.url, body)
          if (kind === 'postgres') {
            postgresMs.push(bought.ms)
            lastBought = { answer: bought, body }
          } else {
            inProcessMs.push(bought.ms)
          }
        }
      }
      const wire = changed(wireBefore, relay.counts())
      const inProcessP50 = round1(quantile(inProcessMs, 0.5))
      const postgresP50 = round1(quantile(postgresMs, 0.5))
      const difference = round1(postgresP50 - inProcessP50)
      const statementsPerPurchase = Math.round(wire.statements / COORDINATION.purchases * 100) / 100
      const databaseMsPerPurchase = round1(wire.serverMs / COORDINATION.purchases)
      const target = round1(inProcessP50 + marginMs)
      const row: Row = {
        name: 'provision, PostgreSQL leases',
        connections: 1,
        requests: postgresMs.length,
        p50: postgresP50,
        p99: round1(quantile(postgresMs, 0.99)),
        rps: Math.round(postgresMs.length / (postgresMs.reduce((sum, ms) => sum + ms, 0) / 1000)),
        upstreamPerRequest: Math.round((upstreamCount(sim) - upstreamBefore) / perRun * 100) / 100,
        ideal: { metric: 'p50', value: inProcessP50, why: `in-process p50 + ${marginMs} ms (same L, alternated); ${database.kind} ${difference >= 0 ? '+' : ''}${difference} ms, of which the database ${databaseMsPerPurchase} ms (${statementsPerPurchase} statements)` },
        ratio: Math.round(postgresP50 / inProcessP50 * 100) / 100,
        target,
        met: postgresP50 <= target
      }
      return { row, inProcessMs, postgresMs, statementsPerPurchase, databaseMsPerPurchase }
    }
    const bought = await onceMoreInCi(purchases, (result) => result.row)
    if (lastBought === undefined) throw new Error('no purchase was made through the PostgreSQL-coordinated adapter')

    // polls of the server it bought last, from right after its purchase until long after it is provisioned
    const pollBody = { auth: COORDINATION_TENANT, request: { server_id: String(lastBought.answer.data.server_id), location_id: pod, extra: lastBought.answer.data.extra, cycle: lastBought.body.request.cycle } }
    const leases = async (): Promise<Array<Record<string, unknown>>> => await database.query('SELECT key, token, acquired_at::text AS acquired_at, expires_at::text AS expires_at FROM ial_leases ORDER BY key')
    const polls = async () => {
      const leasesBefore = await leases()
      const wireBefore = relay.counts()
      const upstreamBefore = upstreamCount(sim)
      const result = await load(`${postgres.url}/v1/infrastructure/server/provision-status`, { body: pollBody, connections: COORDINATION.pollConnections, amount: COORDINATION.polls })
      const wire = changed(wireBefore, relay.counts())
      const leasesAfter = await leases()
      const requests = result.requests.total
      const errors = result.non2xx + result.errors + result.timeouts
      const leaseRowsUnchanged = JSON.stringify(leasesBefore) === JSON.stringify(leasesAfter)
      const figures = { requests, errors, statements: wire.statements, messages: wire.messages, connections: wire.connections, leaseRowsBefore: leasesBefore.length, leaseRowsAfter: leasesAfter.length, leaseRowsUnchanged }
      const row: Row = {
        name: 'status, PostgreSQL leases',
        connections: COORDINATION.pollConnections,
        requests,
        p50: result.latency.p50,
        p99: result.latency.p99,
        rps: Math.round(rpsOf(result)),
        upstreamPerRequest: requests === 0 ? 0 : Math.round((upstreamCount(sim) - upstreamBefore) / requests * 100) / 100,
        ideal: { metric: 'count', value: 0, unit: 'statements', why: `at the relay ${wire.messages} messages, ${wire.connections} connections; lease rows ${leasesBefore.length} -> ${leasesAfter.length}${leaseRowsUnchanged ? ' unchanged' : ' CHANGED'}; ${errors} errors` },
        ratio: wire.statements,
        target: 0,
        met: wire.statements === 0 && wire.messages === 0 && wire.connections === 0 && leaseRowsUnchanged && errors === 0 && requests === COORDINATION.polls
      }
      return { row, figures }
    }
    const polled = await onceMoreInCi(polls, (result) => result.row)

    const figures: CoordinationFigures = {
      database: database.kind,
      marginMs,
      model,
      pod,
      purchases: COORDINATION.purchases,
      inProcessP50Ms: bought.row.ideal.value,
      postgresP50Ms: bought.row.p50,
      differenceMs: round1(bought.row.p50 - bought.row.ideal.value),
      inProcessP99Ms: round1(quantile(bought.inProcessMs, 0.99)),
      postgresP99Ms: bought.row.p99,
      statementsPerPurchase: bought.statementsPerPurchase,
      databaseMsPerPurchase: bought.databaseMsPerPurchase,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      polls: polled.figures
    }
    return { rows: [bought.row, polled.row], figures }
  } finally {
    await Promise.all([stopped(inProcess.child), stopped(postgres.child)])
    await relay.close()
    await database.close()
  }
}

/** The database the coordination rows use: the server TEST_DATABASE_URL names (CI), else PGlite in this process. */
async function benchDatabase (): Promise<{ kind: 'PostgreSQL' | 'PGlite', url: URL, query: (sql: string) => Promise<Array<Record<string, unknown>>>, close: () => Promise<void> }> {
  const server = process.env.TEST_DATABASE_URL
  if (server === undefined || server === '') {
    const pglite = await startPglite()
    return { kind: 'PGlite', url: new URL(pglite.url), query: pglite.query, close: pglite.close }
  }
  const pool = new pg.Pool({ connectionString: server, max: 1 })
  return { kind: 'PostgreSQL', url: new URL(server), query: async (sql) => (await pool.query<Record<string, unknown>>(sql)).rows, close: async () => { await pool.end() } }
}

/**
 * The body flood (issue "Hold the edges"): 16 connections send GET /healthz with a body of
 * BODY_LIMIT_BYTES of nested JSON, as fast as they can, while a separate client asks /healthz
 * at a steady rate. The flooder is a child process at the lowest CPU priority: it shares core 0
 * with this process, and a probe kept waiting for that core would measure the flooder, not the
 * adapter. Target: the probes' p99 under 50 ms, every probe answered 200, every flood request
 * refused (413).
 */
const BODY_FLOOD = { connections: 16, seconds: quick ? 3 : 6, probeEveryMs: 10, probeConnections: 4, p99TargetMs: 50 }

/** The flooder, run with `node -e`: each connection sends the same body again as soon as it is answered, until SIGTERM; prints its outcomes. */
const FLOODER = `
const http = require('node:http')
const { url, bytes, connections } = JSON.parse(process.env.BENCH_FLOOD)
const body = Buffer.from('['.repeat(Math.floor(bytes / 2)) + ']'.repeat(Math.ceil(bytes / 2)))
const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
const outcomes = {}
let stopping = false
process.once('SIGTERM', () => { stopping = true })
const send = () => new Promise((resolve) => {
  const sent = http.request(url, { method: 'GET', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (answer) => {
    answer.resume()
    answer.once('end', () => resolve(String(answer.statusCode)))
  })
  sent.once('error', (error) => resolve(error.code ?? 'error'))
  sent.end(body)
})
const flood = async () => { while (!stopping) { const outcome = await send(); outcomes[outcome] = (outcomes[outcome] ?? 0) + 1 } }
Promise.all(Array.from({ length: connections }, flood)).then(() => { agent.destroy(); process.stdout.write(JSON.stringify(outcomes)) })
`

interface BodyFloodFigures {
  bodyBytes: number
  floodRequests: number
  floodPerSecond: number
  /** the flood's answers by status (or client error code) */
  floodOutcomes: Record<string, number>
  probes: number
  probeErrors: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** of one core, the adapter's CPU while flooded */
  adapterCpuPercent: number
}

async function bodyFloodRow (adapter: Server): Promise<{ row: Row, figures: BodyFloodFigures }> {
  const bodyBytes = Number(process.env.BODY_LIMIT_BYTES ?? ENVIRONMENT.BODY_LIMIT_BYTES.default)
  const flooder = spawn(process.execPath, ['-e', FLOODER], { env: { ...process.env, BENCH_FLOOD: JSON.stringify({ url: `${adapter.url}/healthz`, bytes: bodyBytes, connections: BODY_FLOOD.connections }) }, stdio: ['ignore', 'pipe', 'inherit'] })
  if (flooder.pid !== undefined) setPriority(flooder.pid, 19)
  let printed = ''
  flooder.stdout?.on('data', (chunk: Buffer) => { printed += chunk.toString() })
  const exited = once(flooder, 'exit')
  const probe = new Agent({ connections: BODY_FLOOD.probeConnections })
  const latencies: number[] = []
  let probeErrors = 0
  try {
    // the flood under way on every connection before the first probe
    await sleep(300)
    const cpuBefore = await cpuSeconds(adapter.pid)
    const started = performance.now()
    const probes: Array<Promise<void>> = []
    // a steady rate: each probe at its time, whether or not the one before has been answered
    for (let index = 0; index * BODY_FLOOD.probeEveryMs < BODY_FLOOD.seconds * 1000; index++) {
      const wait = started + index * BODY_FLOOD.probeEveryMs - performance.now()
      if (wait > 0) await sleep(wait)
      probes.push((async () => {
        const sent = performance.now()
        try {
          const response = await request(`${adapter.url}/healthz`, { dispatcher: probe })
          await response.body.dump()
          if (response.statusCode !== 200) probeErrors++
        } catch {
          probeErrors++
        }
        latencies.push(performance.now() - sent)
      })())
    }
    await Promise.all(probes)
    const seconds = (performance.now() - started) / 1000
    const adapterCpuPercent = Math.round((await cpuSeconds(adapter.pid) - cpuBefore) / seconds * 100)
    flooder.kill('SIGTERM')
    await exited
    const floodOutcomes = JSON.parse(printed === '' ? '{}' : printed) as Record<string, number>
    const floodRequests = Object.values(floodOutcomes).reduce((sum, count) => sum + count, 0)
    const figures: BodyFloodFigures = {
      bodyBytes,
      floodRequests,
      floodPerSecond: Math.round(floodRequests / (seconds + 0.3)),
      floodOutcomes,
      probes: latencies.length,
      probeErrors,
      p50Ms: round1(quantile(latencies, 0.5)),
      p99Ms: round1(quantile(latencies, 0.99)),
      maxMs: round1(latencies.reduce((slowest, ms) => Math.max(slowest, ms), 0)),
      adapterCpuPercent
    }
    const refusedAll = floodRequests > 0 && floodOutcomes['413'] === floodRequests
    const row: Row = {
      name: 'healthz, body flood',
      connections: BODY_FLOOD.connections,
      requests: figures.probes,
      p50: figures.p50Ms,
      p99: figures.p99Ms,
      rps: Math.round(figures.probes / seconds),
      upstreamPerRequest: 0,
      ideal: {
        metric: 'p99',
        value: BODY_FLOOD.p99TargetMs,
        why: `${floodRequests} flood requests of ${Math.round(bodyBytes / 1024)} KiB (${figures.floodPerSecond}/s): ${Object.entries(floodOutcomes).map(([outcome, count]) => `${count} ${outcome}`).join(', ')}; ${probeErrors} probe errors; adapter CPU ${adapterCpuPercent} %; slowest probe ${figures.maxMs} ms`
      },
      ratio: Math.round(figures.p99Ms / BODY_FLOOD.p99TargetMs * 100) / 100,
      target: BODY_FLOOD.p99TargetMs,
      met: figures.p99Ms <= BODY_FLOOD.p99TargetMs && probeErrors === 0 && refusedAll
    }
    return { row, figures }
  } finally {
    if (flooder.exitCode === null && flooder.signalCode === null) flooder.kill('SIGKILL')
    await probe.close()
  }
}

/** SIGTERM, and the exit (so the adapter's pool is closed before its database goes). */
async function stopped (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exit = once(child, 'exit')
  child.kill('SIGTERM')
  await exit
}

async function adapterCall (url: string, method: 'GET' | 'POST', path: string, body: unknown): Promise<{ data: Record<string, unknown> }> {
  const response = await request(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return await response.body.json() as { data: Record<string, unknown> }
}

async function main (): Promise<void> {
  const sim = await startSimulator({ provisioningStepMs: 10, latencyMs: 0 })
  const configuration = await request(`${sim.url}/v1/configurations`, {
    method: 'POST',
    headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'CycleOS', fields: { image_ramdisk_kernel: 'https://example.com/k', image_ramdisk_ramdisk: 'https://example.com/r' } })
  })
  const deploymentConfiguration = (await configuration.body.json() as { id: string }).id
  const adapter = await startAdapter(sim.url, { OPENMETAL_DEPLOYMENT_CONFIGURATION: deploymentConfiguration })
  const cold = await startAdapter(sim.url, { OPENMETAL_DEPLOYMENT_CONFIGURATION: deploymentConfiguration, CATALOG_TTL_MS: '0' })
  const rows: Row[] = []
  try {
    // a provisioned server to poll, restart and give addresses to
    const models = await adapterCall(adapter.url, 'GET', '/v1/infrastructure/provider/server-models', { auth: AUTH, request: null })
    const offered = models.data.models as Array<{ provider: { model_id: string, locations: string[] } }>
    const model = offered.find((candidate) => candidate.provider.locations.length > 0)
    const cycle = { server_id: 'b1b2c3d4e5f6a1b2c3d4e5f6', model_class: 'bm', model_category: 'bm', model_id: 'c1b2c3d4e5f6a1b2c3d4e5f6', location_id: 'd1b2c3d4e5f6a1b2c3d4e5f6' }
    const pod = model?.provider.locations[0] ?? 'pod_1'
    const provision = await adapterCall(adapter.url, 'POST', '/v1/infrastructure/server/provision', { auth: AUTH, request: { hostname: 'bench', model_id: model?.provider.model_id, location_id: pod, model_features: {}, location_configuration: {}, cycle } })
    const serverId = String(provision.data.server_id)
    const statusBody = { auth: AUTH, request: { server_id: serverId, location_id: pod, extra: provision.data.extra, cycle } }
    let extra: unknown = provision.data.extra
    for (let attempt = 0; attempt < 500; attempt++) {
      const status = await adapterCall(adapter.url, 'POST', '/v1/infrastructure/server/provision-status', statusBody)
      extra = status.data.extra
      if (status.data.provisioned === true) break
      await sleep(20)
    }
    const polled = { ...statusBody, request: { ...statusBody.request, extra } }
    // what a second server's whole life costs OpenMetal, call by call (a provisioning held for as many polls as Cycle makes in ~15 minutes)
    const budget = await measureCallBudget({
      sim,
      call: async (method, path, body) => {
        const response = await request(`${adapter.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        const answer = await response.body.json() as { data?: unknown, error?: unknown }
        return { status: response.statusCode, data: answer.data ?? answer.error }
      },
      tenant: { ...AUTH, cycle: { hub_id: 'e1b2c3d4e5f6a1b2c3d4e5f6', hub_name: 'bench-budget' } },
      modelId: model?.provider.model_id ?? 'medium_v4',
      locationId: pod,
      polls: quick ? 60 : 180
    })
    const locationsJson = JSON.stringify(await adapterCall(adapter.url, 'GET', '/v1/infrastructure/provider/locations', { auth: AUTH, request: null }))

    // the baseline: a bare Fastify route returning the same JSON, in its own process like the adapter
    const bare = await startBaseline(locationsJson, 'bare')
    // the breakdown's second yardstick is for the full run (BENCHMARKS.md); the quick run keeps to the target
    const wrapper = quick ? undefined : await startBaseline(locationsJson, 'wrapper')
    let wrapperRatio: number | undefined
    try {
      const measureCached = () => cachedAgainstBare({ url: `${adapter.url}/v1/infrastructure/provider/locations`, pid: adapter.child.pid }, { auth: AUTH, request: null }, { url: bare.url, pid: bare.child.pid }, wrapper === undefined ? undefined : { url: wrapper.url, pid: wrapper.child.pid }, 16)
      const cached = await onceMoreInCi(measureCached, (result) => result.row)
      rows.push(cached.row)
      wrapperRatio = cached.wrapperRatio
    } finally {
      bare.child.kill('SIGTERM')
      wrapper?.child.kill('SIGTERM')
    }
    rows.push(await measured(sim, 'server-models warm (L=0)', () => load(`${adapter.url}/v1/infrastructure/provider/server-models`, { connections: 1 }),
      { metric: 'p50', value: 3, why: 'target 3 ms' }, 3, 1))

    sim.faults.setLatency(L)
    const criticalPath = (trips: number, slack: number, why: string): Row['ideal'] => ({ metric: 'p50', value: trips * L + slack, why })
    rows.push(await measured(sim, 'server-models cold', () => load(`${cold.url}/v1/infrastructure/provider/server-models`, { connections: 1 }),
      criticalPath(2, 0, '2 round trips: products || locations, then every pod in parallel'), 1.25 * 2 * L + 5, 1))
    rows.push(await measured(sim, 'provision-status', () => load(`${adapter.url}/v1/infrastructure/server/provision-status`, { body: polled, connections: 1 }),
      // 1.25 L + 2 leaves this row the least slack of all; CI fails it above 1.75 L + 2, still below
      // the 2 round trips (40 ms and more) of the regression it guards against (BENCHMARKS.md, In CI)
      criticalPath(1, 0, '1 round trip: order || cloud || stats'), 1.25 * L + 2, 1, 1.75 * L + 2))
    const throughput = await measured(sim, 'provision-status x64', () => load(`${adapter.url}/v1/infrastructure/server/provision-status`, { body: polled, connections: 64 }),
      { metric: 'rps', value: 64 / (L / 1000), why: `64 connections / ${L} ms critical path` }, 0.5, 64)
    rows.push(throughput)
    rows.push(await measured(sim, 'restart', () => load(`${adapter.url}/v1/infrastructure/server/restart`, { method: 'POST', body: { auth: AUTH, request: { server_id: serverId, hostname: 'bench', model_id: 'x', location_id: pod, extra, cycle } }, connections: 1, amount: quick ? 20 : 50 }),
      criticalPath(2, 0, '2 round trips: the order, then power (the node is known)'), 1.25 * 2 * L + 2, 1))
    rows.push(await measured(sim, 'allocate', () => load(`${adapter.url}/v1/infrastructure/ip/allocate`, { method: 'POST', body: { auth: AUTH, request: { kind: 'ipv4', server_id: serverId, location_id: pod, location_configuration: {}, cycle: { pool_id: null, server_id: cycle.server_id, server_model_class: 'bm', server_model_category: 'bm', location_id: cycle.location_id } } }, connections: 1, amount: 8 }),
      criticalPath(3, 0, '3 round trips: order || prefixes, every block\'s addresses, create IP'), 1.25 * 3 * L + 2, 1))
    const coordination = await coordinationRows(sim, { OPENMETAL_DEPLOYMENT_CONFIGURATION: deploymentConfiguration }, offered)
    rows.push(...coordination.rows)

    sim.faults.setLatency(0)
    const isolation = await onceMoreInCi(() => isolationRow(sim, { OPENMETAL_DEPLOYMENT_CONFIGURATION: deploymentConfiguration }, polled, cycle), (result) => result.row)
    rows.push(isolation.row)

    const rss10k = await (async () => { await load(`${adapter.url}/v1/infrastructure/provider/locations`, { connections: 32, amount: 10_000 }); return await adapter.rss() })()
    await load(`${adapter.url}/v1/infrastructure/provider/locations`, { connections: 32, amount: quick ? 30_000 : 90_000 })
    const rssAfter = await adapter.rss()
    const memory = { rss10kMb: Math.round(rss10k), rssAfterMb: Math.round(rssAfter), growth: Math.round(((rssAfter - rss10k) / rss10k) * 1000) / 10, requestsAfter: quick ? 40_000 : 100_000 }
    // last: the flood must not weigh on the memory rows
    const bodyFlood = await onceMoreInCi(() => bodyFloodRow({ url: adapter.url, pid: adapter.child.pid }), (result) => result.row)
    rows.push(bodyFlood.row)

    printTable(rows, memory)
    printCoordination(coordination.figures)
    printCallBudget(budget)
    if (wrapperRatio !== undefined) console.log(`locations (cached) against Fastify reading the same wrapper with a per-request logger (no adapter code): ${wrapperRatio}x`)
    const report = { date: new Date().toISOString(), latencyMs: L, quick, node: process.version, pinnedCores: pinning, rows, memory, callBudget: budget, isolation: isolation.figures, coordination: coordination.figures, bodyFlood: bodyFlood.figures, ...(wrapperRatio === undefined ? {} : { cachedAgainstWrapperParsing: wrapperRatio }) }
    const file = values.json ?? join(root, 'bench/results', `${quick ? 'quick' : 'full'}-L${L}.json`)
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`\nwrote ${file}`)
    const missed = rows.filter((row) => !row.met)
    const failed = rows.filter((row) => failsRun(row, values.ci === true)).length + (memory.growth >= 10 ? 1 : 0) + (memory.rssAfterMb >= (values.ci === true ? RSS_CI_CEILING_MB : RSS_LIMIT_MB) ? 1 : 0) + budget.filter((step) => !step.met).length
    for (const row of missed) if (row.ciFloor !== undefined) console.log(`\n${row.name}: ratio ${row.ratio} misses the ${row.target}x target; CI fails it below ${row.ciFloor}x (BENCHMARKS.md)`)
    for (const row of missed) if (row.ciCeiling !== undefined) console.log(`\n${row.name}: p50 ${row.p50} ms misses the ${row.target} ms target; CI fails it above ${row.ciCeiling} ms (BENCHMARKS.md)`)
    if (failed > 0) console.log(`\n${failed} target(s) missed`)
    process.exitCode = failed > 0 ? 1 : 0
  } finally {
    adapter.child.kill('SIGTERM')
    cold.child.kill('SIGTERM')
    await sim.close()
  }
}

function printCoordination (figures: CoordinationFigures): void {
  const polls = figures.polls
  console.log(`\nprovision (buying, ${figures.purchases} each, alternated, ${figures.model} in ${figures.pod}): p50 ${figures.postgresP50Ms} ms with PostgreSQL leases, ${figures.inProcessP50Ms} ms in-process, ` +
    `difference ${figures.differenceMs} ms (target <= ${figures.marginMs} ms${figures.database === 'PGlite' ? ', PGlite\'s line: the target for a server is ' + String(COORDINATION.marginMs) + ' ms' : ''}); p99 ${figures.postgresP99Ms} / ${figures.inProcessP99Ms} ms; ` +
    `${figures.statementsPerPurchase} statements per purchase, ${figures.database} busy with them ${figures.databaseMsPerPurchase} ms per purchase; both rows took ${figures.seconds} s`)
  console.log(`status polls against the PostgreSQL-coordinated adapter: ${polls.requests} polls (${polls.errors} errors), ${polls.statements} statements, ${polls.messages} protocol messages and ` +
    `${polls.connections} connections reached PostgreSQL (target 0); lease rows ${polls.leaseRowsBefore} -> ${polls.leaseRowsAfter}, ${polls.leaseRowsUnchanged ? 'unchanged' : 'CHANGED'}`)
}

function printCallBudget (steps: readonly StepCalls[]): void {
  console.log('\nOpenMetal calls per Cycle call over a whole lifecycle')
  console.log('step               Cycle calls  OpenMetal calls  per call  target   met')
  for (const step of steps) {
    console.log([step.step.padEnd(18), String(step.cycleCalls).padStart(11), String(step.openMetalCalls).padStart(16), String(step.perCall).padStart(9), (step.target === undefined ? '-' : `<= ${step.target}`).padStart(7), step.target === undefined ? '    -' : step.met ? '  yes' : '   NO'].join(' '))
  }
}

function printTable (rows: Row[], memory: { rss10kMb: number, rssAfterMb: number, growth: number, requestsAfter: number }): void {
  console.log(`\nL = ${L} ms${quick ? ' (quick)' : ''}${pinning ? ', load generator and servers on separate cores' : ''}\n`)
  // a row under its target but within its CI line passes the run: it says so rather than NO
  console.log('endpoint                    conns  reqs     p50ms  p99ms  req/s   up/req  ideal                                                     ratio  target     met')
  for (const row of rows) {
    const ideal = row.ideal.metric === 'rps'
      ? `${Math.round(row.ideal.value)} ${row.ideal.unit ?? 'req/s'} (${row.ideal.why})`
      : row.ideal.metric === 'count' ? `${row.ideal.value} ${row.ideal.unit ?? ''} (${row.ideal.why})` : `${row.ideal.value} ms (${row.ideal.why})`
    const target = row.ideal.metric === 'rps' ? `>= ${row.target}x` : row.ideal.metric === 'count' ? `<= ${row.target}` : `<= ${row.target} ms`
    console.log([row.name.padEnd(27), String(row.connections).padStart(5), String(row.requests).padStart(6), String(row.p50).padStart(8), String(row.p99).padStart(6), String(row.rps).padStart(7), String(row.upstreamPerRequest).padStart(7), ideal.slice(0, 64).padEnd(65), String(row.ratio).padStart(6), target.padStart(10), verdictOf(row, values.ci === true).padStart(5)].join(' '))
  }
  // the rows held to a p99, whose figures do not fit the table
  for (const row of rows.filter((candidate) => candidate.ideal.metric === 'p99')) console.log(`\n${row.name}: p99 ${row.p99} ms (target <= ${row.target} ms); ${row.ideal.why}`)
  console.log(`\nadapter RSS: ${memory.rss10kMb} MB after 10k requests, ${memory.rssAfterMb} MB after ${memory.requestsAfter} (growth ${memory.growth}%; targets < ${RSS_LIMIT_MB} MB, < 10%${values.ci === true ? `; CI fails it past ${RSS_CI_CEILING_MB} MB` : ''})`)
}

await main()
