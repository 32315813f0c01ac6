/**
 * npm run simulator: the OpenMetal simulator alone, to point an adapter (or curl) at it.
 * SIM_PORT (default 8090), SIM_HOST (default 127.0.0.1), SIM_STEP_MS (time between
 * provisioning states, default 3000), SIM_LOG=0 to silence the per-request log.
 */
import { defaultOrganizations, startSimulator } from '../src/simulator/index.ts'

function numberFrom (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, not ${raw}`)
    process.exit(2)
  }
  return value
}

const sim = await startSimulator({
  host: process.env.SIM_HOST ?? '127.0.0.1',
  port: numberFrom('SIM_PORT', 8090),
  provisioningStepMs: numberFrom('SIM_STEP_MS', 3000),
  logger: process.env.SIM_LOG !== '0'
})

console.log(`OpenMetal simulator listening on ${sim.url}`)
console.log('credentials (OAuth client_id / secret, or the API key as a Bearer token):')
for (const org of defaultOrganizations) {
  console.log(`  ${org.id}: client_id=${org.clientId} secret=${org.clientSecret} api_key=${org.apiKeys.join(',')}`)
}
console.log(`point the adapter at it: OPENMETAL_API_URL=${sim.url}`)
console.log(`admin API (no auth): ${sim.url}/_sim/state, /_sim/faults, ... (see src/simulator/README.md)`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0))
  })
}
