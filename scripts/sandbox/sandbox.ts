/**
 * npm run sandbox [-- --yes] [-- --help]
 *
 * Starts the adapter against the OpenMetal sandbox and plays Cycle's lifecycle with
 * ial-check. Without credentials it says what to set and calls nothing. Without --yes it
 * runs only the steps that buy nothing (verify, locations, server-models, configure).
 * SANDBOX_API_URL overrides the sandbox URL (the tests point it at the simulator).
 *
 * Every answer the adapter receives from OpenMetal is compared with the pinned spec
 * (spec-drift.ts, beside it); after the lifecycle the run prints what the sandbox said
 * that the spec does not. `runSandbox` is the whole command, for the tests.
 *
 * The output is for a person: the adapter's own log (JSON lines, LOG_LEVEL, default warn) goes
 * to a file whose path is printed, not between the steps. The run stops at the first step
 * that fails (a server it ordered is still decommissioned), since the steps after it would
 * only fail for the same reason.
 */
import { createWriteStream, mkdtempSync, realpathSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildApp } from '../../src/app.ts'
import { loadConfig, ConfigError, SANDBOX_API_URL, type Config } from '../../src/config.ts'
import { runLifecycle, type Reporter, type StepName } from '@cycle-ial-openmetal/ial-check/lifecycle'
import { SpecDriftRecorder } from './spec-drift.ts'
import { UsageError, consoleReporter, credentialsFrom, interruptSignal, parseDuration, summary, type Io } from '@cycle-ial-openmetal/ial-check/cli'

export const USAGE = `usage: npm run sandbox [-- options]

Runs this adapter against the OpenMetal sandbox (SANDBOX_API_URL overrides
${SANDBOX_API_URL}) and plays Cycle's lifecycle through it with ial-check.
Then prints what the sandbox answered that the pinned OpenMetal spec does not say (spec
drift): extra fields, nulls, unlisted enum values, type differences, wrapped lists,
pagination signals.

credentials: OPENMETAL_CLIENT_ID + OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY. Never printed.

options:
  --yes                 the whole lifecycle: ORDERS A REAL BARE-METAL SERVER, then decommissions it
                        (needs OPENMETAL_DEPLOYMENT_CONFIGURATION and OPENMETAL_SSH_PUBLIC_KEY or
                        OPENMETAL_SSH_KEY_IDS). Without it: verify, locations, server-models, configure.
  --keep                with --yes: skip release and decommission (the server stays)
  --timeout DURATION    wait for provisioned at most this long (default 45m)
  --interval DURATION   between provision-status polls (default 5s)
  --json FILE           also write the spec-drift report as JSON to FILE
  --help                this text

The adapter's log (JSON lines at LOG_LEVEL, default warn) goes to a file in the temporary
folder; its path is printed. The run stops at the first step that fails; a server it ordered
is still decommissioned (unless --keep).

Exit code: 0 every step passed, 1 a step failed, 2 usage or configuration error, 130 interrupted.`

const NO_CREDENTIALS = `npm run sandbox exercises the real OpenMetal sandbox (${SANDBOX_API_URL}).
Nothing was called. To run it, set credentials from OpenMetal Central (Organization Tools > API Access):

  export OPENMETAL_CLIENT_ID=...        # an OAuth client of the sandbox
  export OPENMETAL_CLIENT_SECRET=...
  # or: export OPENMETAL_API_KEY=...

and, for the steps that provision (with --yes):

  export OPENMETAL_DEPLOYMENT_CONFIGURATION=...   # the CycleOS ramdisk configuration ID
  export OPENMETAL_SSH_PUBLIC_KEY="ssh-ed25519 AAAA... you@example"   # or OPENMETAL_SSH_KEY_IDS=...`

const SAFE_STEPS: StepName[] = ['verify', 'locations', 'server-models', 'configure']

interface SandboxOptions {
  readonly yes: boolean
  readonly keep: boolean
  readonly timeout: number
  readonly interval: number
  readonly json?: string
}

function parseOptions (argv: string[]): SandboxOptions {
  let values
  try {
    // strict (the default): an unknown option or a positional argument is a usage error
    values = parseArgs({
      args: argv,
      options: {
        yes: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '45m' },
        interval: { type: 'string', default: '5' },
        json: { type: 'string' },
        help: { type: 'boolean', default: false }
      }
    }).values
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'bad options')
  }
  if (values.help) throw new UsageError('')
  return {
    yes: values.yes,
    keep: values.keep,
    timeout: parseDuration(values.timeout),
    interval: parseDuration(values.interval),
    ...(values.json === undefined ? {} : { json: values.json })
  }
}

