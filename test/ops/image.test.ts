/**
 * The container image. No Docker engine runs here, so the test reads the Dockerfile, checks
 * what an operator relies on (pinned base, non-root, port, health check, nothing but the
 * build and production dependencies), then does what a build would: the build stage's
 * `npm run build` on exactly the files that stage copies, the runtime stage's `npm ci` on
 * exactly the files it copies, and the runtime stage's CMD and HEALTHCHECK against the result.
 */
import { execFile, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { promisify } from 'node:util'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ENVIRONMENT } from '../../src/config.ts'
import { startSimulator, type Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { startHarness } from '../helpers/harness.ts'
import { startPglite, type PgliteServer } from '../helpers/pglite.ts'
import {
  copiesOf, dockerignored, envOf, execForm, instructionsOf, parseDockerfile, readRepoFile, root, runNode, startServerProcess, workdirOf, type Stage
} from './support.ts'

const run = promisify(execFile)

const stages = parseDockerfile(readRepoFile('Dockerfile'))
const buildStage = stages[0] as Stage
const runtime = stages.at(-1) as Stage
const ignoreLines = readRepoFile('.dockerignore').split('\n')
const lock = JSON.parse(readRepoFile('package-lock.json')) as { packages: Record<string, { version?: string, dev?: boolean }> }

/** The HEALTHCHECK's command, exec form. */
function healthcheck (): string[] {
  const [args = ''] = instructionsOf(runtime, 'HEALTHCHECK')
  const command = /\bCMD\s+(\[[\s\S]*\])\s*$/.exec(args)?.[1]
  if (command === undefined) throw new Error(`HEALTHCHECK without an exec-form CMD: ${args}`)
  return execForm(command)
}

/** Run a `node ...` command from the Dockerfile with this process's Node 24. */
async function runImageCommand (command: readonly string[], env: Record<string, string>): Promise<number | null> {
  expect(command[0]).toBe('node')
  return (await runNode(command.slice(1), env)).code
}

describe('Dockerfile', () => {
  test('two stages on the same Node 24 slim base, pinned to the exact version the tests run on', () => {
    expect(stages).toHaveLength(2)
    expect(buildStage.name).toBeDefined()
    const bases = stages.map((stage) => stage.base)
    for (const base of bases) {
      expect(base).toMatch(/^node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/)
      expect(base).not.toMatch(/latest/)
    }
    expect(new Set(bases).size).toBe(1)
    // the `node` devDependency is the Node the test suite runs on; production runs the same
    const tested = lock.packages['node_modules/node']?.version
    expect(bases[0]).toContain(`node:${tested}-`)
  })

  test('the runtime stage copies package.json, package-lock.json, the coordinator\'s migrations and the built dist only', () => {
    const copies = copiesOf(runtime)
    const fromContext = copies.filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources)
    const fromBuild = copies.filter((copy) => copy.from !== undefined)
    expect(fromContext.sort()).toEqual(['db', 'package-lock.json', 'package.json'])
    expect(fromBuild).toEqual([{ from: buildStage.name, sources: [posix.join(workdirOf(buildStage), 'dist')], destination: './dist' }])
    for (const copy of copies) for (const source of copy.sources) expect(source).not.toMatch(/(^|\/)(src|test|\.env|node_modules)(\/|$)|^\.$/)
    expect(instructionsOf(runtime, 'ADD')).toEqual([])
  })

  test('the runtime stage installs production dependencies only, without install scripts', () => {
    const [install, ...more] = instructionsOf(runtime, 'RUN')
    expect(more).toEqual([])
    expect(install).toMatch(/^npm ci /)
    expect(install).toContain('--omit=dev')
    expect(install).toContain('--ignore-scripts')
    expect(envOf(runtime).NODE_ENV).toBe('production')
  })

  test('it runs as the unprivileged node user', () => {
    const user = instructionsOf(runtime, 'USER').at(-1)
    expect(user).toBe('node')
    // USER comes before CMD, so the server never runs as root
    const keywords = runtime.instructions.map((instruction) => instruction.keyword)
    expect(keywords.lastIndexOf('USER')).toBeLessThan(keywords.lastIndexOf('CMD'))
  })

  test('it listens on every interface at the default port, and exposes that port', () => {
    const env = envOf(runtime)
    expect(env.HOST).toBe('0.0.0.0')
    expect(env.PORT).toBe(ENVIRONMENT.PORT.default)
    expect(instructionsOf(runtime, 'EXPOSE')).toEqual([ENVIRONMENT.PORT.default])
  })

  test('CMD starts the compiled server with node directly (signals reach it), as `npm start` does; HEALTHCHECK asks /healthz with node', () => {
    const command = execForm(instructionsOf(runtime, 'CMD').at(-1) ?? '')
    expect(command[0]).toBe('node')
    expect(command.at(-1)).toBe('dist/server.js')
    // npm start compiles when the build is stale, then runs exactly this command
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts
    expect(scripts.start).toBe('node scripts/start.ts')
    expect(readRepoFile('scripts/start.ts')).toContain(`[${command.slice(1, -1).map((flag) => `'${flag}'`).join(', ')}, join(root, '${command.at(-1) ?? ''}')]`)
    expect(existsSync(join(root, 'src/server.ts'))).toBe(true)
    const check = healthcheck()
    expect(check[0]).toBe('node')
    expect(check.join(' ')).toContain('/healthz')
    expect(instructionsOf(runtime, 'HEALTHCHECK')[0]).toMatch(/--timeout=\d+s/)
  })

  test('no secrets are baked in', () => {
    const secretish = /SECRET|PASSWORD|TOKEN|API_KEY|CLIENT_ID|PRIVATE|CREDENTIAL/i
    for (const stage of stages) {
      for (const name of Object.keys(envOf(stage))) expect(name).not.toMatch(secretish)
      for (const arg of instructionsOf(stage, 'ARG')) expect(arg).not.toMatch(secretish)
    }
    for (const path of ['.env', '.env.local', '.env.production', '.npmrc']) expect(dockerignored(ignoreLines, path), path).toBe(true)
  })

  test('.dockerignore keeps local installs, builds, tests and VCS data out, and what the build copies in', () => {
    for (const path of ['node_modules/fastify/package.json', 'dist/server.js', 'test/ops/image.test.ts', '.git/HEAD', 'coverage/index.html', 'bench/results/quick.json', 'scripts/demo.ts', 'packages/ial-check/src/lifecycle.ts']) {
      expect(dockerignored(ignoreLines, path), path).toBe(true)
    }
    const needed = stages.flatMap((stage) => copiesOf(stage)).filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources)
    expect(needed).toEqual(expect.arrayContaining(['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']))
    for (const path of [...needed, 'src/server.ts', 'src/ial/routes/auth.ts']) expect(dockerignored(ignoreLines, path), path).toBe(false)
  })
})

