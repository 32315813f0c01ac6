import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'

const cli = fileURLToPath(new URL('../src/cli/simulator.ts', import.meta.url))

function run (env: Record<string, string>, args: string[] = []): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

let taken: Server
let port = 0
beforeAll(async () => {
  taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const address = taken.address()
  port = typeof address === 'object' && address !== null ? address.port : 0
})
afterAll(async () => { await new Promise((resolve) => taken.close(resolve)) })

test('a taken port: one line saying so and what to do, exit 1, no stack trace', async () => {
  const result = await run({ SIM_PORT: String(port), SIM_LOG: '0' })
  expect(result.code).toBe(1)
  expect(result.stdout).toBe('')
  expect(result.stderr.trim().split('\n')).toEqual([`simulator: cannot listen: 127.0.0.1:${port} is already in use (another simulator?); choose another with --port`])
})

test('--port, --host and --step-ms: a bad value named as given, the port as the option or the variable', async () => {
  const flag = await run({ SIM_LOG: '0' }, ['--port', 'eighty'])
  expect([flag.code, flag.stderr.trim()]).toEqual([2, 'simulator: --port must be a non-negative integer, not eighty (npm run simulator -- --help for the options)'])
  const variable = await run({ SIM_LOG: '0', SIM_PORT: '70000' })
  expect([variable.code, variable.stderr.trim()]).toEqual([2, 'simulator: SIM_PORT must be a port (0 to 65535), not 70000 (npm run simulator -- --help for the options)'])
  const taken = await run({ SIM_LOG: '0', SIM_PORT: '1' }, ['--port', String(port), '--step-ms', '10'])
  expect(taken.stderr).toContain(`127.0.0.1:${port} is already in use`)
})