/** The whole command; returns the exit code. */
export async function runSandbox (argv: string[], env: Readonly<Record<string, string | undefined>>, io: Io, signal?: AbortSignal): Promise<number> {
  const out = (text: string): void => { io.stdout.write(text) }
  let options: SandboxOptions
  let credentials
  try {
    options = parseOptions(argv)
    credentials = credentialsFrom(env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    if (error.message === '') {
      out(`${USAGE}\n`)
      return 0
    }
    io.stderr.write(`sandbox: ${error.message} (npm run sandbox -- --help for the options)\n`)
    return 2
  }
  if (credentials === undefined) {
    out(`${NO_CREDENTIALS}\n`)
    return 0
  }
  if (!options.yes) {
    out(`Running only the steps that buy nothing (${SAFE_STEPS.join(', ')}).
The full lifecycle ORDERS A REAL BARE-METAL SERVER (OpenMetal bills 30-day cycles, even in the sandbox
if your organisation is billed) and then decommissions it. Re-run with: npm run sandbox -- --yes\n\n`)
  }

  let config: Config
  try {
    config = loadConfig({ ...env, OPENMETAL_API_URL: env.SANDBOX_API_URL ?? SANDBOX_API_URL, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL ?? 'warn' })
  } catch (error) {
    io.stderr.write(`${error instanceof ConfigError ? `configuration error: ${error.message}` : String(error)}\n`)
    return 2
  }
  if (options.yes && (config.deploymentConfiguration === undefined || (config.sshPublicKey === undefined && config.sshKeyIds.length === 0))) {
    io.stderr.write('--yes provisions a server: set OPENMETAL_DEPLOYMENT_CONFIGURATION and OPENMETAL_SSH_PUBLIC_KEY (or OPENMETAL_SSH_KEY_IDS) first\n')
    return 2
  }

  const drift = new SpecDriftRecorder()
  const logFile = join(mkdtempSync(join(tmpdir(), 'ial-sandbox-')), 'adapter.log')
  const log = createWriteStream(logFile)
  // the first failed step stops the run: the lifecycle skips what is left, except the
  // decommission of a server it ordered
  const stop = new AbortController()
  let failed: StepName | undefined
  const printer = consoleReporter(out, { tty: io.stdout.isTTY === true, quiet: false })
  const reporter: Reporter = {
    ...printer,
    onStepFinish (result) {
      // the steps skipped because of the stop are said once, below, not one line each
      if (failed !== undefined && result.outcome === 'skipped' && signal?.aborted !== true) return
      printer.onStepFinish?.(result)
      if (result.outcome === 'failed' && failed === undefined) {
        failed = result.step
        stop.abort()
      }
    }
  }
  const app = await buildApp(config, { clientOptions: { onAnswer: drift.observe }, logStream: log })
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    out(`adapter ${url} → ${config.openMetalApiUrl}\nits log (${config.logLevel}): ${logFile}\n\n`)
    const report = await runLifecycle({
      url,
      credentials,
      interval: options.interval,
      timeout: options.timeout,
      keep: options.keep,
      ...(options.yes ? {} : { only: SAFE_STEPS }),
      signal: signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal])
    }, reporter)
    if (failed !== undefined && signal?.aborted !== true) {
      const left = report.steps.filter((step) => step.outcome === 'skipped' && step.skipped === 'interrupted').map((step) => step.step)
      out(`\nStopped: ${failed} failed${left.length === 0 ? '' : `, so ${left.join(', ')} did not run`}. What the adapter logged: ${logFile}\n`)
    }
    out(`\n${summary(report)}\n\n${drift.format()}\n`)
    if (options.json !== undefined) {
      try {
        writeFileSync(options.json, `${JSON.stringify({ tool: 'sandbox', openMetalApiUrl: config.openMetalApiUrl, specDrift: drift.report() }, null, 2)}\n`)
      } catch (error) {
        io.stderr.write(`sandbox: cannot write --json ${options.json}: ${(error as Error).message}\n`)
        return 1
      }
    }
    if (signal?.aborted === true) return 130
    return report.ok ? 0 : 1
  } finally {
    await app.close()
    log.end()
    await once(log, 'close')
  }
}

// run as a command, not when imported (the tests import runSandbox)
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(await runSandbox(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr }, interruptSignal()))
}
