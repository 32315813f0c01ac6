/**
 * `ial-setup cycleos` against the simulator: the CycleOS deployment configuration is created
 * once, left alone when it matches, updated when the inputs change, and never made twice;
 * inputs are refused before OpenMetal is asked; OpenMetal's refusals are told with its reason.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createClient } from '../../src/openmetal/create-client.ts'
import { main, setUpCycleOs, USAGE, type CycleOsSpec } from '../../src/cli/setup.ts'
import { loadConfig } from '../../src/config.ts'
import { startSimulator, type Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { call, idOf } from '@cycle-ial-openmetal/openmetal-simulator/test-client'
import { root } from './support.ts'

const KERNEL = 'https://images.example.com/cycleos/vmlinuz'
const RAMDISK = 'https://images.example.com/cycleos/initramfs.img'
const SECRET = 'sim-secret'
const dir = mkdtempSync(join(tmpdir(), 'ial-setup-'))

let sim: Simulator
beforeAll(async () => { sim = await startSimulator() })
afterAll(async () => { await sim.close() })

function envFor (simulator: Simulator): Record<string, string> {
  return { OPENMETAL_API_URL: simulator.url, OPENMETAL_CLIENT_ID: 'sim-client', OPENMETAL_CLIENT_SECRET: SECRET }
}

async function run (args: string[], env: Record<string, string> = envFor(sim)): Promise<{ code: number, stdout: string, stderr: string, last: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, env, { stdout: { write: (text: string) => { stdout += text } }, stderr: { write: (text: string) => { stderr += text } } })
  return { code, stdout, stderr, last: stdout.trimEnd().split('\n').at(-1) ?? '' }
}

/** `cycleos --kernel K --ramdisk R --label L` plus more arguments. */
function cycleos (label: string, ...more: string[]): string[] {
  return ['cycleos', '--kernel', KERNEL, '--ramdisk', RAMDISK, '--label', label, ...more]
}

/** The calls that change configurations since `from` (an index into the request log). */
function writesSince (simulator: Simulator, from: number): string[] {
  return simulator.state.requests.slice(from).filter((entry) => entry.path.startsWith('/v1/configurations') && entry.method !== 'GET').map((entry) => `${entry.method} ${entry.path}`)
}

function labelled (simulator: Simulator, label: string): Array<{ id: string, fields: Record<string, unknown> }> {
  return [...simulator.state.configurations.values()].filter((configuration) => configuration.label === label).map(({ id, fields }) => ({ id, fields: { ...fields } }))
}

