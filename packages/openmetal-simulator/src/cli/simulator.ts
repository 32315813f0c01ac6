/**
 * npm run simulator: the OpenMetal simulator alone, to point an adapter (or curl) at it.
 * `--drift a,b` (or SIM_DRIFT) answers with the real API's deviations from the spec; SIM_PORT
 * (default 8090), SIM_HOST (default 127.0.0.1), SIM_STEP_MS (time between provisioning
 * states, default 3000), SIM_LOG=0 to silence the per-request log. `--help` for all of it.
 */
import { parseArgs } from 'node:util'
import { DRIFTS, defaultOrganizations, parseDrifts, startSimulator, type Drift } from '../index.ts'

const USAGE = `Usage: npm run simulator -- [--port <n>] [--host <address>] [--step-ms <ms>] [--drift <names>] [--help]

Starts the OpenMetal simulator (see packages/openmetal-simulator/README.md).

Options:
  --port <n>       port (default SIM_PORT, else 8090)
  --host <address> interface (default SIM_HOST, else 127.0.0.1: the admin API has no authentication)
  --step-ms <ms>   time between provisioning states (default SIM_STEP_MS, else 3000)
  --drift <names>  comma-separated deviations from the spec to answer with, or "all":
                   ${DRIFTS.join(', ')}
  -h, --help       print this and exit

Environment (an option wins over its variable):
  SIM_PORT, SIM_HOST, SIM_STEP_MS, SIM_DRIFT  like --port, --host, --step-ms, --drift
  SIM_LOG=0    no per-request log
`

function fail (message: string): never {
  console.error(`simulator: ${message} (npm run simulator -- --help for the options)`)
  process.exit(2)
}

/** A whole number from an option or else its variable, named as the user gave it when it is no number. */
function numberFrom (option: string | undefined, flag: string, name: string, fallback: number): number {
  const raw = option ?? process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) fail(`${option === undefined ? name : flag} must be a non-negative integer, not ${raw}`)
  return value
}

function driftFrom (list: string | undefined): Drift[] {
  const names = (list ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '')
  try {
    return parseDrifts(names)
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
}

let values: { drift?: string, port?: string, host?: string, 'step-ms'?: string, help?: boolean }
try {
  values = parseArgs({ options: { drift: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'step-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values
} catch (error) {
  fail(error instanceof Error ? error.message : String(error))
}
if (values.help === true) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const drift = driftFrom(values.drift ?? process.env.SIM_DRIFT)

const host = values.host ?? process.env.SIM_HOST ?? '127.0.0.1'
const port = numberFrom(values.port, '--port', 'SIM_PORT', 8090)
if (port > 65_535) fail(`${values.port === undefined ? 'SIM_PORT' : '--port'} must be a port (0 to 65535), not ${port}`)
let sim: Awaited<ReturnType<typeof startSimulator>>
try {
  sim = await startSimulator({ host, port, provisioningStepMs: numberFrom(values['step-ms'], '--step-ms', 'SIM_STEP_MS', 3000), logger: process.env.SIM_LOG !== '0', drift })
} catch (error) {
  // a taken port or an address this machine does not have: one line, not a stack trace
  const code = (error as NodeJS.ErrnoException).code
  const why = code === 'EADDRINUSE' ? `${host}:${port} is already in use (another simulator?); choose another with --port` : code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine (--host)` : code === 'EACCES' ? `no permission to listen on ${host}:${port}` : error instanceof Error ? error.message : String(error)
  console.error(`simulator: cannot listen: ${why}`)
  process.exit(1)
}

console.log(`OpenMetal simulator listening on ${sim.url}`)
console.log('credentials (OAuth client_id / secret, or the API key as a Bearer token):')
for (const org of defaultOrganizations) {
  console.log(`  ${org.id}: client_id=${org.clientId} secret=${org.clientSecret} api_key=${org.apiKeys.join(',')}`)
}
if (drift.length > 0) console.log(`drift: ${drift.join(', ')} (change it with POST /_sim/drift)`)
console.log(`point the adapter at it: OPENMETAL_API_URL=${sim.url}`)
console.log(`admin API (no auth): ${sim.url}/_sim/state, /_sim/faults, /_sim/drift, ... (see packages/openmetal-simulator/README.md)`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0))
  })
}
