/**
 * npm run demo [-- --once]
 *
 * Starts the OpenMetal simulator and the adapter on localhost, then plays Cycle with the
 * same engine as ial-check: one server's whole life, every call printed with its answer and
 * time. Keeps serving until Ctrl-C; --once exits after the walk (non-zero on any failure).
 */
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { startSimulator } from '../src/simulator/index.ts'
import { runLifecycle } from '../src/conformance/lifecycle.ts'
import { consoleReporter, summary } from '../src/cli/ial-check.ts'

const { values } = parseArgs({ options: { once: { type: 'boolean', default: false }, port: { type: 'string', default: process.env.PORT ?? '8080' } } })
const tty = process.stdout.isTTY === true
const dim = (text: string): string => tty ? `\x1b[2m${text}\x1b[22m` : text

const sim = await startSimulator({ provisioningStepMs: 1500 })
const configuration = await request(`${sim.url}/v1/configurations`, {
  method: 'POST',
  headers: { authorization: 'Bearer sim-api-key', 'content-type': 'application/json' },
  body: JSON.stringify({ label: 'CycleOS', fields: { image_ramdisk_kernel: 'https://images.example.com/cycleos/vmlinuz', image_ramdisk_ramdisk: 'https://images.example.com/cycleos/initramfs.img' } })
})
const { id: deploymentConfiguration } = await configuration.body.json() as { id: string }

const config = loadConfig({
  PORT: values.port,
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  OPENMETAL_API_URL: sim.url,
  OPENMETAL_DEPLOYMENT_CONFIGURATION: deploymentConfiguration,
  OPENMETAL_SSH_PUBLIC_KEY: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q demo@cycle'
})
const app = await buildApp(config)
let url: string
try {
  url = await app.listen({ port: config.port, host: config.host })
} catch {
  url = await app.listen({ port: 0, host: config.host })
}
console.log(`OpenMetal simulator  ${sim.url}   (credentials: client_id=sim-client secret=sim-secret, or api_key=sim-api-key)`)
console.log(`adapter              ${url}\n`)

const printer = consoleReporter((text) => process.stdout.write(text), { tty, quiet: false })
const report = await runLifecycle({
  url,
  credentials: { client_id: 'sim-client', secret: 'sim-secret' },
  interval: 0.5,
  timeout: 120
}, {
  ...printer,
  exchange (call) {
    const answer = JSON.stringify(call.response)
    process.stdout.write(dim(`    ${call.method} ${call.path} → ${call.status} in ${call.ms} ms  ${answer.length > 160 ? `${answer.slice(0, 157)}...` : answer}\n`))
  }
})
console.log(`\n${summary(report)}`)

async function close (code: number): Promise<never> {
  await app.close()
  await sim.close()
  process.exit(code)
}

if (values.once) await close(report.ok ? 0 : 1)
console.log(`\nStill serving. Try it yourself:\n  OPENMETAL_CLIENT_ID=sim-client OPENMETAL_CLIENT_SECRET=sim-secret npm run ial-check -- --url ${url} --interval 1\n  curl -s ${url}/v1/infrastructure/provider/locations\nCtrl-C to stop.`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void close(0) })