describe('ial-setup cycleos', () => {
  test('creates the configuration once: the ID is the last line, and a second run creates nothing', async () => {
    const first = await run(cycleos('CycleOS one'))
    expect(first).toMatchObject({ code: 0, stderr: '' })
    expect(first.stdout).toMatch(/^created deployment configuration "CycleOS one" at http:\/\/127\.0\.0\.1:\d+\n {2}kernel {6}https:\/\/images\.example\.com\/cycleos\/vmlinuz\n/)
    const [made] = labelled(sim, 'CycleOS one')
    expect(first.last).toBe(made?.id)
    expect(made?.fields).toEqual({ image_ramdisk_kernel: KERNEL, image_ramdisk_ramdisk: RAMDISK })

    const before = sim.state.requests.length
    const second = await run(cycleos('CycleOS one'))
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('is already as asked: nothing changed')
    expect(second.last).toBe(first.last)
    expect(writesSince(sim, before)).toEqual([])
    expect(labelled(sim, 'CycleOS one')).toHaveLength(1)
  })

  test('changed kernel arguments update it with PATCH, keeping its ID; --json prints one line', async () => {
    const created = await run(cycleos('CycleOS args', '--kernel-args', 'console=ttyS0,115200n8', '--json'))
    expect(created.code).toBe(0)
    const { id } = JSON.parse(created.stdout) as { id: string }
    expect(JSON.parse(created.stdout)).toEqual({ id, action: 'created', label: 'CycleOS args' })

    const before = sim.state.requests.length
    const updated = await run(cycleos('CycleOS args', '--kernel-args', 'console=ttyS1,115200n8 ip=dhcp', '--json'))
    expect(updated.code).toBe(0)
    expect(updated.stdout.split('\n')).toEqual([JSON.stringify({ id, action: 'updated', label: 'CycleOS args', changed: ['kernel_args'] }), ''])
    expect(writesSince(sim, before)).toEqual([`PATCH /v1/configurations/${id}`])
    expect(labelled(sim, 'CycleOS args')).toEqual([{ id, fields: { image_ramdisk_kernel: KERNEL, image_ramdisk_ramdisk: RAMDISK, kernel_args: 'console=ttyS1,115200n8 ip=dhcp' } }])

    const again = await run(cycleos('CycleOS args', '--kernel-args', 'console=ttyS1,115200n8 ip=dhcp', '--json'))
    expect(JSON.parse(again.stdout)).toEqual({ id, action: 'unchanged', label: 'CycleOS args' })
  })

  test('cloud-init user data from a file; a new kernel URL is the one change', async () => {
    const file = join(dir, 'user-data.yaml')
    const userData = '#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: "CycleOS ✓\\n"\n'
    writeFileSync(file, userData)
    const created = await run(cycleos('CycleOS cloud-init', '--cloud-init', file))
    expect(created.code).toBe(0)
    expect(created.stdout).toContain(`  cloud-init  ${Buffer.byteLength(userData)} bytes of user data\n`)
    const id = created.last
    expect(labelled(sim, 'CycleOS cloud-init')[0]?.fields.cloud_init).toEqual({ data: userData })

    const updated = await run(['cycleos', '--kernel', `${KERNEL}-6.12`, '--ramdisk', RAMDISK, '--label', 'CycleOS cloud-init', '--cloud-init', file])
    expect(updated.code).toBe(0)
    expect(updated.stdout).toContain('(changed: image_ramdisk_kernel)')
    expect(updated.last).toBe(id)
    expect(labelled(sim, 'CycleOS cloud-init')[0]?.fields).toMatchObject({ image_ramdisk_kernel: `${KERNEL}-6.12`, image_ramdisk_ramdisk: RAMDISK, cloud_init: { data: expect.stringContaining('CycleOS ✓') } })
  })

  test('through the function: created, then unchanged, with a client of its own', async () => {
    const client = createClient(loadConfig({ OPENMETAL_API_URL: sim.url }))
    const context = { credentials: { kind: 'api-key', apiKey: 'sim-api-key' } as const }
    const spec: CycleOsSpec = { label: 'CycleOS function', kernel: KERNEL, ramdisk: RAMDISK }
    try {
      const created = await setUpCycleOs(client, spec, context)
      expect(created).toMatchObject({ label: 'CycleOS function', action: 'created', changed: [] })
      expect(await setUpCycleOs(client, spec, context)).toEqual({ ...created, action: 'unchanged' })
      expect(await setUpCycleOs(client, { ...spec, ramdisk: `${RAMDISK}.2` }, context)).toEqual({ ...created, action: 'updated', changed: ['image_ramdisk_ramdisk'] })
      expect(await client.getConfiguration(created.id, context)).toMatchObject({ id: created.id, fields: { image_ramdisk_ramdisk: `${RAMDISK}.2` } })
    } finally {
      await client.close()
    }
  })

  test('a lost answer to the create: the configuration is found by its label, not made twice', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/configurations', drop: 'after' })
    const result = await run(cycleos('CycleOS lost'))
    expect(result.code).toBe(0)
    const made = labelled(sim, 'CycleOS lost')
    expect(made).toHaveLength(1)
    expect(result.last).toBe(made[0]?.id)
  })
})

