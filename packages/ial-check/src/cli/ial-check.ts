#!/usr/bin/env node
/**
 * ial-check: plays the Cycle platform against any IAL adapter and checks every answer the
 * way Cycle's Go client would decode it.
 *
 *   OPENMETAL_CLIENT_ID=... OPENMETAL_CLIENT_SECRET=... ial-check --url http://127.0.0.1:8080
 *
 * Exit code: 0 every step passed, 1 a step failed, 2 usage error, 130 interrupted.
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  runLifecycle, STEPS, type Credentials, type LifecycleOptions, type LifecycleReport, type Reporter, type StepName, type StepResult
} from '../lifecycle.ts'

export const USAGE = `usage: ial-check --url URL [options]

Plays Cycle against an IAL adapter: verify (also with wrong credentials), locations,
server-models, configure, provision, status (polled until provisioned), restart, allocate,
release, decommission. Every answer is checked against Cycle's IAL spec and Go decoding
rules. Exit code 0 only when every step passed (1: a step failed, 2: usage error).

credentials: OPENMETAL_CLIENT_ID + OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY, from the
environment or --credentials FILE (JSON, or KEY=value lines). Never printed.

options:
  --url URL               the adapter's base URL (required)
  --interval DURATION     between provision-status polls (default 5s, like Cycle; 0.5 = half a second)
  --timeout DURATION      wait for provisioned at most this long: 2700, 45m, 1h30m (default 45m)
  --keep                  skip the destructive steps (release, decommission): the server stays
  --only STEP,...         run only these steps: ${STEPS.join(', ')}
  --status-method M       provision-status as get (Cycle's way: a GET with a JSON body) or post (default get)
  --retries N             calls a step repeats after a 409, 429 or 503 with Retry-After, waiting
                          as asked, as a patient platform does (default 3; 0: fail at once)
  --retry-wait DURATION   wait at most this long for one Retry-After (default 5m)
  --json FILE             write a machine-readable report to FILE
  --credentials FILE      read the credentials from FILE instead of the environment
  --hub-id ID             the Cycle hub ID to send, 24 hex characters (default: a fresh one)
  --model SKU             the server model (provider.model_id) to provision (default: the first with stock)
  --location POD          the location (provider.location_id) to provision in
  --server-id ID          an existing server, for single steps (status, restart, allocate, decommission)
  --extra JSON            that server's extra, from its provision or status answer
  --config BASE64         sent as auth.config
  --quiet                 print only failures and the summary
  --help                  this text

examples:
  ial-check --url http://127.0.0.1:8080 --only verify,locations,server-models
  ial-check --url http://127.0.0.1:8080 --keep --json report.json
  ial-check --url http://127.0.0.1:8080 --only decommission --server-id ID --model SKU --location POD --extra '{...}'`

export class UsageError extends Error {}

const UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 }

/** `2700`, `90s`, `45m`, `1h30m`, `0.5`, `500ms` -> seconds */
export function parseDuration (text: string): number {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) throw new UsageError(`not a duration: ${text} (e.g. 5, 0.5, 90s, 45m, 1h30m)`)
  return parts.reduce((sum, part) => sum + Number(part[1]) * (UNITS[part[2] ?? 's'] ?? 1), 0)
}

