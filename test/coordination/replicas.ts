/**
 * What the multi-replica test needs besides the simulator and PGlite: adapter processes as
 * deployed, Cycle as a client that moves to the next replica on 503 or a broken connection
 * (after Retry-After), direct OpenMetal calls to see what was bought, and a proxy that holds
 * one replica's order, so that replica can be killed holding a lease for an order never made.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'
import { root, startServerProcess, type RunningServer } from '../ops/support.ts'
import { answerOf, type Answer } from '../helpers/harness.ts'

/** One try of a Cycle call: the replica it went to and what came back (or that the connection broke). */
export interface Attempt {
  readonly url: string
  readonly status: number | 'connection error'
  readonly code?: string | undefined
  readonly retryAfter?: number | undefined
  readonly detail?: string | undefined
  /** since the Cycle call began */
  readonly atMs: number
  readonly ms: number
}

export interface Outcome {
  /** the last answer (undefined when no replica ever answered) */
  readonly answer: Answer | undefined
  readonly attempts: readonly Attempt[]
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** An adapter process started as deployed: `node src/server.ts` from the repository root, configured by `env` alone. */
export async function startAdapter (env: Record<string, string>): Promise<RunningServer> {
  return await startServerProcess([join(root, 'src/server.ts')], root, { SHUTDOWN_GRACE_MS: '1000', ...env }, 30_000)
}

/** SIGKILL (when still running) and wait for the exit. */
export async function kill (server: RunningServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
  await server.exit
}

async function send (url: string, method: 'GET' | 'POST', body: unknown): Promise<Answer> {
  return await answerOf(await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000
  }))
}

export interface CycleOptions {
  /** give up retrying once this much has passed since the call began */
  readonly budgetMs?: number
  /** longest sleep for a Retry-After (keeps the test short: the adapter's 15 s and 60 s are not waited out) */
  readonly capSeconds?: number
}

/**
 * Cycle calling a pool of replicas: `call` sends to `replicas()[first]` and, on a 503 or a
 * broken connection, sleeps Retry-After (capped) and tries the next replica, until something
 * else is answered or the budget is spent. `replicas` is read on every try, so a restarted
 * replica is used.
 */
export function cycle (replicas: () => readonly string[], options: CycleOptions = {}) {
  const budgetMs = options.budgetMs ?? 20_000
  const capMs = (options.capSeconds ?? 5) * 1000
  return async (method: 'GET' | 'POST', path: string, body: unknown, first = 0): Promise<Outcome> => {
    const started = Date.now()
    const attempts: Attempt[] = []
    let answer: Answer | undefined
    for (let index = first; ; index++) {
      const urls = replicas()
      const url = urls[index % urls.length] ?? ''
      const sent = Date.now()
      let pauseMs: number
      try {
        answer = await send(`${url}${path}`, method, body)
        const header = answer.headers['retry-after']
        const retryAfter = typeof header === 'string' ? Number(header) : undefined
        attempts.push({ url, status: answer.status, code: answer.body.error?.code, retryAfter, detail: answer.body.error?.detail, atMs: sent - started, ms: Date.now() - sent })
        if (answer.status !== 503) return { answer, attempts }
        pauseMs = Math.min((retryAfter ?? 1) * 1000, capMs)
      } catch {
        attempts.push({ url, status: 'connection error', atMs: sent - started, ms: Date.now() - sent })
        pauseMs = 250
      }
      if (Date.now() + pauseMs - started > budgetMs) return { answer, attempts }
      await sleep(pauseMs)
    }
  }
}

export type CycleCall = ReturnType<typeof cycle>

/** An OpenMetal API call straight to the simulator, as the organisation of `apiKey`. */
export async function openMetal (simUrl: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, apiKey = 'sim-api-key'): Promise<{ status: number, body: unknown }> {
  const response = await request(`${simUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await response.body.text()
  return { status: response.statusCode, body: text === '' ? null : JSON.parse(text) as unknown }
}

export interface SimOrder {
  readonly id: string
  readonly label: string
  readonly description?: string
  readonly created_at: string
  readonly is_active: boolean
  readonly fields: { items: unknown[], config_options: unknown, clouds_deployed?: Array<{ id: string, provision_status: string }> }
}

/** The organisation's orders carrying `tag`, as OpenMetal lists them. */
export async function ordersTagged (simUrl: string, tag: string, apiKey = 'sim-api-key'): Promise<SimOrder[]> {
  const listed = await openMetal(simUrl, 'GET', '/v1/orders', undefined, apiKey)
  if (listed.status !== 200 || !Array.isArray(listed.body)) throw new Error(`GET /v1/orders answered ${listed.status}`)
  return (listed.body as SimOrder[]).filter((order) => order.label === tag)
}

/** `om1.<order>.<pod>` of a server_id: a later answer may add the cloud ID once it is deployed. */
export function orderRef (serverId: unknown): string {
  return String(serverId).split('.').slice(0, 3).join('.')
}

export interface Proxy {
  readonly url: string
  /** resolves once the replica's POST /v1/orders has arrived (and is being held) */
  readonly orderHeld: Promise<void>
  close (): Promise<void>
}

/**
 * A loopback proxy in front of the simulator for one replica: everything is forwarded except
 * POST /v1/orders, which is held (never forwarded, never answered). The replica has taken its
 * lease by then, so killing it at `orderHeld` leaves a lease held and no order made.
 */
export async function startOrderHoldingProxy (target: string): Promise<Proxy> {
  let held: () => void = () => {}
  const orderHeld = new Promise<void>((resolve) => { held = resolve })
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (incoming.method === 'POST' && (incoming.url ?? '').split('?')[0] === '/v1/orders') {
      incoming.resume()
      incoming.once('end', held)
      return
    }
    const upstream = httpRequest(`${target}${incoming.url ?? '/'}`, { method: incoming.method, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(outgoing)
    })
    upstream.once('error', () => { outgoing.destroy() })
    incoming.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    orderHeld,
    async close () {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
