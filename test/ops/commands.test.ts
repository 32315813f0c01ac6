/**
 * Every command a newcomer runs answers --help (exit 0, its options named, nothing started)
 * and refuses a command line it cannot use with a short message and a hint to --help (exit
 * 2), never a Node stack trace. The commands are the package.json scripts that run a file of
 * this repository, so a new one is not forgotten.
 */
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { readRepoFile, root, runNode } from './support.ts'
import { ENVIRONMENT } from '../../src/config.ts'
import { FINDINGS, USAGE as INVENTORY_USAGE } from '../../src/cli/inventory.ts'

interface Command {
  readonly file: string
  /** how its usage errors start */
  readonly name: string
  readonly options: readonly string[]
  /** a value it refuses */
  readonly bad: readonly string[]
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: { file: 'scripts/demo.ts', name: 'demo', options: ['--once', '--buy-ip-blocks', '--port'], bad: ['--port', 'eighty'] },
  sandbox: { file: 'scripts/sandbox/sandbox.ts', name: 'sandbox', options: ['--yes', '--keep', '--timeout', '--interval', '--json'], bad: ['--timeout', 'soon'] },
  bench: { file: 'bench/run.ts', name: 'bench', options: ['--latency', '--quick', '--ci', '--json'], bad: ['--latency', 'slow'] },
  simulator: { file: 'packages/openmetal-simulator/src/cli/simulator.ts', name: 'simulator', options: ['--drift'], bad: ['--drift', 'gremlins'] },
  inventory: { file: 'src/cli/inventory.ts', name: 'ial-inventory', options: ['--hub', '--json', '--api-url'], bad: ['--hub'] },
  setup: { file: 'src/cli/setup.ts', name: 'ial-setup', options: ['--kernel', '--ramdisk', '--kernel-args', '--cloud-init', '--label', '--json', '--api-url'], bad: ['cycleos', '--kernel', 'ftp://example.com/vmlinuz', '--ramdisk', 'https://example.com/initrd'] },
  'ial-check': { file: 'packages/ial-check/src/cli/ial-check.ts', name: 'ial-check', options: ['--url', '--interval', '--timeout', '--keep', '--only', '--status-method', '--retries', '--retry-wait', '--json', '--credentials', '--hub-id', '--model', '--location', '--server-id', '--extra', '--config', '--quiet'], bad: ['--url', 'http://127.0.0.1:9', '--interval', 'often'] }
}

/** Scripts that are no command of the kind: tools of the build and of the generated code, and the server (it takes no arguments). */
const NOT_COMMANDS = new Set(['build', 'prepack', 'prestart', 'start', 'test', 'typecheck', 'lint', 'openapi:generate', 'openapi:check', 'openapi:export'])

const STACK = /^ {4}at /m

describe('every command of package.json', () => {
  test('is listed here, with the file it runs', () => {
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts
    const commands = Object.keys(scripts).filter((script) => !NOT_COMMANDS.has(script))
    expect(commands.sort()).toEqual(Object.keys(COMMANDS).sort())
    for (const [script, command] of Object.entries(COMMANDS)) expect(scripts[script], script).toMatch(new RegExp(`node ${command.file.replaceAll('.', '\\.')}( |$)`))
  })
})

// no credentials in the environment: a command that got past its command line would say so, not call anything
describe.each(Object.entries(COMMANDS))('npm run %s', (script, command) => {
  const run = async (args: readonly string[]): Promise<{ code: number | null, output: string }> => await runNode([join(root, command.file), ...args], { NO_COLOR: '1' }, 20_000)

  test('--help: the usage with every option, exit 0, nothing started', async () => {
    const help = await run(['--help'])
    expect(help.code, help.output).toBe(0)
    expect(help.output).toMatch(/^usage: /i)
    for (const option of [...command.options, '--help']) expect(help.output, option).toContain(option)
    expect(help.output).not.toMatch(STACK)
    expect(help.output).not.toMatch(/listening|adapter +http/i)
  }, 30_000)

  test('an unknown option and a bad value: a short message naming it, a hint to --help, exit 2, no stack trace', async () => {
    for (const args of [['--frobnicate'], command.bad]) {
      const wrong = await run(args)
      expect(wrong.code, wrong.output).toBe(2)
      expect(wrong.output).not.toMatch(STACK)
      expect(wrong.output, wrong.output).toMatch(new RegExp(`^${command.name}: [^\n]+ \\(.*--help for the options\\)\n$`))
    }
  }, 30_000)
})

describe('ial-inventory --help is the whole story', () => {
  test('the OpenMetal API it reads by default, what each finding means, what each exit code says', () => {
    expect(INVENTORY_USAGE).toContain(`default OPENMETAL_API_URL, else ${ENVIRONMENT.OPENMETAL_API_URL.default}`)
    // every kind the report can flag, read from the type in src/mapping/inventory.ts
    const union = /export type Finding = ([^\n]+)/.exec(readRepoFile('src/mapping/inventory.ts'))?.[1] ?? ''
    const kinds = [...union.matchAll(/'([a-z-]+)'/g)].map((match) => match[1])
    expect(kinds.length).toBeGreaterThan(5)
    expect(Object.keys(FINDINGS).sort()).toEqual([...kinds].sort())
    for (const kind of [...kinds, 'INCOMPLETE']) expect(INVENTORY_USAGE).toMatch(new RegExp(`^  ${kind} +\\S.{20,}$`, 'm'))
    expect(INVENTORY_USAGE).toMatch(/exit code: 0 nothing to look at; 1 at least one finding.*; 2 usage error/s)
  })
})
