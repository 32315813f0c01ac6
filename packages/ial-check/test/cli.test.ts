/** The ial-check command: arguments, output, report, exit codes; against the fake adapter. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { consoleReporter, credentialsFrom, main, parseDuration, parseOptions, UsageError } from '../src/cli/ial-check.ts'
import { RIGHT, startFakeAdapter, type FakeAdapter } from './fake-adapter.ts'

let fake: FakeAdapter
beforeAll(async () => { fake = await startFakeAdapter() })
afterAll(async () => { await fake.close() })

const ENV = { OPENMETAL_CLIENT_ID: RIGHT.client_id, OPENMETAL_CLIENT_SECRET: RIGHT.secret }
const dir = mkdtempSync(join(tmpdir(), 'ial-check-'))

async function run (args: string[], env: Record<string, string> = ENV, tty = false): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, env, { stdout: { write: (text: string) => { stdout += text }, isTTY: tty }, stderr: { write: (text: string) => { stderr += text } } })
  return { code, stdout, stderr }
}

describe('arguments', () => {
  test('durations: seconds, fractions, units', () => {
    expect(parseDuration('5')).toBe(5)
    expect(parseDuration('0.01')).toBe(0.01)
    expect(parseDuration('45m')).toBe(2700)
    expect(parseDuration('1h30m')).toBe(5400)
    expect(parseDuration('90s')).toBe(90)
    expect(parseDuration('500ms')).toBe(0.5)
    expect(() => parseDuration('soon')).toThrow(UsageError)
    expect(() => parseDuration('5x')).toThrow(UsageError)
  })

  test('defaults: 5 s interval, 45 min timeout, provision-status by GET, 3 retries after Retry-After waiting at most 5 min', () => {
    expect(parseOptions(['--url', 'http://a'], ENV)).toMatchObject({ url: 'http://a', interval: 5, timeout: 2700, statusMethod: 'GET', keep: false, quiet: false, credentials: { client_id: RIGHT.client_id, secret: RIGHT.secret }, retries: 3, retryWaitMax: 300 })
  })

  test('every flag', () => {
    const extra = '{"order_id":"o"}'
    expect(parseOptions(['--url', 'http://a', '--interval', '0.5', '--timeout', '10m', '--keep', '--only', 'status, decommission', '--status-method', 'POST', '--json', 'r.json',
      '--hub-id', '651586fca6078e98982dbd90', '--model', 'm', '--location', 'pod_1', '--server-id', 's', '--extra', extra, '--config', 'e30=', '--quiet', '--retries', '5', '--retry-wait', '90s'], ENV))
      .toEqual({
        url: 'http://a',
        credentials: { client_id: RIGHT.client_id, secret: RIGHT.secret },
        interval: 0.5,
        timeout: 600,
        keep: true,
        only: ['status', 'decommission'],
        statusMethod: 'POST',
        json: 'r.json',
        hubId: '651586fca6078e98982dbd90',
        model: 'm',
        location: 'pod_1',
        serverId: 's',
        extra: { order_id: 'o' },
        config: 'e30=',
        quiet: true,
        retries: 5,
        retryWaitMax: 90
      })
  })

  test.each([
    [[], '--url is required'],
    [['--url', 'nope'], 'not a URL'],
    [['--url', 'http://a', '--only', 'dance'], 'unknown step(s) in --only: dance'],
    [['--url', 'http://a', '--status-method', 'put'], 'get or post'],
    [['--url', 'http://a', '--hub-id', '8d3c1b0e-5a7f-4c1e-9a0b-2f6e4d8c1a3b'], '24 lowercase hex'],
    [['--url', 'http://a', '--extra', '[1]'], '--extra is a JSON object'],
    [['--url', 'http://a', '--interval', '0'], '--interval must be more than 0'],
    [['--url', 'http://a', '--retries', 'many'], '--retries is a whole number from 0 to 99'],
    [['--url', 'http://a', '--retries=-1'], '--retries is a whole number'],
    [['--url', 'http://a', '--retry-wait', 'later'], 'not a duration: later'],
    [['--url', 'http://a', '--frobnicate'], 'frobnicate'],
    [['--url', 'http://a', 'extra-word'], 'extra-word']
  ])('%j is a usage error: %s', (args, message) => {
    expect(() => parseOptions(args, ENV)).toThrow(message)
  })

  test('credentials: environment, JSON file, dotenv file', () => {
    expect(credentialsFrom({ OPENMETAL_API_KEY: 'k' })).toEqual({ api_key: 'k' })
    expect(credentialsFrom({})).toBeUndefined()
    expect(() => credentialsFrom({ OPENMETAL_CLIENT_ID: 'c' })).toThrow('without OPENMETAL_CLIENT_SECRET')
    const json = join(dir, 'credentials.json')
    writeFileSync(json, JSON.stringify({ client_id: 'c', secret: 's' }))
    expect(credentialsFrom({ OPENMETAL_API_KEY: 'ignored' }, json)).toEqual({ client_id: 'c', secret: 's' })
    const env = join(dir, 'credentials.env')
    writeFileSync(env, '# OpenMetal\nexport OPENMETAL_CLIENT_ID="c2"\nOPENMETAL_CLIENT_SECRET=\'s 2\'\nOPENMETAL_API_KEY=k # a comment\n')
    expect(credentialsFrom({}, env)).toEqual({ client_id: 'c2', secret: 's 2' })
    expect(() => credentialsFrom({}, join(dir, 'missing'))).toThrow('cannot read --credentials')
  })
})

describe('the command', () => {
  test('runs the whole lifecycle: one line per step, a summary, exit 0, a JSON report, no secret anywhere', async () => {
    const file = join(dir, 'report.json')
    const result = await run(['--url', fake.url, '--interval', '0.01', '--json', file])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^✔ provision +\d+\.\ds {2}server_id=fake\.\d+\.pod_2/m)
    expect(result.stdout).toMatch(/^✔ status .*uuid=8d3c1b0e/m)
    expect(result.stdout).toMatch(/^ {2}… status .*in_progress/m)
    expect(result.stdout).toContain('\n10 passed, 0 failed\n')
    expect(result.stdout + result.stderr).not.toContain(RIGHT.secret)
    const report = JSON.parse(readFileSync(file, 'utf8')) as { tool: string, ok: boolean, steps: Array<{ step: string, outcome: string }>, options: Record<string, unknown> }
    expect(report).toMatchObject({ tool: 'ial-check', ok: true, options: { url: fake.url, credentials: 'client id + secret', interval: 0.01 } })
    expect(report.steps.map((step) => step.outcome)).toEqual(Array(10).fill('passed'))
    expect(readFileSync(file, 'utf8')).not.toContain(RIGHT.secret)
  })

  test('--keep --quiet prints only the summary and how to decommission later', async () => {
    const result = await run(['--url', fake.url, '--interval', '0.01', '--keep', '--quiet'])
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain('✔')
    expect(result.stdout).toContain('8 passed, 0 failed, 2 skipped')
  })

  test('--keep says how to decommission the server it left', async () => {
    const result = await run(['--url', fake.url, '--interval', '0.01', '--keep'])
    expect(result.stdout).toMatch(/^- decommission +skipped {2}--keep: server fake\.\d+\.pod_2 stays/m)
    expect(result.stdout).toMatch(/ial-check --url http:\/\/127\.0\.0\.1:\d+ --only decommission --server-id 'fake\.\d+\.pod_2' --model 'medium_v4' --location 'pod_2' --extra '\{"order_id":"order-\d+","state":"complete"\}'/)
  })

  test('a failing adapter: ✘ with the problems indented, exit 1', async () => {
    const broken = await startFakeAdapter({ defects: ['float-price'] })
    const result = await run(['--url', broken.url, '--only', 'verify,server-models'], { OPENMETAL_API_KEY: RIGHT.api_key })
    await broken.close()
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^✘ server-models .*\n {4}data\.models\[1\]\.pricing\.monthly is 792000\.5, not an integer/m)
    expect(result.stdout).toContain('1 passed, 1 failed')
  })

  test('a locked node: the wait is announced, the step passes with its retry shown, and the JSON report lists it', async () => {
    const locked = await startFakeAdapter({ defects: ['restart-locked-once'] })
    const file = join(dir, 'retried.json')
    const result = await run(['--url', locked.url, '--interval', '0.01', '--retry-wait', '0.01', '--json', file])
    await locked.close()
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^ {2}↻ POST \/v1\/infrastructure\/server\/restart answered 409\.conflict, Retry-After 120s: waiting 0\.0s\n✔ restart +\d+\.\ds {2}server_id=fake\.1\.pod_2 {2}\(1 retry after Retry-After\)$/m)
    expect(result.stdout).toContain('10 passed, 0 failed')
    const report = JSON.parse(readFileSync(file, 'utf8')) as { options: Record<string, unknown>, steps: Array<{ step: string, retries?: unknown[] }> }
    expect(report.options).toMatchObject({ retries: 3, retryWaitMax: 0.01 })
    expect(report.steps.find((step) => step.step === 'restart')?.retries).toEqual([{ step: 'restart', method: 'POST', path: '/v1/infrastructure/server/restart', status: 409, code: '409.conflict', retryAfter: 120, waited: 0.01 }])
  })

  test('a live progress line on a terminal', async () => {
    const result = await run(['--url', fake.url, '--interval', '0.01', '--only', 'provision,status', '--model', 'medium_v4', '--location', 'pod_1', '--keep'], ENV, true)
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequence is what is checked
    expect(result.stdout).toMatch(/\r\x1b\[2K {2}. status {2}\d+\.\ds {2}in_progress {2}\(poll 1\)/)
    expect(result.stdout).toContain('\r\x1b[2K✔ status')
  })

  test('usage errors exit 2 and say what to set; --help exits 0', async () => {
    const none = await run(['--url', fake.url], {})
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('OPENMETAL_CLIENT_ID')
    expect((await run(['--url', fake.url, '--only', 'dance'])).code).toBe(2)
    // one line, node's advice about `--` left out
    expect((await run(['--frobnicate'], ENV)).stderr).toBe("ial-check: Unknown option '--frobnicate' (ial-check --help for the options)\n")
    const help = await run(['--help'], {})
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('usage: ial-check --url URL')
  })
})

test('consoleReporter prints plain progress lines off a terminal only on a change or every 30 s', () => {
  let out = ''
  const reporter = consoleReporter((text) => { out += text }, { tty: false, quiet: false })
  reporter.onStepStart?.('status')
  for (const [elapsed, state] of [[0, 'pending'], [5, 'pending'], [10, 'in_progress'], [35, 'in_progress'], [40, 'in_progress'], [45, 'in_progress']] as const) {
    reporter.onProgress?.({ step: 'status', elapsed, state, polls: 1, serverId: 's' })
  }
  expect(out.trim().split('\n').map((line) => line.trim())).toEqual(['… status  0.0s  pending  (poll 1)', '… status  10s  in_progress  (poll 1)', '… status  40s  in_progress  (poll 1)'])
})

test('the script runs as a command (shebang entry point), exit code and all', async () => {
  const result = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../src/cli/ial-check.ts'), '--url', fake.url, '--only', 'verify,locations'], { env: { PATH: process.env.PATH ?? '', ...ENV } })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.on('close', (code) => resolve({ code, stdout }))
  })
  expect(result.code).toBe(0)
  expect(result.stdout).toContain('2 passed, 0 failed')
  expect(result.stdout).not.toContain(RIGHT.secret)
  expect(readFileSync(join(import.meta.dirname, '../src/cli/ial-check.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
})
