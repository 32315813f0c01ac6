/**
 * ial-check against the real adapter (backed by the simulator), and against the same
 * adapter behind a proxy that injects one defect each: it must pass the first and fail each
 * defect with a message naming the field.
 */
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runLifecycle, type LifecycleOptions } from '../../src/conformance/lifecycle.ts'
import { startHarness, type Harness } from '../helpers/harness.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

const options = (url: string): LifecycleOptions => ({ url, credentials: { client_id: 'sim-client', secret: 'sim-secret' }, interval: 0.01, timeout: 20 })

type Defect = (path: string, requestBody: unknown, answer: { status: number, body: unknown }) => { status: number, body: unknown }

/** The real adapter behind a proxy that rewrites what passes through. */
async function defective (defect: Defect): Promise<{ url: string, close: () => Promise<void> }> {
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      void request(`${h.url}${incoming.url ?? '/'}`, { method: incoming.method as 'GET', headers: { 'content-type': 'application/json' }, body: text === '' ? undefined : text })
        .then(async (response) => {
          const rewritten = defect(incoming.url ?? '', text === '' ? undefined : JSON.parse(text), { status: response.statusCode, body: await response.body.json() })
          outgoing.writeHead(rewritten.status, { 'content-type': 'application/json' }).end(JSON.stringify(rewritten.body))
        })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) } }
}

describe('runLifecycle', () => {
  test('passes every step against the adapter, as Cycle would call it', async () => {
    const report = await runLifecycle(options(h.url))
    expect(report.steps.map((step) => [step.step, step.ok, step.problems])).toEqual(['verify', 'locations', 'server-models', 'configure', 'provision', 'status', 'restart', 'allocate', 'release', 'decommission'].map((step) => [step, true, []]))
  })

  test('provision-status as POST passes too', async () => {
    expect((await runLifecycle({ ...options(h.url), statusMethod: 'POST', keep: true })).ok).toBe(true)
  })

  test.each<[string, Defect, string]>([
    ['a float price', (path, _request, answer) => {
      if (!path.includes('server-models')) return answer
      const data = (answer.body as { data: { models: Array<{ pricing: { monthly: number } }> } }).data
      data.models[0]!.pricing.monthly += 0.5
      return answer
    }, 'data.models[0].pricing.monthly is'],
    ['a bare payload', (path, _request, answer) => path.includes('/locations') ? { status: 200, body: (answer.body as { data: unknown }).data } : answer, 'envelope'],
    ['a UUID-only ID check', (path, body, answer) => {
      const serverId = (body as { request?: { cycle?: { server_id?: string } } } | undefined)?.request?.cycle?.server_id
      return path.includes('provision') && serverId !== undefined && !/^[0-9a-f-]{36}$/.test(serverId)
        ? { status: 422, body: { error: { status: 422, code: '422.invalid-input', title: 'Invalid', detail: '/request/cycle/server_id must match format "uuid"', source: '/request/cycle/server_id' }, data: null } }
        : answer
    }, '/request/cycle/server_id'],
    ['a status that ignores the GET body', (path, body, answer) => path.includes('provision-status') && body !== undefined ? { status: 400, body: { error: { status: 400, code: 'bad', title: 'no body' }, data: null } } : answer, 'is not "<status>.<slug>"']
  ])('fails an adapter with %s, naming it', async (_name, defect, message) => {
    const proxy = await defective(defect)
    const report = await runLifecycle(options(proxy.url))
    await proxy.close()
    expect(report.ok).toBe(false)
    expect(report.steps.flatMap((step) => step.problems).join('\n')).toContain(message)
  })
})

function cli (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../src/cli/ial-check.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('the ial-check command', () => {
  test('runs the whole lifecycle, writes a JSON report and never prints the secret', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ial-check-')), 'report.json')
    const result = await cli(['--url', h.url, '--interval', '0.02', '--json', file], { OPENMETAL_CLIENT_ID: 'sim-client', OPENMETAL_CLIENT_SECRET: 'sim-secret' })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/✔ provision .*server_id=om1\./)
    expect(result.stdout).toContain('10 passed, 0 failed')
    expect(result.stdout + result.stderr).not.toContain('sim-secret')
    const report = JSON.parse(readFileSync(file, 'utf8')) as { ok: boolean, steps: unknown[] }
    expect(report.ok).toBe(true)
    expect(report.steps).toHaveLength(10)
    expect(readFileSync(file, 'utf8')).not.toContain('sim-secret')
  })

  test('--only runs single steps; an API key works too', async () => {
    const result = await cli(['--url', h.url, '--only', 'verify,locations'], { OPENMETAL_API_KEY: 'sim-api-key' })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('2 passed, 0 failed')
  })

  test('usage errors exit 2 and say what to set', async () => {
    expect((await cli(['--url', h.url])).stderr).toContain('OPENMETAL_CLIENT_ID')
    expect((await cli(['--url', h.url])).code).toBe(2)
    expect((await cli(['--url', h.url, '--only', 'dance'], { OPENMETAL_API_KEY: 'k' })).code).toBe(2)
  })

  test('a failing adapter exits non-zero', async () => {
    const result = await cli(['--url', 'http://127.0.0.1:9', '--only', 'verify'], { OPENMETAL_API_KEY: 'k' })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('✘ verify')
  })
})

function sandbox (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../scripts/sandbox.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.on('close', (code) => resolve({ code, stdout }))
  })
}

describe('npm run sandbox', () => {
  test('without credentials it says what to set, calls nothing and exits 0', async () => {
    const result = await sandbox([], { SANDBOX_API_URL: 'http://127.0.0.1:9' })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('OPENMETAL_CLIENT_ID')
    expect(result.stdout).toContain('Nothing was called')
  })

  test('without --yes it warns and runs only the steps that buy nothing', async () => {
    const orders = h.sim.state.ordersCreated
    const result = await sandbox([], { SANDBOX_API_URL: h.sim.url, OPENMETAL_CLIENT_ID: 'sim-client', OPENMETAL_CLIENT_SECRET: 'sim-secret' })
    expect(result.stdout).toContain('ORDERS A REAL BARE-METAL SERVER')
    expect(result.stdout).toContain('4 passed, 0 failed')
    expect(result.code).toBe(0)
    expect(h.sim.state.ordersCreated).toBe(orders)
  })
})
