/**
 * The example requests (src/ial/examples.ts) are one list: the README's "Local development"
 * sends exactly them in the same order, with an ial-setup command and settings the tools
 * accept; every one is answered 200 by the adapter against the simulator, in the order of a
 * server's life, with an answer of its route's schema; and /openapi.json carries each one.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { OBJECT_ID } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { IAL_EXAMPLES, PLACEHOLDERS, placeholdersIn, type IalExample } from '../../src/ial/examples.ts'
import * as schemas from '../../src/ial/schemas.ts'
import { main as setupMain, parseSetupArgs } from '../../src/cli/setup.ts'
import { loadConfig } from '../../src/config.ts'
import { startHarness, type Answer, type Harness } from '../helpers/harness.ts'

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
const ADAPTER = 'http://127.0.0.1:8080'
const SIMULATOR = 'http://127.0.0.1:8090'

/** The README's section under `## heading`, up to the next `## `; '' when there is none. */
function sectionOf (markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  if (start < 0) return ''
  const end = markdown.indexOf('\n## ', start + 1)
  return markdown.slice(start, end < 0 ? undefined : end)
}

const SECTION = sectionOf(README, 'Local development')
const SHELL = [...SECTION.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '')

interface CurlCall {
  readonly line: string
  readonly method: string
  readonly path: string
  readonly body: unknown
}

/** Every curl command of the section's shell blocks, with its here-document body as JSON. */
function curlCalls (): CurlCall[] {
  const calls: CurlCall[] = []
  for (const block of SHELL) {
    const lines = block.split('\n')
    for (const [index, line] of lines.entries()) {
      if (!/(^|\$\()curl\s/.test(line)) continue
      const call = /curl (?<flags>.*?) ?(?<url>https?:\/\/\S+) <<EOF\b/.exec(line)?.groups
      if (call === undefined) throw new Error(`a curl command without a here-document body: ${line}`)
      expect(call.flags, line).toMatch(/--json @-/)
      const end = lines.indexOf('EOF', index + 1)
      expect(end, `${line}: its here-document has no EOF line`).toBeGreaterThan(index)
      expect((call.url ?? '').startsWith(ADAPTER), line).toBe(true)
      calls.push({
        line,
        // --json sends a POST unless the method is named
        method: /-X (\w+)/.exec(call.flags ?? '')?.[1] ?? 'POST',
        path: (call.url ?? '').slice(ADAPTER.length),
        body: JSON.parse(lines.slice(index + 1, end).join('\n')) as unknown
      })
    }
  }
  return calls
}

/** A shell command of the section, its `\`-continued lines joined. */
function commandWith (marker: string): string {
  const commands = SHELL.flatMap((block) => block.replace(/\\\n\s*/g, '').split('\n'))
  const found = commands.find((command) => command.includes(marker))
  if (found === undefined) throw new Error(`the Local development section has no command with ${marker}`)
  return found
}

/** `NAME=value` and `NAME="a value"` words (also right after `$(`), as an environment. */
function assignments (text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(?:^|[\s(])([A-Z_]+)=("[^"]*"|[^\s(]+)/g)].map((match) => [match[1] ?? '', (match[2] ?? '').replace(/^"|"$/g, '')]))
}

/** The README's ial-setup command: its environment and its arguments (after `--`, before any pipe). */
function setupCommand (): { env: Record<string, string>, args: string[] } {
  const command = commandWith('npm run -s setup --')
  const [before = '', after = ''] = command.split('npm run -s setup --')
  return { env: assignments(before), args: (after.split('|')[0] ?? '').trim().split(/\s+/) }
}

/** The example with the placeholders replaced by what earlier answers gave. */
function filled (example: IalExample, values: ReadonlyMap<string, string>): unknown {
  let text = JSON.stringify(example.body)
  for (const placeholder of placeholdersIn(example.body)) {
    const value = values.get(placeholder.text)
    if (value === undefined) throw new Error(`${example.name} needs ${placeholder.text}, which no earlier answer gave`)
    text = text.replaceAll(JSON.stringify(placeholder.text), JSON.stringify(value))
  }
  return JSON.parse(text) as unknown
}

/** Each example's route schema, by the call that sends it. */
const ROUTE_SCHEMAS: Record<string, { body: TSchema, response: { 200: TSchema } }> = {
  'POST /v1/auth/verify': schemas.verifySchema,
  'GET /v1/infrastructure/provider/locations': schemas.locationsSchema,
  'GET /v1/infrastructure/provider/server-models': schemas.serverModelsSchema,
  'POST /v1/location/configure': schemas.configureSchema,
  'POST /v1/infrastructure/server/provision': schemas.provisionSchema,
  'GET /v1/infrastructure/server/provision-status': schemas.provisionStatusSchema,
  'POST /v1/infrastructure/server/provision-status': schemas.provisionStatusSchema,
  'POST /v1/infrastructure/server/restart': schemas.restartSchema,
  'POST /v1/infrastructure/server/decommission': schemas.decommissionSchema,
  'POST /v1/infrastructure/ip/allocate': schemas.allocateSchema,
  'POST /v1/infrastructure/ip/release': schemas.releaseSchema
}

function routeSchema (example: IalExample): { body: TSchema, response: { 200: TSchema } } {
  const schema = ROUTE_SCHEMAS[`${example.method} ${example.path}`]
  if (schema === undefined) throw new Error(`no route schema for ${example.method} ${example.path}`)
  return schema
}

/** Every string under a `cycle` object: Cycle's IDs and names. */
function cycleIds (value: unknown, inCycle = false): Array<[string, string]> {
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, inner]): Array<[string, string]> => {
    if (typeof inner === 'string') return inCycle && key.endsWith('_id') ? [[key, inner]] : []
    return cycleIds(inner, inCycle || key === 'cycle')
  })
}

