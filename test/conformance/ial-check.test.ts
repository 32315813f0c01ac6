/**
 * ial-check against the real adapter (backed by the OpenMetal simulator): the whole
 * lifecycle passes, through the library and through the command; and `npm run sandbox`.
 * ial-check's own behaviour (defects, options, output) is tested against a fake adapter in
 * lifecycle.test.ts and cli.test.ts.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runLifecycle, STEPS, type LifecycleOptions } from '@cycle-ial-openmetal/ial-check/lifecycle'
import { startHarness, type Harness } from '../helpers/harness.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

/** the ial-check command's source, found by package name like any other consumer finds it */
const IAL_CHECK = createRequire(import.meta.url).resolve('@cycle-ial-openmetal/ial-check/cli')

const options = (url: string): LifecycleOptions => ({ url, credentials: { client_id: 'sim-client', secret: 'sim-secret' }, interval: 0.01, timeout: 20 })

describe('runLifecycle against the adapter', () => {
  test('passes every step, as Cycle would call it', async () => {
    const report = await runLifecycle(options(h.url))
    expect(report.steps.map((step) => [step.step, step.outcome, step.problems])).toEqual(STEPS.map((step) => [step, 'passed', []]))
  })

  test('provision-status as POST passes too', async () => {
    const report = await runLifecycle({ ...options(h.url), statusMethod: 'POST' })
    expect(report.steps.flatMap((step) => step.problems)).toEqual([])
    expect(report.ok).toBe(true)
  })

  test('a node OpenMetal has locked: restart answers 503 with Retry-After, ial-check waits and the lifecycle passes', async () => {
    h.sim.faults.add({ method: 'POST', path: '/v1/deployment/cloud/*/node/*/power', status: 409, body: { status: 409, error: 'Conflict', message: 'node is locked' } })
    const waits: number[] = []
    const report = await runLifecycle({ ...options(h.url), sleep: async (seconds) => { waits.push(seconds) } })
    expect(report.ok).toBe(true)
    const restart = report.steps.find((step) => step.step === 'restart')
    expect(restart?.retries).toEqual([expect.objectContaining({ method: 'POST', path: '/v1/infrastructure/server/restart', status: 503 })])
    expect(waits).toEqual([restart?.retries?.[0]?.retryAfter])
    expect(waits[0]).toBeGreaterThan(0)
  })
})

function cli (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [IAL_CHECK, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
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
})

function sandbox (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../scripts/sandbox/sandbox.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
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