function dotenv (text: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (match === null || match[1] === undefined) continue
    let value = match[2] ?? ''
    const quoted = /^(['"])(.*)\1$/.exec(value)
    if (quoted !== null) value = quoted[2] ?? ''
    else value = value.replace(/\s+#.*$/, '')
    values[match[1]] = value
  }
  return values
}

/**
 * Credentials from the environment, or from FILE when given: JSON (`OPENMETAL_CLIENT_ID`... or
 * `client_id`, `secret`, `api_key`) or dotenv lines. A client ID and secret win over an API key.
 */
export function credentialsFrom (env: Readonly<Record<string, string | undefined>>, file?: string): Credentials | undefined {
  let source: Readonly<Record<string, unknown>> = env
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read --credentials ${file}: ${(error as Error).message}`)
    }
    if (text.trim().startsWith('{')) {
      try {
        source = JSON.parse(text) as Record<string, unknown>
      } catch {
        throw new UsageError(`--credentials ${file} is not valid JSON`)
      }
    } else {
      source = dotenv(text)
    }
  }
  const pick = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = source[key]
      if (typeof value === 'string' && value !== '') return value
    }
    return undefined
  }
  const clientId = pick('OPENMETAL_CLIENT_ID', 'client_id')
  const secret = pick('OPENMETAL_CLIENT_SECRET', 'secret', 'client_secret')
  const apiKey = pick('OPENMETAL_API_KEY', 'api_key')
  if (clientId !== undefined && secret !== undefined) return { client_id: clientId, secret }
  if (apiKey !== undefined) return { api_key: apiKey }
  if (clientId !== undefined) throw new UsageError('OPENMETAL_CLIENT_ID is set without OPENMETAL_CLIENT_SECRET')
  return undefined
}

export interface CliOptions extends LifecycleOptions {
  readonly json?: string
  readonly quiet: boolean
}

/** The command line as runLifecycle options; UsageError when it makes no sense. `--help` throws UsageError(''). */
export function parseOptions (argv: string[], env: Readonly<Record<string, string | undefined>>): CliOptions {
  let values
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        interval: { type: 'string', default: '5' },
        timeout: { type: 'string', default: '45m' },
        keep: { type: 'boolean', default: false },
        only: { type: 'string' },
        'status-method': { type: 'string', default: 'get' },
        retries: { type: 'string', default: '3' },
        'retry-wait': { type: 'string', default: '5m' },
        json: { type: 'string' },
        credentials: { type: 'string' },
        'hub-id': { type: 'string' },
        model: { type: 'string' },
        location: { type: 'string' },
        'server-id': { type: 'string' },
        extra: { type: 'string' },
        config: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      }
    }).values
  } catch (error) {
    // one sentence: node's advice about `--` and its line breaks are dropped
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument[\s\S]*$/, '').replace(/\s*[\r\n]+\s*/g, ' '))
  }
  if (values.help) throw new UsageError('')
  if (values.url === undefined) throw new UsageError('--url is required')
  let url: URL
  try {
    url = new URL(values.url)
  } catch {
    throw new UsageError(`--url ${values.url} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http:// or https://')
  const credentials = credentialsFrom(env, values.credentials)
  if (credentials === undefined) throw new UsageError('no credentials: set OPENMETAL_CLIENT_ID and OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY (or pass --credentials FILE)')
  const only = values.only?.split(',').map((step) => step.trim()).filter((step) => step !== '')
  const unknown = only?.filter((step) => !(STEPS as readonly string[]).includes(step)) ?? []
  if (unknown.length > 0) throw new UsageError(`unknown step(s) in --only: ${unknown.join(', ')} (steps: ${STEPS.join(', ')})`)
  if (only?.length === 0) throw new UsageError('--only needs at least one step')
  const method = values['status-method'].toUpperCase()
  if (method !== 'GET' && method !== 'POST') throw new UsageError('--status-method is get or post')
  const interval = parseDuration(values.interval)
  if (interval <= 0) throw new UsageError('--interval must be more than 0')
  const timeout = parseDuration(values.timeout)
  if (timeout <= 0) throw new UsageError('--timeout must be more than 0')
  if (!/^\d{1,2}$/.test(values.retries)) throw new UsageError('--retries is a whole number from 0 to 99')
  const retryWaitMax = parseDuration(values['retry-wait'])
  const hubId = values['hub-id']
  if (hubId !== undefined && !/^[0-9a-f]{24}$/.test(hubId)) throw new UsageError('--hub-id is a Cycle object ID: 24 lowercase hex characters')
  if (values.config !== undefined && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(values.config)) throw new UsageError('--config is a base64 string')
  let extra: Record<string, unknown> | undefined
  if (values.extra !== undefined) {
    try {
      extra = JSON.parse(values.extra) as Record<string, unknown>
    } catch {
      throw new UsageError('--extra is a JSON object')
    }
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new UsageError('--extra is a JSON object')
  }
  return {
    url: values.url,
    credentials,
    interval,
    timeout,
    keep: values.keep,
    statusMethod: method,
    retries: Number(values.retries),
    retryWaitMax,
    quiet: values.quiet,
    ...(only === undefined ? {} : { only: only as StepName[] }),
    ...(values.json === undefined ? {} : { json: values.json }),
    ...(hubId === undefined ? {} : { hubId }),
    ...(values.model === undefined ? {} : { model: values.model }),
    ...(values.location === undefined ? {} : { location: values.location }),
    ...(values['server-id'] === undefined ? {} : { serverId: values['server-id'] }),
    ...(extra === undefined ? {} : { extra }),
    ...(values.config === undefined ? {} : { config: values.config })
  }
}

function facts (result: StepResult): string {
  return Object.entries(result.facts).map(([key, value]) => `${key}=${String(value)}`).join('  ')
}

export function clock (seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`
  const whole = Math.floor(seconds)
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`
}

/**
 * One line per step (`✔ provision  1.2s  server_id=...`, problems indented below a `✘`), and
 * while provision-status is polled a live line on a terminal, or a plain line every 30 s or
 * on a change of state otherwise.
 */
export function consoleReporter (write: (text: string) => void, options: { tty: boolean, quiet: boolean }): Reporter {
  let live = false
  let lastLine = -Infinity
  let lastState = ''
  const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  const clear = (): void => {
    if (live) write('\r\x1b[2K')
    live = false
  }
  return {
    onStepStart () {
      lastLine = -Infinity
      lastState = ''
    },
    onProgress (progress) {
      if (options.quiet) return
      const line = `status  ${clock(progress.elapsed)}  ${progress.state}  (poll ${progress.polls})`
      if (options.tty) {
        write(`\r\x1b[2K  ${spinner[progress.polls % spinner.length] ?? '…'} ${line}`)
        live = true
      } else if (progress.state !== lastState || progress.elapsed - lastLine >= 30) {
        write(`  … ${line}\n`)
        lastLine = progress.elapsed
        lastState = progress.state
      }
    },
    onRetry (retry) {
      if (options.quiet) return
      clear()
      write(`  ↻ ${retry.method} ${retry.path} answered ${retry.code ?? retry.status}, Retry-After ${retry.retryAfter}s: waiting ${clock(retry.waited)}\n`)
    },
    onStepFinish (result) {
      clear()
      if (options.quiet && result.outcome !== 'failed') return
      const mark = result.outcome === 'skipped' ? '-' : result.ok ? '✔' : '✘'
      const time = result.outcome === 'skipped' ? 'skipped' : clock(result.ms / 1000)
      const retried = result.retries?.length ?? 0
      const tail = result.outcome === 'skipped' ? result.skipped ?? '' : `${facts(result)}${retried === 0 ? '' : `  (${retried} ${retried === 1 ? 'retry' : 'retries'} after Retry-After)`}`
      write(`${mark} ${result.step.padEnd(13)} ${time.padStart(7)}  ${tail}`.trimEnd() + '\n')
      for (const problem of result.problems) write(`    ${problem}\n`)
    }
  }
}

export function summary (report: LifecycleReport): string {
  const { passed, failed, skipped } = report.summary
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`
}

/** How to decommission a server the run left behind. */
export function leftoverHint (report: LifecycleReport): string | undefined {
  const left = report.leftover
  if (left === undefined) return undefined
  const quote = (text: string): string => `'${text.replaceAll('\'', '\'\\\'\'')}'`
  return `server ${left.serverId} is still there. To decommission it:\n  ial-check --url ${report.url} --only decommission --server-id ${quote(left.serverId)} --model ${quote(left.model)} --location ${quote(left.location)}${left.extra === null ? '' : ` --extra ${quote(JSON.stringify(left.extra))}`}`
}

