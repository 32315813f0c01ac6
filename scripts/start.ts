/**
 * npm start: the server as the image runs it (`node --max-semi-space-size=4 dist/server.js`),
 * compiled first only when a source is newer than the build. Arguments (`--help`) and settings
 * are answered before anything is compiled, so a typo answers in a moment, not after tsc.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, loadConfig } from '../src/config.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The newest modification time among the files the build reads (src/ and the tsconfigs of `project`). */
function newestSource (project: string): number {
  const sources = readdirSync(join(project, 'src'), { recursive: true, encoding: 'utf8' }).map((file) => join(project, 'src', file))
  const configs = ['tsconfig.json', 'tsconfig.build.json'].map((file) => join(project, file)).filter((file) => existsSync(file))
  let newest = 0
  for (const file of [...sources, ...configs]) newest = Math.max(newest, statSync(file).mtimeMs)
  return newest
}

/** Whether `project`'s dist/ is missing or older than one of its sources. */
export function buildIsStale (project = root): boolean {
  const built = join(project, 'dist/server.js')
  return !existsSync(built) || statSync(built).mtimeMs < newestSource(project)
}

function run (): void {
  const args = process.argv.slice(2)
  // the server takes no arguments but --help: it answers (or refuses) them itself, from source
  if (args.length > 0) {
    process.exit(spawnSync(process.execPath, [join(root, 'src/server.ts'), ...args], { stdio: 'inherit' }).status ?? 1)
  }
  try {
    loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`configuration error: ${error.message}`)
    process.exit(1)
  }
  if (buildIsStale()) {
    const built = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
    if (built.status !== 0) process.exit(built.status ?? 1)
  }
  const server = spawn(process.execPath, ['--max-semi-space-size=4', join(root, 'dist/server.js')], { stdio: 'inherit' })
  // npm passes the signals on to this process; the server closes gracefully on them
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => { server.kill(signal) })
  server.once('exit', (code, signal) => { process.exit(code ?? (signal === null ? 1 : 128)) })
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) run()