describe('the runtime image contents', () => {
  let sim: Simulator
  let database: PgliteServer
  beforeAll(async () => { [sim, database] = await Promise.all([startSimulator({ provisioningStepMs: 20 }), startPglite()]) })
  afterAll(async () => { await Promise.all([sim.close(), database.close()]) })

  test('exactly what the runtime stage holds starts, passes its HEALTHCHECK, serves a Cycle call and stops on SIGTERM', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ial-image-'))
    try {
      // the build stage: its COPYs into a fresh directory; the repository's node_modules stand
      // in for its `npm ci` (same lockfile, dev dependencies included); then its `npm run build`
      const buildDir = join(scratch, 'build')
      mkdirSync(buildDir)
      for (const copy of copiesOf(buildStage)) {
        expect(copy.from).toBeUndefined()
        for (const source of copy.sources) {
          const target = copy.destination.endsWith('/') ? join(buildDir, copy.destination, source) : join(buildDir, copy.destination)
          cpSync(join(root, source), target, { recursive: true })
        }
      }
      const buildRuns = instructionsOf(buildStage, 'RUN')
      expect(buildRuns[0]).toMatch(/^npm ci\b/)
      expect(buildRuns[0]).not.toContain('--omit=dev')
      expect(buildRuns.slice(1)).toEqual(['npm run build'])
      symlinkSync(join(root, 'node_modules'), join(buildDir, 'node_modules'), 'dir')
      await run('npm', ['run', 'build'], { cwd: buildDir })

      // the runtime stage: its context COPYs, its `npm ci` (offline-friendly), then dist from the build
      const imageDir = join(scratch, 'image')
      mkdirSync(imageDir)
      const buildWorkdir = workdirOf(buildStage)
      for (const copy of copiesOf(runtime).filter((candidate) => candidate.from === undefined)) {
        for (const source of copy.sources) cpSync(join(root, source), join(imageDir, source), { recursive: true })
      }
      const install = (instructionsOf(runtime, 'RUN')[0] ?? '').split('&&')[0]?.trim().split(/\s+/) ?? []
      expect(install.slice(0, 2)).toEqual(['npm', 'ci'])
      await run('npm', [...install.slice(1), '--prefer-offline'], { cwd: imageDir })
      for (const copy of copiesOf(runtime).filter((candidate) => candidate.from !== undefined)) {
        for (const source of copy.sources) cpSync(join(buildDir, posix.relative(buildWorkdir, source)), join(imageDir, copy.destination), { recursive: true })
      }

      // nothing else: no sources, tests, dev dependencies or the devDependency's own Node
      expect(readdirSync(imageDir).sort()).toEqual(['db', 'dist', 'node_modules', 'package-lock.json', 'package.json'])
      const devOnly = Object.entries(lock.packages)
        .filter(([path, entry]) => entry.dev === true && path.startsWith('node_modules/') && !path.slice('node_modules/'.length).includes('node_modules/'))
        .map(([path]) => path)
      expect(devOnly).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/vitest', 'node_modules/node']))
      expect(devOnly.filter((path) => existsSync(join(imageDir, path)))).toEqual([])
      const shipped = readdirSync(join(imageDir, 'dist'), { recursive: true, encoding: 'utf8' })
      expect(shipped).toContain('server.js')
      expect(shipped.filter((file) => /\.ts$|\.test\.|(^|\/)test\//.test(file))).toEqual([])

      // CMD, with the stage's ENV; loopback only here, where the image listens on 0.0.0.0
      const command = execForm(instructionsOf(runtime, 'CMD').at(-1) ?? '')
      expect(command[0]).toBe('node')
      // with a PostgreSQL coordinator that must be there: the image's own migrations create its schema
      const server = await startServerProcess(command.slice(1), imageDir, { ...envOf(runtime), HOST: '127.0.0.1', OPENMETAL_API_URL: sim.url, DATABASE_URL: database.url, COORDINATION_REQUIRED: 'true' })
      try {
        expect(await runImageCommand(healthcheck(), { PORT: String(server.port) })).toBe(0)
        const ready = await request(`${server.url}/readyz`)
        expect([ready.statusCode, await ready.body.json()]).toEqual([200, { status: 'ready' }])
        expect(await database.query('SELECT version FROM ial_schema_migrations ORDER BY version')).toEqual([{ version: '0001_leases' }])
        const before = sim.state.requests.length
        const response = await request(`${server.url}/v1/infrastructure/provider/locations`, {
          method: 'GET',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ auth: { client_id: 'sim-client', secret: 'sim-secret', cycle: { hub_id: 'aaaaaaaaaaaaaaaaaaaaaaaa', hub_name: 'hub' } }, request: null })
        })
        expect(response.statusCode).toBe(200)
        const body = await response.body.json() as { data: { locations: unknown[] } }
        expect(body.data.locations.length).toBeGreaterThan(0)
        expect(sim.state.requests.slice(before).map((entry) => `${entry.method} ${entry.path}`)).toContain('GET /v2/inventory/locations')
      } finally {
        server.child.kill('SIGTERM')
      }
      expect(await server.exit).toBe(0)
      expect(server.output()).toContain('"msg":"closing"')
      // a stopped container is unhealthy
      expect(await runImageCommand(healthcheck(), { PORT: String(server.port) })).toBe(1)

      // the server's commands (ial-inventory, ial-setup) ship built: each bin names its source
      // (so a checkout runs it without a build), and the image holds and runs its compiled twin
      const bins = (JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> }).bin
      expect(Object.keys(bins).sort()).toEqual(['ial-inventory', 'ial-setup'])
      for (const [name, source] of Object.entries(bins)) {
        expect(source, name).toMatch(/^src\/cli\/[a-z-]+\.ts$/)
        const built = join(imageDir, source.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'))
        expect(readFileSync(built, 'utf8').startsWith('#!/usr/bin/env node\n'), name).toBe(true)
        const usage = await runNode([built, '--help'], {})
        expect([name, usage.code, usage.output]).toEqual([name, 0, expect.stringContaining(`usage: ${name}`)])
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  }, 120_000)

  test('the build emits no simulator or conformance code, and the runtime install holds only what the server imports', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ial-image-deps-'))
    try {
      // the build stage's compile alone, into a scratch directory
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(scratch, 'dist')], { cwd: root })
      const emitted = readdirSync(join(scratch, 'dist'), { recursive: true, encoding: 'utf8' })
      expect(emitted).toContain('server.js')
      expect(emitted.filter((file) => /simulator|conformance|ial-check|spec-drift|contract|cycle-requests|lifecycle/i.test(file))).toEqual([])

      // the runtime stage's install, on exactly the two files it copies
      for (const file of ['package.json', 'package-lock.json']) cpSync(join(root, file), join(scratch, file))
      const install = (instructionsOf(runtime, 'RUN')[0] ?? '').split('&&')[0]?.trim().split(/\s+/) ?? []
      await run('npm', [...install.slice(1), '--prefer-offline'], { cwd: scratch })
      // the workspace packages (simulator, ial-check) are development tools, never installed
      const manifest = JSON.parse(readRepoFile('package.json')) as { workspaces: string[], dependencies: Record<string, string>, devDependencies: Record<string, string> }
      const workspaces = Object.keys(manifest.devDependencies).filter((name) => name.startsWith('@cycle-ial-openmetal/'))
      expect(workspaces.sort()).toEqual(['@cycle-ial-openmetal/ial-check', '@cycle-ial-openmetal/openmetal-simulator'])
      expect(existsSync(join(scratch, 'node_modules/@cycle-ial-openmetal'))).toBe(false)
      for (const name of workspaces) expect(Object.keys(manifest.dependencies)).not.toContain(name)

      // the server declares exactly what its sources import (pino-pretty: a pino transport
      // named by string), so nothing only the packages need rides along
      const imported = new Set<string>(['pino-pretty'])
      const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'))
      for (const file of sources) {
        const code = readFileSync(join(root, 'src', file), 'utf8')
        for (const [, specifier = ''] of code.matchAll(/(?:\bfrom|^import)\s+['"]([^'"./][^'"]*)['"]/gm)) {
          if (specifier.startsWith('node:')) continue
          imported.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
        }
      }
      expect(Object.keys(manifest.dependencies).sort()).toEqual([...imported].sort())
      for (const name of imported) expect(existsSync(join(scratch, 'node_modules', name, 'package.json')), name).toBe(true)
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  }, 120_000)

  const hasOpenssl = spawnSync('openssl', ['version']).status === 0
  test.skipIf(!hasOpenssl)('the HEALTHCHECK speaks HTTPS when TLS_CERT_FILE is set (needs openssl; skipped without it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ial-tls-'))
    try {
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
      const env = { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') }
      const secure = await startHarness({ env })
      try {
        const port = String((secure.app.server.address() as { port: number }).port)
        expect(await runImageCommand(healthcheck(), { PORT: port, ...env })).toBe(0)
        // the same check over plain HTTP fails against a TLS listener: the switch matters
        expect(await runImageCommand(healthcheck(), { PORT: port })).toBe(1)
      } finally {
        await secure.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