export interface Io {
  readonly stdout: { write (text: string): unknown, readonly isTTY?: boolean }
  readonly stderr: { write (text: string): unknown }
}

/** The whole command; returns the exit code. */
export async function main (argv: string[], env: Readonly<Record<string, string | undefined>>, io: Io, signal?: AbortSignal): Promise<number> {
  let options: CliOptions
  try {
    options = parseOptions(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    if (error.message === '') {
      io.stdout.write(`${USAGE}\n`)
      return 0
    }
    io.stderr.write(`ial-check: ${error.message} (ial-check --help for the options)\n`)
    return 2
  }
  const out = (text: string): void => { io.stdout.write(text) }
  const kind = options.credentials.api_key !== undefined ? 'api key' : 'client id + secret'
  if (!options.quiet) out(`ial-check → ${options.url}  (credentials: ${kind}; provision-status by ${options.statusMethod ?? 'GET'})\n`)
  const report = await runLifecycle({ ...options, ...(signal === undefined ? {} : { signal }) }, consoleReporter(out, { tty: io.stdout.isTTY === true, quiet: options.quiet }))
  out(`\n${summary(report)}\n`)
  const hint = leftoverHint(report)
  if (hint !== undefined && !options.quiet) out(`${hint}\n`)
  if (options.json !== undefined) {
    const { credentials: _credentials, signal: _signal, config, ...shown } = options
    const document = { tool: 'ial-check', options: { ...shown, credentials: kind, ...(config === undefined ? {} : { config: '***' }) }, ...report }
    try {
      writeFileSync(options.json, `${JSON.stringify(document, null, 2)}\n`)
    } catch (error) {
      io.stderr.write(`ial-check: cannot write --json ${options.json}: ${(error as Error).message}\n`)
      return 1
    }
  }
  if (signal?.aborted === true) return 130
  return report.ok ? 0 : 1
}

/**
 * A lifecycle run's Ctrl-C: the first stops polling and still decommissions what the run
 * created (unless --keep); the second quits at once.
 */
export function interruptSignal (): AbortSignal {
  const controller = new AbortController()
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130)
    process.stderr.write('\ninterrupted: stopping (a server this run created is decommissioned unless --keep; Ctrl-C again to quit at once)\n')
    controller.abort()
  })
  return controller.signal
}

// run as a command (also through the npm bin symlink), not when imported
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr }, interruptSignal())
}
