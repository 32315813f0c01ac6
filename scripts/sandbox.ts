/**
 * npm run sandbox [-- --yes]
 *
 * Starts the adapter against the OpenMetal sandbox and plays Cycle's lifecycle with
 * ial-check. Without credentials it says what to set and calls nothing. Without --yes it
 * runs only the steps that buy nothing (verify, locations, server-models, configure).
 * SANDBOX_API_URL overrides the sandbox URL (the tests point it at the simulator).
 */
import { parseArgs } from 'node:util'
import { buildApp } from '../src/app.ts'
import { loadConfig, ConfigError, SANDBOX_API_URL } from '../src/config.ts'
import { runLifecycle, type StepName } from '../src/conformance/lifecycle.ts'
import { consoleReporter, credentialsFrom, parseDuration, summary } from '../src/cli/ial-check.ts'

const { values } = parseArgs({ options: { yes: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false }, timeout: { type: 'string', default: '45m' }, interval: { type: 'string', default: '5' } } })
const credentials = credentialsFrom(process.env)
if (credentials === undefined) {
  console.log(`npm run sandbox exercises the real OpenMetal sandbox (${SANDBOX_API_URL}).
Nothing was called. To run it, set credentials from OpenMetal Central (Organization Tools > API Access):

  export OPENMETAL_CLIENT_ID=...        # an OAuth client of the sandbox
  export OPENMETAL_CLIENT_SECRET=...
  # or: export OPENMETAL_API_KEY=...

and, for the steps that provision (with --yes):

  export OPENMETAL_DEPLOYMENT_CONFIGURATION=...   # the CycleOS ramdisk configuration ID
  export OPENMETAL_SSH_PUBLIC_KEY="ssh-ed25519 AAAA... you@example"   # or OPENMETAL_SSH_KEY_IDS=...`)
  process.exit(0)
}

const safeSteps: StepName[] = ['verify', 'locations', 'server-models', 'configure']
if (!values.yes) {
  console.log(`Running only the steps that buy nothing (${safeSteps.join(', ')}).
The full lifecycle ORDERS A REAL BARE-METAL SERVER (OpenMetal bills 30-day cycles, even in the sandbox
if your organisation is billed) and then decommissions it. Re-run with: npm run sandbox -- --yes\n`)
}

let config
try {
  config = loadConfig({ ...process.env, OPENMETAL_API_URL: process.env.SANDBOX_API_URL ?? SANDBOX_API_URL, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
} catch (error) {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : String(error))
  process.exit(2)
}
if (values.yes && (config.deploymentConfiguration === undefined || (config.sshPublicKey === undefined && config.sshKeyIds.length === 0))) {
  console.error('--yes provisions a server: set OPENMETAL_DEPLOYMENT_CONFIGURATION and OPENMETAL_SSH_PUBLIC_KEY (or OPENMETAL_SSH_KEY_IDS) first')
  process.exit(2)
}
const app = await buildApp(config)
const url = await app.listen({ port: 0, host: '127.0.0.1' })
console.log(`adapter ${url} → ${config.openMetalApiUrl}\n`)
const report = await runLifecycle({
  url,
  credentials,
  interval: Number(values.interval),
  timeout: parseDuration(values.timeout),
  keep: values.keep,
  ...(values.yes ? {} : { only: safeSteps })
}, consoleReporter((text) => process.stdout.write(text), { tty: process.stdout.isTTY === true, quiet: false }))
console.log(`\n${summary(report)}`)
await app.close()
process.exit(report.ok ? 0 : 1)