describe('the examples', () => {
  test('one per IAL call, in Cycle\'s shape: 24-hex Cycle IDs, the simulator\'s credentials', () => {
    expect(IAL_EXAMPLES.map((example) => `${example.method} ${example.path}`).sort()).toEqual(Object.keys(ROUTE_SCHEMAS).sort())
    for (const example of IAL_EXAMPLES) {
      const ids = cycleIds(example.body)
      expect(ids.length, example.name).toBeGreaterThan(0)
      for (const [key, id] of ids) expect(id, `${example.name}: ${key}`).toMatch(OBJECT_ID)
      expect(example.body.auth, example.name).toMatchObject({ client_id: 'sim-client', secret: 'sim-secret' })
    }
  })
})

describe('the README\'s Local development section', () => {
  test('sends every example, exactly and in the same order, with curl', () => {
    expect(SECTION, 'README.md has no "## Local development" section').not.toBe('')
    const calls = curlCalls()
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual(IAL_EXAMPLES.map((example) => `${example.method} ${example.path}`))
    for (const [index, call] of calls.entries()) expect(call.body, call.line).toEqual(IAL_EXAMPLES[index]?.body)
  })

  test('sets each placeholder from the answer that gives it, before the first call that sends it', () => {
    const text = SHELL.join('\n')
    const curlAt = (example: IalExample): number => text.indexOf(`${ADAPTER}${example.path} <<EOF`)
    for (const placeholder of Object.values(PLACEHOLDERS)) {
      const setting = new RegExp(`^${placeholder.text.slice(1)}=\\$\\(jq -r \\.data\\.${placeholder.field} <<<"\\$\\w+"\\)$`, 'm').exec(text)
      expect(setting, `${placeholder.text} is never set from data.${placeholder.field}`).not.toBeNull()
      const answer = IAL_EXAMPLES.find((example) => example.name === placeholder.answer)
      const firstUse = IAL_EXAMPLES.find((example) => placeholdersIn(example.body).includes(placeholder))
      if (answer === undefined || firstUse === undefined) throw new Error(`${placeholder.text}: no example ${placeholder.answer}, or none sends it`)
      expect(setting?.index ?? -1).toBeGreaterThan(curlAt(answer))
      expect(setting?.index ?? Infinity).toBeLessThan(curlAt(firstUse))
    }
  })

  test('its ial-setup command and the adapter\'s settings are ones the tools accept', () => {
    const setup = setupCommand()
    const options = parseSetupArgs(setup.args, setup.env)
    expect(options).toMatchObject({ apiUrl: SIMULATOR, credentials: { kind: 'oauth', clientId: 'sim-client', secret: 'sim-secret' } })
    const start = commandWith('npm start')
    const config = loadConfig({ ...assignments(start), OPENMETAL_DEPLOYMENT_CONFIGURATION: 'Pp7moH7Bxl' })
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, openMetalApiUrl: SIMULATOR, deploymentConfiguration: 'Pp7moH7Bxl' })
    expect(config.sshPublicKey).toMatch(/^ssh-ed25519 /)
    // the configuration ial-setup printed, and no adapter without one
    expect(start).toMatch(/OPENMETAL_DEPLOYMENT_CONFIGURATION="\$\{CONFIGURATION:\?[^}]+\}"/)
  })
})