describe('refused before OpenMetal is asked (exit 2, one line)', () => {
  const big = join(dir, 'big.yaml')
  const latin1 = join(dir, 'latin1.yaml')
  const empty = join(dir, 'empty.yaml')
  beforeAll(() => {
    writeFileSync(big, `#cloud-config\n# ${'x'.repeat(64 * 1024)}\n`)
    writeFileSync(latin1, Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]))
    writeFileSync(empty, '\n')
  })

  test.each([
    [['cycleos', '--ramdisk', RAMDISK], '--kernel URL is required'],
    [['cycleos', '--kernel', KERNEL], '--ramdisk URL is required'],
    [['cycleos', '--kernel', 'ftp://images.example.com/vmlinuz', '--ramdisk', RAMDISK], '--kernel must be an http:// or https:// URL'],
    [['cycleos', '--kernel', KERNEL, '--ramdisk', 'initramfs.img'], '--ramdisk initramfs.img is not a URL'],
    [['cycleos', '--kernel', `${KERNEL} quiet`, '--ramdisk', RAMDISK], '--kernel must not contain spaces'],
    [[...cycleos('x'), '--kernel-args', 'quiet\nsplash'], '--kernel-args must be one line'],
    [[...cycleos('x'), '--kernel-args', 'quiet\rsplash'], '--kernel-args must be one line'],
    [[...cycleos('x'), '--kernel-args', 'a'.repeat(1025)], '--kernel-args is 1025 characters; at most 1024'],
    [[...cycleos('x'), '--kernel-args', '  '], '--kernel-args must not be empty'],
    [[...cycleos('x'), '--cloud-init', join(dir, 'missing.yaml')], 'cannot read --cloud-init'],
    [[...cycleos('x'), '--cloud-init', dir], 'cannot read --cloud-init'],
    [[...cycleos('x'), '--cloud-init', big], 'bytes; at most 65536 (64 KiB)'],
    [[...cycleos('x'), '--cloud-init', latin1], 'is not UTF-8 text'],
    [[...cycleos('x'), '--cloud-init', empty], 'is empty'],
    [['cycleos', '--kernel', KERNEL, '--ramdisk', RAMDISK, '--label', 'Cycle\tOS'], '--label must be 1 to 64 printable ASCII characters'],
    [['cycleos', '--kernel', KERNEL, '--ramdisk', RAMDISK, '--label', 'x'.repeat(65)], '--label must be 1 to 64'],
    [[...cycleos('x'), '--api-url', 'file:///etc/passwd'], '--api-url must be an http(s) origin without path or query'],
    [['--kernel', KERNEL, '--ramdisk', RAMDISK], 'what to set up? The command is: ial-setup cycleos'],
    [['debian', '--kernel', KERNEL], 'unknown command debian'],
    [[...cycleos('x'), 'now'], 'unexpected argument now'],
    [[...cycleos('x'), '--kernel-arg', 'quiet'], "Unknown option '--kernel-arg'"],
    [[...cycleos('x'), '--kernel-args', '-quiet'], "Option '--kernel-args' argument is ambiguous. Did you forget"]
  ])('%j: %s', async (args, message) => {
    const before = sim.state.requests.length
    const result = await run(args)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(message)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(sim.state.requests.length).toBe(before)
  })

  test('no credentials, or a client ID without its secret', async () => {
    expect((await run(cycleos('x'), { OPENMETAL_API_URL: sim.url })).stderr).toContain('no credentials: set OPENMETAL_CLIENT_ID and OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY')
    const half = await run(cycleos('x'), { OPENMETAL_API_URL: sim.url, OPENMETAL_CLIENT_ID: 'sim-client' })
    expect(half).toMatchObject({ code: 2, stdout: '' })
    expect(half.stderr).toContain('OPENMETAL_CLIENT_ID is set without OPENMETAL_CLIENT_SECRET')
  })

  test('--help explains it and exits 0, without credentials or a command', async () => {
    for (const args of [['--help'], ['cycleos', '--help'], ['cycleos', '-h', '--kernel', 'nope']]) {
      const result = await run(args, {})
      expect(result).toMatchObject({ code: 0, stdout: `${USAGE}\n`, stderr: '' })
    }
    expect(USAGE).toMatch(/^usage: ial-setup cycleos --kernel URL --ramdisk URL/)
    for (const needed of ['OpenStack', 'http://169.254.169.254', 'max_wait: 120', 'apply_network_config: true', 'OPENMETAL_DEPLOYMENT_CONFIGURATION', '--kernel-args', '--cloud-init', '--label', '--json', '--api-url']) expect(USAGE).toContain(needed)
  })
})

