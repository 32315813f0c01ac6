/**
 * The route-test harness: the OpenMetal simulator and the adapter, both real HTTP servers
 * on loopback port 0, and a caller that speaks to the adapter over a real socket the way
 * Cycle does (GET requests carry a JSON body).
 */
import { request, type Dispatcher } from 'undici'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { startSimulator, type Simulator, type SimulatorOptions } from '@cycle-ial-openmetal/openmetal-simulator'
import { objectId, type Tenant } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { SSH_PUBLIC_KEY } from './fixtures.ts'

export const SSH_KEY = SSH_PUBLIC_KEY

export { objectId, type Tenant } from '@cycle-ial-openmetal/ial-check/cycle-requests'

export function tenantA (hubId = objectId()): Tenant {
  return { client_id: 'sim-client', secret: 'sim-secret', cycle: { hub_id: hubId, hub_name: 'hub-a' } }
}

export function tenantB (hubId = objectId()): Tenant {
  return { client_id: 'sim-client-b', secret: 'sim-secret-b', cycle: { hub_id: hubId, hub_name: 'hub-b' } }
}

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: { data?: unknown, error?: { status: number, code: string, title: string, detail?: string, source?: string } } & Record<string, unknown>
}

/** What an adapter answered: its status, headers and JSON body (or the raw text when it is not JSON). */
export async function answerOf (response: Dispatcher.ResponseData): Promise<Answer> {
  const text = await response.body.text()
  let parsed: Answer['body']
  try {
    parsed = JSON.parse(text) as Answer['body']
  } catch {
    parsed = { raw: text }
  }
  return { status: response.statusCode, headers: response.headers, body: parsed }
}

export interface Harness {
  readonly sim: Simulator
  readonly app: FastifyInstance
  readonly url: string
  readonly deploymentConfiguration: string
  call (method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>
  /** an OpenMetal API call made directly against the simulator (to inspect what the adapter did) */
  openMetal (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, apiKey?: string): Promise<{ status: number, body: unknown }>
  /** how many times anything asked the simulator to buy (POST /v1/orders) so far */
  ordersCreated (): number
  /** another replica of the adapter on the same configuration and simulator, sharing nothing with `app` (call it with inject; close it) */
  replica (): Promise<FastifyInstance>
  close (): Promise<void>
}

export interface HarnessOptions { sim?: SimulatorOptions, env?: Record<string, string>, deps?: AppDeps }

/** A harness for one test: started, handed to `use`, closed whatever happened. */
export async function withHarness<T> (options: HarnessOptions, use: (harness: Harness) => Promise<T>): Promise<T> {
  const harness = await startHarness(options)
  try {
    return await use(harness)
  } finally {
    await harness.close()
  }
}

/** The same, with settings only. */
export async function withEnv<T> (env: Record<string, string>, use: (harness: Harness) => Promise<T>): Promise<T> {
  return await withHarness({ env }, use)
}

export async function startHarness (options: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSimulator({ provisioningStepMs: 20, ...options.sim })
  const openMetal: Harness['openMetal'] = async (method, path, body, apiKey = 'sim-api-key') => {
    const response = await request(`${sim.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.body.text()
    return { status: response.statusCode, body: text === '' ? null : JSON.parse(text) as unknown }
  }
  const created = await openMetal('POST', '/v1/configurations', {
    label: 'CycleOS',
    fields: { image_ramdisk_kernel: 'https://images.example.com/cycleos/vmlinuz', image_ramdisk_ramdisk: 'https://images.example.com/cycleos/initramfs.img' }
  })
  const deploymentConfiguration = (created.body as { id: string }).id
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    OPENMETAL_API_URL: sim.url,
    OPENMETAL_DEPLOYMENT_CONFIGURATION: deploymentConfiguration,
    OPENMETAL_SSH_PUBLIC_KEY: SSH_KEY,
    OPENMETAL_TIMEOUT_MS: '1000',
    REQUEST_DEADLINE_MS: '5000',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0',
    ...options.env
  })
  const app = await buildApp(config, options.deps)
  const replica: Harness['replica'] = async () => await buildApp(config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  return {
    sim,
    app,
    url,
    deploymentConfiguration,
    openMetal,
    ordersCreated: () => sim.state.requests.filter((entry) => entry.method === 'POST' && entry.path === '/v1/orders').length,
    replica,
    async call (method, path, body, headers = {}) {
      return await answerOf(await request(`${url}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
      }))
    },
    async close () {
      await app.close()
      await sim.close()
    }
  }
}
