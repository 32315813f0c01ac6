/**
 * npm run simulator: the OpenMetal simulator alone, for pointing an adapter (or curl) at it.
 * SIM_PORT (default 8090), SIM_HOST (default 127.0.0.1), SIM_STEP_MS (default 3000).
 */
import { startSimulator, defaultOrganizations } from '../src/simulator/index.ts'

const sim = await startSimulator({
  host: process.env.SIM_HOST ?? '127.0.0.1',
  port: Number(process.env.SIM_PORT ?? 8090),
  provisioningStepMs: Number(process.env.SIM_STEP_MS ?? 3000)
})
console.log(`OpenMetal simulator on ${sim.url}`)
for (const org of defaultOrganizations) console.log(`  ${org.id}: client_id=${org.clientId} secret=${org.clientSecret} api_key=${org.apiKeys.join(',')}`)
console.log(`point the adapter at it: OPENMETAL_API_URL=${sim.url}`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0))
  })
}
