/**
 * `npm run openapi:generate` and `openapi:check` from any clone: the pinned specs come from
 * OPENAPI_SPECS_DIR, else ../shared/openapi, else a download at the pinned commits, and every
 * file must match openapi/specs.sha256. This machine has no internet, so a node:http server
 * on port 0 serves a copy of the pinned files in raw.githubusercontent.com's layout
 * (OPENAPI_SPECS_BASE_URL), and the generator runs as a child process in a copy of the
 * checkout with no ../shared beside it (and a download cache of its own).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { appendFile, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, normalize, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PINNED_DOWNLOAD_BASE, cycleIalPin, openMetalPin, pinnedDownloadUrl, specPins } from '../../openapi/inputs.ts'
import { freePort, readRepoFile, root, runNode } from './support.ts'

const GENERATOR = 'scripts/generate-openapi.ts'
const STACK = /^ {4}at /m
/** the whole answer of a refusal: one line on stderr */
const ONE_LINE = /^openapi specs: no usable copy of the pinned specs \(README, "Contributing"\): 1\. [^\n]+; 2\. [^\n]+; 3\. [^\n]+\n$/

const pinned = readRepoFile('openapi/specs.sha256').trim().split('\n').map((line) => {
  const [sha256 = '', path = ''] = line.split(/ [ *]/)
  return { sha256, path }
})

function sha256 (bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function pinOf (path: string): typeof cycleIalPin {
  const pin = specPins.find((candidate) => path.startsWith(`${candidate.folder}/`))
  if (pin === undefined) throw new Error(`${path} is in no pinned folder`)
  return pin
}

let work = ''
/** a checked copy of every pinned file, laid out as the specs directory */
let specs = ''

/**
 * Where this checkout's pinned files are: the copy the generator itself would read here
 * (OPENAPI_SPECS_DIR, ../shared/openapi, or the download it cached), every file checked.
 */
function localSpecs (): string | undefined {
  const named = process.env.OPENAPI_SPECS_DIR
  const dirs = [named === undefined || named === '' ? undefined : resolve(root, named), join(root, '../shared/openapi')]
  const found = dirs.find((dir) => dir !== undefined && pinned.every(({ path, sha256: hash }) => existsSync(join(dir, path)) && sha256(readFileSync(join(dir, path))) === hash))
  if (found !== undefined) return found
  // a clone without either reads the download `npm run openapi:check` cached, per commit
  const cached = (path: string): string => join(root, 'node_modules/.cache/openapi-specs', pinOf(path).commit, path)
  return pinned.every(({ path, sha256: hash }) => existsSync(cached(path)) && sha256(readFileSync(cached(path))) === hash) ? 'cache' : undefined
}

async function copySpecs (target: string): Promise<void> {
  let from = localSpecs()
  if (from === undefined) {
    // nothing here yet: the generator fetches and caches the pinned files, as CI does first
    const fetched = await runNode([join(root, GENERATOR), '--check'], { OPENAPI_SPECS_DIR: process.env.OPENAPI_SPECS_DIR ?? '' }, 120_000)
    from = localSpecs()
    if (from === undefined) throw new Error(`no pinned copy of the specs to serve: ${fetched.output}`)
  }
  for (const { path } of pinned) {
    const source = from === 'cache' ? join(root, 'node_modules/.cache/openapi-specs', pinOf(path).commit, path) : join(from, path)
    await mkdir(dirname(join(target, path)), { recursive: true })
    await cp(source, join(target, path))
  }
}

/** A copy of the checkout as a plain clone has it: the generator, its inputs, the committed outputs, its own node_modules/.cache. */
async function makeClone (name: string): Promise<string> {
  const clone = join(work, name, 'main')
  for (const path of ['package.json', GENERATOR, 'openapi', 'src/generated', 'packages/openmetal-simulator/src/generated', 'packages/ial-check/src/generated']) {
    await mkdir(dirname(join(clone, path)), { recursive: true })
    await cp(join(root, path), join(clone, path), { recursive: true })
  }
  // the packages are linked one by one, so that node_modules/.cache is the clone's own
  await mkdir(join(clone, 'node_modules'))
  for (const entry of await readdir(join(root, 'node_modules'))) {
    if (!entry.startsWith('.')) await symlink(join(root, 'node_modules', entry), join(clone, 'node_modules', entry))
  }
  return clone
}

interface Mirror {
  readonly url: string
  /** paths asked for, in order */
  readonly requests: string[]
  close(): Promise<void>
}

/** raw.githubusercontent.com in miniature: `/<owner>/<name>/<commit>/<path in the repository>` from `dir`. */
async function serveMirror (dir: string): Promise<Mirror> {
  const requests: string[] = []
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://mirror').pathname)
    requests.push(path)
    const file = join(dir, normalize(path))
    if (!file.startsWith(`${dir}/`) || !existsSync(file)) {
      response.writeHead(404).end('404: Not Found')
      return
    }
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(readFileSync(file))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => { await new Promise((resolve) => server.close(resolve)) }
  }
}

