/**
 * What the operations tests share: the repository's files, real server processes on a free
 * loopback port, and readers for the Dockerfile and .dockerignore (no Docker engine here, so
 * the tests read what a build would do and do it themselves).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'

export const root = join(import.meta.dirname, '../..')

export function readRepoFile (path: string): string {
  return readFileSync(join(root, path), 'utf8')
}

/** A TCP port nobody listens on right now (listen on 0, note the port, close). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface RunningServer {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  /** resolves with the exit code (null when killed by a signal) */
  readonly exit: Promise<number | null>
  /** stdout and stderr so far */
  output (): string
}

/**
 * Start `process.execPath args` (Node 24 in vitest) with only PATH and `env` in its
 * environment, on a free port, and wait until /healthz answers 200.
 */
export async function startServerProcess (args: readonly string[], cwd: string, env: Record<string, string>, timeoutMs = 15_000): Promise<RunningServer> {
  const port = await freePort()
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const exited = new AbortController()
  void exit.then(() => exited.abort())
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !exited.signal.aborted) {
    try {
      const response = await request(`${url}/healthz`)
      await response.body.dump()
      if (response.statusCode === 200) return { child, port, url, exit, output: () => output }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`the server did not answer /healthz within ${timeoutMs} ms:\n${output}`)
}

/** Run `process.execPath args` to its end without blocking this process's event loop. */
export async function runNode (args: readonly string[], env: Record<string, string>, timeoutMs = 10_000): Promise<{ code: number | null, output: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

// --- Dockerfile -------------------------------------------------------------------------------

export interface Instruction {
  /** upper case: FROM, COPY, RUN, ... */
  readonly keyword: string
  readonly args: string
}

export interface Stage {
  readonly base: string
  readonly name: string | undefined
  readonly instructions: readonly Instruction[]
}

/** Instructions per stage: continuation lines joined, comment lines dropped (as Docker does). */
export function parseDockerfile (text: string): Stage[] {
  const logical: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (line.trim().startsWith('#') || (line.trim() === '' && pending === '')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `
      continue
    }
    logical.push(`${pending}${line.trim()}`.trim())
    pending = ''
  }
  if (pending.trim() !== '') logical.push(pending.trim())
  const stages: Array<{ base: string, name: string | undefined, instructions: Instruction[] }> = []
  for (const line of logical) {
    const match = /^(\S+)\s*([\s\S]*)$/.exec(line)
    if (match === null) continue
    const keyword = (match[1] ?? '').toUpperCase()
    const args = match[2] ?? ''
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ base: from?.[1] ?? args, name: from?.[2], instructions: [] })
      continue
    }
    const stage = stages.at(-1)
    if (stage === undefined) throw new Error(`${keyword} before the first FROM`)
    stage.instructions.push({ keyword, args })
  }
  return stages
}

export function instructionsOf (stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args)
}

/** `["node", "x.js"]` exec form as an array; the shell form is refused (signals would go to sh). */
export function execForm (args: string): string[] {
  if (!args.trim().startsWith('[')) throw new Error(`not the exec form: ${args}`)
  const parsed = JSON.parse(args) as unknown
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`not a string array: ${args}`)
  return parsed
}

export interface Copy {
  /** the stage copied from (--from), or undefined for the build context */
  readonly from: string | undefined
  readonly sources: readonly string[]
  readonly destination: string
}

export function copiesOf (stage: Stage): Copy[] {
  return instructionsOf(stage, 'COPY').map((args) => {
    const words = args.trim().startsWith('[') ? execForm(args) : args.split(/\s+/)
    const flags = words.filter((word) => word.startsWith('--'))
    const paths = words.filter((word) => !word.startsWith('--'))
    const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length)
    const destination = paths.at(-1)
    if (destination === undefined || paths.length < 2) throw new Error(`COPY without source or destination: ${args}`)
    return { from, sources: paths.slice(0, -1), destination }
  })
}

/** ENV in both forms: `ENV A=1 B=2` and the legacy `ENV A 1`. */
export function envOf (stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const args of instructionsOf(stage, 'ENV')) {
    if (!/^\S+=/.test(args)) {
      const [name = '', ...value] = args.split(/\s+/)
      env[name] = value.join(' ')
      continue
    }
    for (const match of args.matchAll(/(\S+?)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const value = match[2] ?? ''
      env[match[1] ?? ''] = value.startsWith('"') ? JSON.parse(value) as string : value
    }
  }
  return env
}

/** The stage's working directory (absolute WORKDIR values only). */
export function workdirOf (stage: Stage): string {
  return instructionsOf(stage, 'WORKDIR').at(-1) ?? '/'
}

// --- .dockerignore ----------------------------------------------------------------------------

function patternRegExp (pattern: string): RegExp {
  const cleaned = pattern.replace(/^\/+/, '').replace(/\/+$/, '')
  let body = ''
  for (let i = 0; i < cleaned.length; i++) {
    const char = cleaned[i] ?? ''
    if (char === '*' && cleaned[i + 1] === '*') {
      body += '.*'
      i++
    } else if (char === '*') {
      body += '[^/]*'
    } else if (char === '?') {
      body += '[^/]'
    } else {
      body += char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${body}$`)
}

/**
 * Whether a build-context path is left out by these .dockerignore lines: the last matching
 * pattern decides (`!` re-includes), and a pattern that matches a directory leaves out all
 * that is inside it.
 */
export function dockerignored (lines: readonly string[], path: string): boolean {
  const parts = path.replace(/^\.\//, '').split('/')
  const candidates = parts.map((_part, index) => parts.slice(0, index + 1).join('/'))
  let ignored = false
  for (const raw of lines) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const negated = line.startsWith('!')
    const matcher = patternRegExp(negated ? line.slice(1) : line)
    if (candidates.some((candidate) => matcher.test(candidate))) ignored = !negated
  }
  return ignored
}

/** Whether this machine routes 127.0.0.2 and the rest of 127/8 to loopback (Linux does): tests of many client addresses need it. */
export async function routesOtherLoopbacks (): Promise<boolean> {
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const routed = await new Promise<boolean>((resolve) => {
    const socket = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', localAddress: '127.0.0.2' })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return routed
}
