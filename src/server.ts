/**
 * Process entry: load the configuration, build the app, listen (and say so in one line), and
 * close gracefully on SIGTERM/SIGINT (finish what is in flight, close the upstream pool, exit 0).
 */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { logStartup } from './observability/startup.ts'
import { parseCommandLine, readCommandLine } from './cli/args.ts'
import { ConfigError, ENVIRONMENT, describeType, loadConfig, type EnvName } from './config.ts'

const USAGE = `usage: npm start   (in the image: node dist/server.js)

The Cycle IAL server for OpenMetal. It takes no arguments: it is configured by environment
variables alone (defaults below; .env.example and the README's Configuration table say more),
and tenants' OpenMetal credentials arrive with each Cycle call.

${(Object.keys(ENVIRONMENT) as EnvName[]).map((name) => { const { default: fallback, help, type } = ENVIRONMENT[name]; return `  ${name}=${fallback}\n      ${help} (${describeType(type)})` }).join('\n')}

exit code: 0 after a graceful shutdown (SIGTERM, SIGINT); 1 for a setting that cannot be
used (the message names its variable); 2 for arguments.`

/** A setting that cannot be used stops the process with one line naming its variable. */
async function configured<T> (step: () => T | Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`)
      process.exit(1)
    }
    throw error
  }
}

async function main (): Promise<void> {
  readCommandLine({ name: 'cycle-ial-openmetal', help: 'npm start -- --help', usage: USAGE }, () =>
    parseCommandLine({ options: { help: { type: 'boolean', short: 'h' } } }).values.help === true ? 'help' : undefined)
  const config = await configured(() => loadConfig(process.env))
  // building reads the TLS files: a bad one is a setting like any other
  const app = await configured(() => buildApp(config))
  closeWithGrace({ delay: config.shutdownGraceMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  const address = await app.listen({ port: config.port, host: config.host })
  logStartup(app.log, config, address)
}

await main()
