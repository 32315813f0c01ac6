#!/usr/bin/env node
/**
 * ial-check: plays the Cycle platform against any IAL adapter and checks every answer the
 * way Cycle's Go client would decode it.
 *
 *   OPENMETAL_CLIENT_ID=... OPENMETAL_CLIENT_SECRET=... ial-check --url http://127.0.0.1:8080
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runLifecycle, STEPS, type Credentials, type LifecycleOptions, type LifecycleReport, type Reporter, type StepName, type StepResult } from '../conformance/lifecycle.ts'

export const USAGE = `usage: ial-check --url URL [options]

Runs Cycle's lifecycle of one server against an IAL adapter: verify (also with wrong
credentials), locations, server-models, configure, provision, status (polled), restart,
allocate, release, decommission. Every answer is checked against Cycle's IAL spec and Go
decoding rules. Exit code 0 only when every step passed.

credentials: OPENMETAL_CLIENT_ID + OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY
             (environment, or --credentials FILE: JSON or KEY=value lines); never printed

options:
  --url URL               the adapter's base URL (required)
  --interval SECONDS      between provision-status polls (default 5, like Cycle; fractions allowed)
  --timeout DURATION      wait for provisioned at most this long: 2700, 45m, 1h (default 45m)
  --keep                  skip the destructive steps (release, decommission)
  --only STEP,...         run only these steps (${STEPS.join(', ')})
  --status-method M       get (Cycle's way, a GET with a JSON body) or post (default get)
  --json FILE             write a machine-readable report
  --credentials FILE      read credentials from FILE
  --hub-id ID             the Cycle hub ID to send (default: a fresh one)
  --model SKU, --location POD   choose what to provision
  --server-id ID, --extra JSON  continue with an existing server (single steps)
  --config BASE64         auth.config to send
  --quiet                 only the summary
  --help`

export class UsageError extends Error {}

export function parseDuration (text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim())
  if (match === null) throw new UsageError(`not a duration: ${text}`)
  return Number(match[1]) * ({ s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h' | undefined ?? 's'] ?? 1)
}

export function credentialsFrom (env: Readonly<Record<string, string | undefined>>, file?: string): Credentials | undefined {
  let source = env
  if (file !== undefined) {
    const text = readFileSync(file, 'utf8')
    source = text.trim().startsWith('{')
      ? JSON.parse(text) as Record<string, string>
      : Object.fromEntries(text.split('\n').map((line) => /^\s*(?:export\s+)?([A-Z_]+)\s*=\s*"?([^"\n]*)"?\s*$/.exec(line)).filter((match) => match !== null).map((match) => [match[1], match[2]]))
  }
  if (source.OPENMETAL_CLIENT_ID !== undefined && source.OPENMETAL_CLIENT_SECRET !== undefined) return { client_id: source.OPENMETAL_CLIENT_ID, secret: source.OPENMETAL_CLIENT_SECRET }
  if (source.OPENMETAL_API_KEY !== undefined) return { api_key: source.OPENMETAL_API_KEY }
  return undefined
}

export function parseOptions (argv: string[], env: Readonly<Record<string, string | undefined>>): LifecycleOptions & { json?: string, quiet: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      interval: { type: 'string', default: '5' },
      timeout: { type: 'string', default: '45m' },
      keep: { type: 'boolean', default: false },
      only: { type: 'string' },
      'status-method': { type: 'string', default: 'get' },
      json: { type: 'string' },
      credentials: { type: 'string' },
      'hub-id': { type: 'string' },
      model: { type: 'string' },
      location: { type: 'string' },
      'server-id': { type: 'string' },
      extra: { type: 'string' },
      config: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) throw new UsageError('')
  if (values.url === undefined) throw new UsageError('--url is required')
  const credentials = credentialsFrom(env, values.credentials)
  if (credentials === undefined) throw new UsageError('no credentials: set OPENMETAL_CLIENT_ID and OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY (or --credentials FILE)')
  const only = values.only?.split(',').map((step) => step.trim()) ?? undefined
  const unknown = only?.filter((step) => !(STEPS as readonly string[]).includes(step))
  if (unknown !== undefined && unknown.length > 0) throw new UsageError(`unknown step(s): ${unknown.join(', ')}`)
  const method = values['status-method'].toUpperCase()
  if (method !== 'GET' && method !== 'POST') throw new UsageError('--status-method is get or post')
  const interval = Number(values.interval)
  if (!Number.isFinite(interval) || interval < 0) throw new UsageError('--interval is a number of seconds')
  let extra: Record<string, unknown> | undefined
  if (values.extra !== undefined) {
    try {
      extra = JSON.parse(values.extra) as Record<string, unknown>
    } catch {
      throw new UsageError('--extra is a JSON object')
    }
  }
  return {
    url: values.url,
    credentials,
    interval,
    timeout: parseDuration(values.timeout),
    keep: values.keep,
    statusMethod: method,
    quiet: values.quiet,
    ...(only === undefined ? {} : { only: only as StepName[] }),
    ...(values.json === undefined ? {} : { json: values.json }),
    ...(values['hub-id'] === undefined ? {} : { hubId: values['hub-id'] }),
    ...(values.model === undefined ? {} : { model: values.model }),
    ...(values.location === undefined ? {} : { location: values.location }),
    ...(values['server-id'] === undefined ? {} : { serverId: values['server-id'] }),
    ...(extra === undefined ? {} : { extra }),
    ...(values.config === undefined ? {} : { config: values.config })
  }
}

function facts (result: StepResult): string {
  return Object.entries(result.facts).map(([key, value]) => `${key}=${String(value)}`).join(' ')
}

/** One line per step, a live line while polling (on a terminal), and the summary. */
export function consoleReporter (write: (text: string) => void, options: { tty: boolean, quiet: boolean }): Reporter {
  let live = false
  const clear = (): void => {
    if (live) write('\r\x1b[2K')
    live = false
  }
  return {
    progress (elapsed, state) {
      if (options.quiet) return
      const line = `  … status  ${Math.floor(elapsed / 60)}m${String(Math.floor(elapsed % 60)).padStart(2, '0')}s  ${state}`
      if (options.tty) {
        write(`\r\x1b[2K${line}`)
        live = true
      } else if (Math.floor(elapsed) % 30 === 0) {
        write(`${line}\n`)
      }
    },
    stepFinished (result) {
      clear()
      if (options.quiet) return
      const mark = result.skipped !== undefined ? '-' : result.ok ? '✔' : '✘'
      const time = result.skipped !== undefined ? `skipped (${result.skipped})` : `${(result.ms / 1000).toFixed(1)}s`
      write(`${mark} ${result.step.padEnd(13)} ${time.padStart(7)}  ${facts(result)}\n`)
      for (const problem of result.problems) write(`    ${problem}\n`)
    }
  }
}

export function summary (report: LifecycleReport): string {
  const ran = report.steps.filter((step) => step.skipped === undefined)
  const passed = ran.filter((step) => step.ok).length
  return `${passed} passed, ${ran.length - passed} failed${report.steps.length > ran.length ? `, ${report.steps.length - ran.length} skipped` : ''}`
}

async function main (): Promise<number> {
  let options
  try {
    options = parseOptions(process.argv.slice(2), process.env)
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      const message = (error as Error).message
      if (message === '') {
        console.log(USAGE)
        return 0
      }
      console.error(`ial-check: ${message}\n\n${USAGE}`)
      return 2
    }
    throw error
  }
  if (!options.quiet) console.log(`ial-check → ${options.url}`)
  const report = await runLifecycle(options, consoleReporter((text) => process.stdout.write(text), { tty: process.stdout.isTTY === true, quiet: options.quiet }))
  console.log(`\n${summary(report)}`)
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`)
  return report.ok ? 0 : 1
}

// run as a command (also through the npm bin symlink), not when imported
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main()
