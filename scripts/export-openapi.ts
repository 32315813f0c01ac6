/**
 * Writes the adapter's own OpenAPI 3.1 document (built from the routes' TypeBox schemas)
 * to openapi/adapter.openapi.json. `--check` fails when the committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'

const target = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'openapi/adapter.openapi.json')
const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }))
await app.ready()
const text = `${JSON.stringify(app.swagger(), null, 2)}\n`
await app.close()
if (process.argv.includes('--check')) {
  const current = existsSync(target) ? await readFile(target, 'utf8') : ''
  if (current !== text) {
    console.error('openapi/adapter.openapi.json is stale: run npm run openapi:export and commit the result')
    process.exit(1)
  }
  console.log('openapi/adapter.openapi.json is up to date')
} else {
  await writeFile(target, text)
  console.log('wrote openapi/adapter.openapi.json')
}