/** The pinned files laid out as GitHub's raw host serves them, written by hand from each pin's fields. */
async function mirrorOf (name: string): Promise<string> {
  const dir = join(work, name)
  for (const { path } of pinned) {
    const pin = pinOf(path)
    const target = join(dir, pin.repository.replace('github.com/', ''), pin.commit, pin.path, path.slice(pin.folder.length + 1))
    await mkdir(dirname(target), { recursive: true })
    await cp(join(specs, path), target)
  }
  return dir
}

async function generator (clone: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  return await runNode([join(clone, GENERATOR), ...args], env, 60_000)
}

let mirror: Mirror

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ial-openapi-sources-'))
  specs = join(work, 'specs')
  await copySpecs(specs)
  mirror = await serveMirror(await mirrorOf('mirror'))
}, 180_000)

afterAll(async () => {
  await mirror?.close() // unset when beforeAll failed
  if (work !== '') await rm(work, { recursive: true, force: true })
})

describe('the pins', () => {
  test('specs.sha256 lists each spec\'s entry and every file its $refs reach, in sha256sum format, as --pin writes it; a folder\'s other files are no part of it', async () => {
    expect(readRepoFile('openapi/specs.sha256')).toMatch(/^(?:[0-9a-f]{64} {2}(?:cycle-ial|openmetal)\/\S+\n)+$/)
    for (const pin of specPins) expect(pinned.map(({ path }) => path)).toContain(`${pin.folder}/${pin.entry}`)
    // what else an upstream folder holds (a linter's configuration, notes) is never pinned, so never downloaded
    const withExtras = join(work, 'specs-with-extras')
    await cp(specs, withExtras, { recursive: true })
    await writeFile(join(withExtras, 'openmetal/redocly.yaml'), '')
    await writeFile(join(withExtras, 'cycle-ial/components/NOTES.md'), 'not part of the spec\n')
    const clone = await makeClone('pin')
    await writeFile(join(clone, 'openapi/specs.sha256'), '')
    const written = await generator(clone, ['--pin'], { OPENAPI_SPECS_DIR: withExtras })
    expect(written.code, written.output).toBe(0)
    expect(written.output).toBe(`wrote openapi/specs.sha256: ${pinned.length} files from ${withExtras}\n`)
    expect(readFileSync(join(clone, 'openapi/specs.sha256'), 'utf8')).toBe(readRepoFile('openapi/specs.sha256'))
  }, 60_000)

  test('a pinned file is downloaded from GitHub at its commit', () => {
    expect(PINNED_DOWNLOAD_BASE).toBe('https://raw.githubusercontent.com')
    expect(pinnedDownloadUrl(cycleIalPin, 'components/schemas/Auth.yml'))
      .toBe(`https://raw.githubusercontent.com/cycleplatform/api-spec/${cycleIalPin.commit}/ial/components/schemas/Auth.yml`)
    expect(pinnedDownloadUrl(openMetalPin, 'openapi.yaml', 'http://127.0.0.1:9/')).toBe(`http://127.0.0.1:9/openmetalio/openmetal-docs/${openMetalPin.commit}/api/openapi.yaml`)
  })
})