describe('against the simulator', () => {
  let h: Harness
  beforeAll(async () => { h = await startHarness() })
  afterAll(async () => { await h.close() })

  test('the README\'s ial-setup command makes the CycleOS deployment configuration on it', async () => {
    const setup = setupCommand()
    const args = setup.args.map((arg) => arg === SIMULATOR ? h.sim.url : arg)
    let out = ''
    const code = await setupMain(args, setup.env, { stdout: { write: (text: string) => { out += text } }, stderr: { write: () => true } })
    expect(code, out).toBe(0)
    // the harness made one with the same label: found again, not made twice
    expect(out.trim().split('\n').at(-1)).toBe(h.deploymentConfiguration)
  })

  test('every example, in the order of a server\'s life, is answered 200 with its route\'s schema', async () => {
    const values = new Map<string, string>()
    const answered: string[] = []
    for (const example of IAL_EXAMPLES) {
      const schema = routeSchema(example)
      const body = filled(example, values)
      expect(Value.Check(schema.body, body), `${example.name}: the example is not a valid request`).toBe(true)
      let answer: Answer = await h.call(example.method, example.path, body)
      // Cycle polls until provisioned; every poll must be a valid answer
      for (let poll = 0; example.name === 'provision-status' && answer.status === 200 && (answer.body.data as { provisioned?: unknown }).provisioned !== true && poll < 200; poll++) {
        expect(Value.Check(schema.response[200], answer.body), `${example.name}: ${JSON.stringify(answer.body)}`).toBe(true)
        await new Promise((resolve) => setTimeout(resolve, 10))
        answer = await h.call(example.method, example.path, body)
      }
      expect(answer.status, `${example.name}: ${JSON.stringify(answer.body)}`).toBe(200)
      expect(Value.Check(schema.response[200], answer.body), `${example.name}: ${JSON.stringify(answer.body)}`).toBe(true)
      if (example.name.startsWith('provision-status')) expect(answer.body.data).toMatchObject({ provisioned: true })
      for (const placeholder of Object.values(PLACEHOLDERS).filter((candidate) => candidate.answer === example.name)) {
        const value = (answer.body.data as Record<string, unknown>)[placeholder.field]
        expect(typeof value, `${example.name} answered no ${placeholder.field}`).toBe('string')
        values.set(placeholder.text, value as string)
      }
      answered.push(example.name)
    }
    expect(answered).toEqual(IAL_EXAMPLES.map((example) => example.name))
    // the walk bought one server and gave everything back
    expect(h.ordersCreated()).toBe(1)
    expect(h.sim.state.counters()).toMatchObject({ ipsCreated: 1, ipsDeleted: 1, powerActions: 1, cloudsDeleted: 1 })
  })

  test('/openapi.json carries every example on its route, and every IAL route has one', async () => {
    const answer = await h.call('GET', '/openapi.json')
    expect(answer.status).toBe(200)
    type Operation = { requestBody?: { content?: Record<string, { examples?: Record<string, { value?: unknown }> }> } }
    const paths = answer.body.paths as Record<string, Record<string, Operation>>
    const examplesOf = (operation: Operation | undefined): unknown[] =>
      Object.values(operation?.requestBody?.content?.['application/json']?.examples ?? {}).map((example) => example.value)
    for (const example of IAL_EXAMPLES) {
      expect(examplesOf(paths[example.path]?.[example.method.toLowerCase()]), `${example.method} ${example.path}`).toContainEqual(example.body)
    }
    const bodies = IAL_EXAMPLES.map((example) => example.body)
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const carried = examplesOf(operation)
        expect(carried.length, `${method.toUpperCase()} ${path} has no example`).toBeGreaterThan(0)
        for (const value of carried) expect(bodies, `${method.toUpperCase()} ${path}`).toContainEqual(value)
      }
    }
  })
})
