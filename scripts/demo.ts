/**
 * npm run demo [-- --once] [--buy-ip-blocks] [--port N]
 *
 * Starts the OpenMetal simulator and the adapter on localhost, then plays Cycle with the
 * same engine as ial-check: one server's whole life, every call printed with its answer and
 * time. Keeps serving until Ctrl-C; --once exits after the walk (non-zero on any failure).
 * --buy-ip-blocks lets the adapter buy IP blocks and, once the server is provisioned, fills
 * its cloud's own two blocks, so the allocation step shows a purchase (and the release, the
 * block given back).
 */
import { request } from 'undici'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { startSimulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { runLifecycle, type StepName } from '@cycle-ial-openmetal/ial-check/lifecycle'
import { createAddress } from '@cycle-ial-openmetal/openmetal-simulator/network'
import { consoleReporter, summary } from '@cycle-ial-openmetal/ial-check/cli'
import { UsageError, parseCommandLine, readCommandLine } from '../src/cli/args.ts'
import { SSH_PUBLIC_KEY } from '../test/helpers/fixtures.ts'

const USAGE = `usage: npm run demo [-- --once] [--buy-ip-blocks] [--port N]

Starts the OpenMetal simulator and the adapter on 127.0.0.1, then plays Cycle through the
adapter: one server's whole life, every call printed with its answer and time.

options:
  --once           exit after the walk (1 if a step failed); without it the adapter keeps
                   serving until Ctrl-C, and the demo prints how to try it yourself
  --buy-ip-blocks  let the adapter buy IP blocks, and fill the cloud's own first, so the walk
                   shows a block bought and given back
  --port N         the adapter's port (default PORT or 8080; 0 picks a free one). When it is
                   taken, the demo says so and uses a free one
  --help           this text`

const values = readCommandLine({ name: 'demo', help: 'npm run demo -- --help', usage: USAGE }, () => {
  const { values } = parseCommandLine({ options: { once: { type: 'boolean', default: false }, port: { type: 'string', default: process.env.PORT ?? '8080' }, 'buy-ip-blocks': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } })
  if (values.help) return 'help'
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port is a port number from 0 to 65535, not ${values.port}`)
  return values
})
const buyIpBlocks = values['buy-ip-blocks']
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
  OPENMETAL_SSH_PUBLIC_KEY: SSH_PUBLIC_KEY,
  OPENMETAL_IP_BLOCK_PURCHASE: buyIpBlocks ? 'true' : 'false'
})
const app = await buildApp(config)
let url: string
let moved = ''
try {
  url = await app.listen({ port: config.port, host: config.host })
} catch (error) {
  // another demo (or anything) holds the port: take a free one, and say so, since the README's
  // commands name 8080
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
  url = await app.listen({ port: 0, host: config.host })
  moved = `   (port ${config.port} is taken: use this URL, not :${config.port})`
}
console.log(`OpenMetal simulator  ${sim.url}   (credentials: client_id=sim-client secret=sim-secret, or api_key=sim-api-key)`)
console.log(`adapter              ${url}${moved}\n`)

const printer = consoleReporter((text) => process.stdout.write(text), { tty, quiet: false })
const report = await runLifecycle({
  url,
  credentials: { client_id: 'sim-client', secret: 'sim-secret' },
  interval: 0.5,
  timeout: 120
}, {
  ...printer,
  ...(buyIpBlocks
    ? {
        // once the server is provisioned, its cloud's own blocks fill up (someone else's addresses)
        onStepStart (step: StepName) {
          if (step === 'allocate') fillCloudBlocks()
          printer.onStepStart?.(step)
        }
      }
    : {}),
  exchange (call) {
    const answer = JSON.stringify(call.response)
    process.stdout.write(dim(`    ${call.method} ${call.path} → ${call.status} in ${call.ms} ms  ${answer.length > 160 ? `${answer.slice(0, 157)}...` : answer}\n`))
  }
})
console.log(`\n${summary(report)}`)
if (buyIpBlocks) console.log(`IP blocks bought: ${sim.state.prefixesBought}, given back: ${sim.state.counters().prefixesDeleted ?? 0}`)

/** Fills every block delivered with a cloud, as if other servers had taken their addresses (before the allocation step's first call). */
function fillCloudBlocks (): void {
  for (const prefix of [...sim.state.prefixes.values()].filter((candidate) => !candidate.purchased)) {
    while (prefix.addresses.size < 11) createAddress(sim.state, prefix, { label: 'another server' })
  }
  console.log(dim('    (the cloud\'s own IP blocks are now full: the adapter may buy one)'))
}

async function close (code: number): Promise<never> {
  await app.close()
  await sim.close()
  process.exit(code)
}

if (values.once) await close(report.ok ? 0 : 1)
// before the line that says Ctrl-C stops it
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { void close(0) })
console.log(`\nStill serving${moved === '' ? '' : ` on ${url} (port ${config.port} was taken)`}. Try it yourself:\n  OPENMETAL_CLIENT_ID=sim-client OPENMETAL_CLIENT_SECRET=sim-secret npm run ial-check -- --url ${url} --interval 1\n  curl -s ${url}/v1/infrastructure/provider/locations\nCtrl-C to stop.`)
