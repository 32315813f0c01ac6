/**
 * Process entry: load the configuration, build the app, listen (and say so in one line), and
 * close gracefully on SIGTERM/SIGINT (finish what is in flight, close the upstream pool, exit 0).
 */
import closeWithGrace from 'close-with-grace'
import { loadConfig, ConfigError } from './config.ts'
import { buildApp } from './app.ts'
import { logStartup } from './observability/startup.ts'

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