describe('a clone without ../shared', () => {
  test('downloads every pinned file once, checks it, caches it; the next run reads the cache, even offline', async () => {
    const clone = await makeClone('download')
    const before = mirror.requests.length
    const first = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: mirror.url })
    expect(first.code, first.output).toBe(0)
    expect(first.output).toContain(`pinned specs: downloaded from ${mirror.url} (cycle-ial, openmetal) into node_modules/.cache/openapi-specs`)
    // the committed generated files are what the downloaded specs make
    expect(first.output).toContain('generated code is up to date')
    expect(mirror.requests.slice(before).sort()).toEqual(pinned.map(({ path }) => {
      const pin = pinOf(path)
      return `/${pin.repository.replace('github.com/', '')}/${pin.commit}/${pin.path}${path.slice(pin.folder.length + 1)}`
    }).sort())
    for (const { path } of pinned) expect(existsSync(join(clone, 'node_modules/.cache/openapi-specs', pinOf(path).commit, path)), path).toBe(true)

    const offline = `http://127.0.0.1:${await freePort()}`
    const second = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: offline })
    expect(second.code, second.output).toBe(0)
    expect(second.output).toContain('pinned specs: node_modules/.cache/openapi-specs (downloaded earlier)')

    // the cache is checked before use: an edited file there sends that pin back to the download
    await appendFile(join(clone, 'node_modules/.cache/openapi-specs', openMetalPin.commit, 'openmetal/openapi.yaml'), '\n# edited\n')
    const third = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: offline })
    expect(third.code, third.output).toBe(1)
    expect(third.output).toMatch(ONE_LINE)
    const mended = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: mirror.url })
    expect(mended.code, mended.output).toBe(0)
    expect(mended.output).toContain(`downloaded from ${mirror.url} (openmetal)`)
  }, 120_000)

  test('a tampered download is refused in one line naming the file, and nothing is cached', async () => {
    const tampered = await mirrorOf('tampered')
    await appendFile(join(tampered, 'cycleplatform/api-spec', cycleIalPin.commit, 'ial/paths/server/provision.yml'), '\n# tampered\n')
    const server = await serveMirror(tampered)
    try {
      const clone = await makeClone('tampered')
      const run = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: server.url })
      expect(run.code, run.output).toBe(1)
      expect(run.output).toMatch(ONE_LINE)
      expect(run.output).not.toMatch(STACK)
      expect(run.output).toContain(`3. download from ${server.url}: cycle-ial/paths/server/provision.yml does not match openapi/specs.sha256`)
      expect(run.output).toContain('1. OPENAPI_SPECS_DIR: not set; 2. ../shared/openapi (')
      expect(existsSync(join(clone, 'node_modules/.cache/openapi-specs', cycleIalPin.commit))).toBe(false)
    } finally {
      await server.close()
    }
  }, 60_000)

  test('no source at all: one line naming all three and what each did, exit 1, no stack trace', async () => {
    const clone = await makeClone('unreachable')
    const port = await freePort()
    const run = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: `http://127.0.0.1:${port}` })
    expect(run.code, run.output).toBe(1)
    expect(run.output).toMatch(ONE_LINE)
    expect(run.output).not.toMatch(STACK)
    expect(run.output).toContain(`1. OPENAPI_SPECS_DIR: not set; 2. ../shared/openapi (${join(work, 'unreachable/shared/openapi')}): no such directory; 3. download from http://127.0.0.1:${port}: `)
    expect(run.output).toMatch(/ECONNREFUSED 127\.0\.0\.1:\d+\n$/)
  }, 60_000)
})

describe('a copy found on disk is checked too', () => {
  test('OPENAPI_SPECS_DIR with an edited file, a missing file, or no such directory is refused; the download is not tried', async () => {
    const clone = await makeClone('named')
    const edited = join(work, 'edited-specs')
    await cp(specs, edited, { recursive: true })
    await appendFile(join(edited, 'openmetal/paths/vlans.yaml'), '\n# edited\n')
    const missing = join(work, 'missing-specs')
    await cp(specs, missing, { recursive: true })
    await rm(join(missing, 'cycle-ial/paths/ip/release.yml'))
    const before = mirror.requests.length
    const cases: Array<[string, string]> = [
      [edited, `1. OPENAPI_SPECS_DIR=${edited}: refused, openmetal/paths/vlans.yaml does not match openapi/specs.sha256`],
      [missing, `1. OPENAPI_SPECS_DIR=${missing}: refused, cycle-ial/paths/ip/release.yml is missing`],
      [join(work, 'nowhere'), `1. OPENAPI_SPECS_DIR=${join(work, 'nowhere')}: no such directory`]
    ]
    for (const [dir, said] of cases) {
      const run = await generator(clone, ['--check'], { OPENAPI_SPECS_DIR: dir, OPENAPI_SPECS_BASE_URL: mirror.url })
      expect(run.code, run.output).toBe(1)
      expect(run.output).toMatch(ONE_LINE)
      expect(run.output).toContain(said)
      expect(run.output).toContain('2. ../shared/openapi: not tried; 3. download: not tried')
    }
    expect(mirror.requests.length).toBe(before)

    const good = await generator(clone, ['--check'], { OPENAPI_SPECS_DIR: specs, OPENAPI_SPECS_BASE_URL: mirror.url })
    expect(good.code, good.output).toBe(0)
    expect(good.output).toContain(`pinned specs: OPENAPI_SPECS_DIR=${specs}`)
  }, 120_000)

  test('../shared/openapi is used when it matches and refused, naming the file, when it is stale', async () => {
    const clone = await makeClone('shared')
    const shared = join(work, 'shared', 'shared', 'openapi')
    await cp(specs, shared, { recursive: true })
    const before = mirror.requests.length
    const good = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: mirror.url })
    expect(good.code, good.output).toBe(0)
    expect(good.output).toContain(`pinned specs: ../shared/openapi (${shared})`)
    expect(mirror.requests.length).toBe(before)

    await writeFile(join(shared, 'cycle-ial/components/schemas/Auth.yml'), 'type: object\n')
    const stale = await generator(clone, ['--check'], { OPENAPI_SPECS_BASE_URL: mirror.url })
    expect(stale.code, stale.output).toBe(1)
    expect(stale.output).toMatch(ONE_LINE)
    expect(stale.output).toContain(`2. ../shared/openapi (${shared}): refused, cycle-ial/components/schemas/Auth.yml does not match openapi/specs.sha256`)
    expect(stale.output).toContain('3. download: not tried')
    expect(mirror.requests.length).toBe(before)
  }, 60_000)
})
