/**
 * The process as operators run it: real signals for shutdown, and the runtime image's
 * contents (what the Dockerfile copies, production dependencies only) serving a Cycle call.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startSimulator, type Simulator } from '../../src/simulator/index.ts'

const root = join(import.meta.dirname, '../..')
let sim: Simulator
beforeAll(async () => { sim = await startSimulator({ provisioningStepMs: 20 }) })
afterAll(async () => { await sim.close() })

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function started (args: string[], cwd: string, env: Record<string, string>): Promise<{ child: ChildProcess, url: string, exit: Promise<number | null>, output: () => string }> {
  const port = await freePort()
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', OPENMETAL_API_URL: sim.url, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  for (let attempt = 0; attempt < 150; attempt++) {
    try {
      const response = await request(`${url}/healthz`)
      await response.body.dump()
      if (response.statusCode === 200) return { child, url, exit, output: () => output }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  child.kill('SIGKILL')
  throw new Error(`the server did not start: ${output}`)
}

describe('graceful shutdown', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)('%s: the request in flight completes, new connections are refused, exit 0', async (signal) => {
    const server = await started([join(root, 'src/server.ts')], root, { SHUTDOWN_GRACE_MS: '5000' })
    sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', delayMs: 800 })
    const inFlight = request(`${server.url}/v1/infrastructure/provider/locations`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    server.child.kill(signal)
    const response = await inFlight
    expect(response.statusCode).toBe(200)
    expect(((await response.body.json()) as { data: { locations: unknown[] } }).data.locations.length).toBeGreaterThan(0)
    expect(await server.exit).toBe(0)
    await expect(request(`${server.url}/healthz`)).rejects.toThrow()
    expect(server.output()).toContain('closing')
  }, 20_000)

  test('a bad configuration stops the process with a message naming the variable', () => {
    const run = (): string => execFileSync(process.execPath, [join(root, 'src/server.ts')], { env: { PATH: process.env.PATH ?? '', PORT: 'eighty' }, stdio: 'pipe' }).toString()
    expect(run).toThrow(/PORT must be an integer/)
  })
})

describe('the runtime image contents', () => {
  test('package.json, package-lock.json and dist with production dependencies only start and serve a Cycle call', async () => {
    const image = mkdtempSync(join(tmpdir(), 'image-'))
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(image, 'dist')], { stdio: 'pipe' })
      for (const file of ['package.json', 'package-lock.json']) cpSync(join(root, file), join(image, file))
      execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: image, stdio: 'pipe' })
      expect(() => execFileSync('ls', [join(image, 'node_modules/vitest')], { stdio: 'pipe' })).toThrow()
      const server = await started(['dist/server.js'], image, { NODE_ENV: 'production' })
      const response = await request(`${server.url}/v1/infrastructure/provider/locations`, { method: 'GET', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: {}, request: null }) })
      expect(response.statusCode).toBe(200)
      expect(((await response.body.json()) as { data: { locations: unknown[] } }).data.locations.length).toBeGreaterThan(0)
      server.child.kill('SIGTERM')
      expect(await server.exit).toBe(0)
    } finally {
      rmSync(image, { recursive: true, force: true })
    }
  }, 180_000)
})