describe('what OpenMetal holds or says', () => {
  test('two configurations with the label: refused, naming both, and nothing is created or changed', async () => {
    const fields = { image_ramdisk_kernel: KERNEL, image_ramdisk_ramdisk: RAMDISK }
    const one = idOf(await call(sim, 'POST', '/v1/configurations', { label: 'CycleOS twice', fields }))
    const two = idOf(await call(sim, 'POST', '/v1/configurations', { label: 'CycleOS twice', fields }))
    const before = sim.state.requests.length
    const result = await run(cycleos('CycleOS twice', '--kernel-args', 'quiet'))
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toBe(`ial-setup: 2 deployment configurations are labelled "CycleOS twice": ${one}, ${two}. Delete all but one (or pass another --label), then run again\n`)
    expect(writesSince(sim, before)).toEqual([])
  })

  test('what an update cannot make match is refused: a disk image, kernel arguments or user data left out', async () => {
    await call(sim, 'POST', '/v1/configurations', { label: 'CycleOS disk', fields: { image_source: 'https://images.example.com/disk.img', image_os_hash_algo: 'sha256', image_os_hash_value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } })
    const disk = await run(cycleos('CycleOS disk'))
    expect(disk.code).toBe(1)
    expect(disk.stderr).toContain('deploys a disk image (image_source)')

    expect((await run(cycleos('CycleOS keep', '--kernel-args', 'quiet'))).code).toBe(0)
    const before = sim.state.requests.length
    const dropped = await run(cycleos('CycleOS keep'))
    expect(dropped.code).toBe(1)
    expect(dropped.stderr).toMatch(/has kernel arguments \(--kernel-args\), which this run does not give, and OpenMetal's update cannot remove/)
    expect(writesSince(sim, before)).toEqual([])
  })

  test('OpenMetal refusing: exit 1 with its reason; a failure: exit 1 saying which call; both in the words Cycle gets', async () => {
    sim.faults.add({ method: 'POST', path: '/v1/configurations', status: 400, body: { status: 400, error: 'Bad Request', message: 'image_ramdisk_kernel: the image could not be fetched' } })
    const refused = await run(cycleos('CycleOS refused'))
    expect(refused).toMatchObject({ code: 1, stdout: '', stderr: 'ial-setup: OpenMetal refused the request: OpenMetal answered 400 to createConfiguration: image_ramdisk_kernel: the image could not be fetched\n' })

    sim.faults.add({ method: 'GET', path: '/v1/configurations', status: 500, times: Infinity })
    const failed = await run(cycleos('CycleOS refused'))
    sim.faults.clear()
    expect(failed).toMatchObject({ code: 1, stderr: 'ial-setup: OpenMetal is not available right now: OpenMetal answered 500 to listConfigurations (retry in 5 s)\n' })
    expect(labelled(sim, 'CycleOS refused')).toEqual([])
  })

  test('credentials OpenMetal rejects: exit 2, the secret never printed', async () => {
    const wrong = await run(cycleos('x'), { OPENMETAL_API_URL: sim.url, OPENMETAL_CLIENT_ID: 'sim-client', OPENMETAL_CLIENT_SECRET: 'not-the-secret' })
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/^ial-setup: OpenMetal rejected the credentials: OpenMetal answered 401 to exchangeToken/)
    expect(wrong.stderr).not.toContain('not-the-secret')
    const key = await run(cycleos('x'), { OPENMETAL_API_URL: sim.url, OPENMETAL_API_KEY: 'not-a-key' })
    expect(key.code).toBe(2)
    expect(key.stderr).not.toContain('not-a-key')
  })

  test('OpenMetal unreachable: exit 1, one line with the host and the cause', async () => {
    const result = await run(cycleos('x'), { ...envFor(sim), OPENMETAL_API_URL: 'http://127.0.0.1:1' })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('ial-setup: could not reach 127.0.0.1:1 for exchangeToken: the connection failed (ECONNREFUSED); nothing was changed\n')
  })

  test('a bad OPENMETAL_API_URL is named as the variable it came from', async () => {
    const result = await run(cycleos('x'), { ...envFor(sim), OPENMETAL_API_URL: 'notaurl' })
    expect([result.code, result.stderr]).toEqual([2, 'ial-setup: OPENMETAL_API_URL must be an http(s) URL (ial-setup --help for the options)\n'])
  })
})

describe('a paged configuration list (drift link-pages)', () => {
  let paged: Simulator
  beforeAll(async () => { paged = await startSimulator({ drift: ['link-pages'], pageSize: 5 }) })
  afterAll(async () => { await paged.close() })

  test('every page is read: the configuration on the last page is found, not made again; a duplicate there is seen', async () => {
    for (let index = 0; index < 11; index++) await call(paged, 'POST', '/v1/configurations', { label: `other ${index}`, fields: { image_ramdisk_kernel: KERNEL, image_ramdisk_ramdisk: RAMDISK } })
    const created = await run(cycleos('CycleOS'), envFor(paged))
    expect(created.code).toBe(0)
    expect(paged.state.configurations.size).toBe(12)

    const before = paged.state.requests.length
    const again = await run(cycleos('CycleOS'), envFor(paged))
    expect(again.code).toBe(0)
    expect(again.last).toBe(created.last)
    expect(again.stdout).toContain('nothing changed')
    const reads = paged.state.requests.slice(before).filter((entry) => entry.method === 'GET' && entry.path === '/v1/configurations')
    expect(reads).toHaveLength(3)
    expect(writesSince(paged, before)).toEqual([])

    const twin = idOf(await call(paged, 'POST', '/v1/configurations', { label: 'CycleOS', fields: { image_ramdisk_kernel: KERNEL, image_ramdisk_ramdisk: RAMDISK } }))
    const both = await run(cycleos('CycleOS'), envFor(paged))
    expect(both.code).toBe(1)
    expect(both.stderr).toContain(`labelled "CycleOS": ${created.last}, ${twin}`)
  })
})

test('the real command: exit codes, and the ID on the last line of stdout', async () => {
  const spawnSetup = async (args: string[], env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> => await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'src/cli/setup.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
  const first = await spawnSetup(cycleos('CycleOS spawned'), envFor(sim))
  expect(first).toMatchObject({ code: 0, stderr: '' })
  const id = labelled(sim, 'CycleOS spawned')[0]?.id
  expect(first.stdout.endsWith(`\n${id ?? '?'}\n`)).toBe(true)
  const usage = await spawnSetup(['cycleos', '--kernel', KERNEL], envFor(sim))
  expect(usage).toMatchObject({ code: 2, stdout: '' })
  expect(usage.stderr).toBe('ial-setup: --ramdisk URL is required (ial-setup --help for the options)\n')
  expect(first.stdout + usage.stderr).not.toContain(SECRET)
}, 60_000)
