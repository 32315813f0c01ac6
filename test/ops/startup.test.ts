/**
 * The line the real server process writes once it listens: what it serves and against what,
 * at info; at warn when no deployment configuration is set, since provisioning then depends
 * on every hub naming one.
 */
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { ENVIRONMENT, describeType, type EnvName } from '../../src/config.ts'
import { root, runNode, startServerProcess } from './support.ts'
import { startPglite } from '../helpers/pglite.ts'
import { startSimulator } from '@cycle-ial-openmetal/openmetal-simulator'

const server = join(root, 'src/server.ts')

/** The process's JSON log lines, read whole once it has exited. */
async function linesOfRun (env: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  const running = await startServerProcess([server], root, { LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '1000', ...env })
  running.child.kill('SIGTERM')
  expect(await running.exit).toBe(0)
  return running.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
}

function summaryOf (lines: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> {
  const summaries = lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('serving'))
  expect(summaries).toHaveLength(1)
  return summaries[0] ?? {}
}

describe('the start-up summary', () => {
  test('names the address, the OpenMetal origin, TLS, the allowed hubs and the deployment configuration, at info', async () => {
    const summary = summaryOf(await linesOfRun({
      OPENMETAL_API_URL: 'http://127.0.0.1:9',
      OPENMETAL_DEPLOYMENT_CONFIGURATION: 'cycleos-ramdisk-1',
      IAL_ALLOWED_HUB_IDS: 'hub-one,hub-two'
    }))
    expect(summary.level).toBe(30)
    expect(summary.msg).toBe('serving')
    expect(summary.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(summary.openMetal).toBe('http://127.0.0.1:9')
    expect(summary.tls).toBe('off')
    expect(summary.hubs).toBe('2 allowed')
    expect(summary.deploymentConfiguration).toBe('cycleos-ramdisk-1')
    // the allowed hub IDs themselves are not spelled out
    expect(JSON.stringify(summary)).not.toContain('hub-one')
    // one replica's own coordination, and what to do for more
    expect(summary.coordination).toBe('in-process — run one replica, or set DATABASE_URL')
  })

  test('with a PostgreSQL coordinator: its host and database, never the connection string; the schema made at start', async () => {
    const database = await startPglite()
    try {
      const lines = await linesOfRun({ OPENMETAL_API_URL: 'http://127.0.0.1:9', DATABASE_URL: database.url, COORDINATION_REQUIRED: 'true' })
      expect(summaryOf(lines).coordination).toBe(`postgres (127.0.0.1:${database.port}/postgres)`)
      const everything = lines.map((line) => JSON.stringify(line)).join('\n')
      expect(everything).not.toContain(database.password)
      expect(everything).not.toContain(database.user)
      expect(await database.query('SELECT count(*)::int AS n FROM ial_leases')).toEqual([{ n: 0 }])
    } finally {
      await database.close()
    }
  })

  test('COORDINATION_REQUIRED without a reachable coordinator: the replica does not start, and says why in a line', async () => {
    const database = await startPglite()
    await database.close()
    const run = await runNode([server], { OPENMETAL_API_URL: 'http://127.0.0.1:9', DATABASE_URL: database.url, COORDINATION_REQUIRED: 'true', PORT: '0' }, 30_000)
    expect(run.code).toBe(1)
    // the coordinator's own error line (JSON, for the log pipeline), then the one line for a human; no stack trace
    const lines = run.output.trim().split('\n')
    expect(lines.at(-1)).toMatch(/^configuration error: COORDINATION_REQUIRED is true, but the coordinator cannot be reached: PostgreSQL coordinator unavailable \(start\): ECONNREFUSED$/)
    expect(lines.slice(0, -1).every((line) => line.startsWith('{'))).toBe(true)
    expect(run.output).not.toMatch(/\n\s+at /)
    expect(run.output).not.toContain(database.password)
  })

  test('a coordinator unreachable at start without COORDINATION_REQUIRED: the replica serves, /readyz says why not, logged at error', async () => {
    const database = await startPglite()
    await database.close()
    // OpenMetal answers, so the coordinator is the only reason not to be ready
    const sim = await startSimulator()
    const running = await startServerProcess([server], root, { LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '1000', OPENMETAL_API_URL: sim.url, DATABASE_URL: database.url })
    try {
      const ready = await fetch(`${running.url}/readyz`)
      expect(ready.status).toBe(503)
      expect((await ready.json() as { reason: string }).reason).toMatch(/^coordinator: PostgreSQL coordinator unreachable/)
    } finally {
      running.child.kill('SIGTERM')
      await sim.close()
    }
    expect(await running.exit).toBe(0)
    const lines = running.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.filter((line) => line.level === 50 && String(line.msg).startsWith('the coordinator cannot be reached'))).not.toHaveLength(0)
    expect(running.output()).not.toContain(database.password)
  })

  test('without a deployment configuration it is a warning that says provisioning needs one', async () => {
    const summary = summaryOf(await linesOfRun({ OPENMETAL_API_URL: 'http://127.0.0.1:9' }))
    expect(summary.level).toBe(40)
    expect(summary.hubs).toBe('any hub')
    expect(summary.deploymentConfiguration).toBeNull()
    expect(summary.msg).toMatch(/OPENMETAL_DEPLOYMENT_CONFIGURATION is not set: provisioning fails/)
  })
})

/** How --help words the values of each setting that is not a whole number. */
const NOT_WHOLE_NUMBERS: Readonly<Record<string, string>> = {
  HOST: 'a host name or IP address',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  OPENMETAL_API_URL: 'an http(s) origin, without path or query',
  OPENMETAL_DEPLOYMENT_CONFIGURATION: 'an OpenMetal configuration ID: 1 to 64 letters, digits, _ or -',
  OPENMETAL_SSH_PUBLIC_KEY: 'an OpenSSH public key line',
  OPENMETAL_SSH_KEY_IDS: 'comma-separated SSH key IDs, each 1 to 64 letters, digits, _ or -',
  IAL_ALLOWED_HUB_IDS: 'comma-separated Cycle hub IDs, each 1 to 64 letters, digits, _ or -',
  TLS_CERT_FILE: 'a file path',
  TLS_KEY_FILE: 'a file path',
  LOG_FORMAT: 'json or pretty',
  OPENMETAL_IP_BLOCK_PURCHASE: 'true or false',
  DATABASE_URL: 'a postgres:// or postgresql:// URL',
  COORDINATION_REQUIRED: 'true or false',
  TRUST_PROXY: 'true, false, a hop count from 0 to 99 or comma-separated addresses/CIDRs'
}

describe('the command line', () => {
  test('--help lists every variable with its default and exits 0 without starting', async () => {
    const help = await runNode([server, '--help'], {})
    expect(help.code, help.output).toBe(0)
    expect(help.output).toMatch(/^usage: npm start/)
    for (const [name, { default: fallback }] of Object.entries(ENVIRONMENT)) expect(help.output, name).toContain(`  ${name}=${fallback}\n`)
    // each setting's meaning and the values it takes, worded from the same table the loader parses with
    for (const [name, { default: fallback, help: meaning, type }] of Object.entries(ENVIRONMENT)) {
      expect(help.output, name).toContain(`  ${name}=${fallback}\n      ${meaning} (${describeType(type)})\n`)
      if (type.kind === 'integer') expect(help.output, name).toMatch(new RegExp(`  ${name}=.*\\n.*\\(an integer from ${type.min} to ${type.max}[,)]`))
    }
    // in an operator's words, every setting that is not a whole number
    const worded = (Object.keys(ENVIRONMENT) as EnvName[]).filter((name) => ENVIRONMENT[name].type.kind !== 'integer')
    expect(Object.keys(NOT_WHOLE_NUMBERS).sort()).toEqual([...worded].sort())
    const lines = help.output.split('\n')
    for (const [name, wording] of Object.entries(NOT_WHOLE_NUMBERS)) {
      const meaning = lines[lines.findIndex((line) => line.startsWith(`  ${name}=`)) + 1] ?? ''
      expect(meaning.slice(-wording.length - 3), name).toBe(` (${wording})`)
    }
    expect(help.output).not.toMatch(/serving|listening/)
  })

  test('an argument it does not take: one line naming it, exit 2, no stack trace', async () => {
    const wrong = await runNode([server, '--port', '9090'], {})
    expect(wrong.code).toBe(2)
    expect(wrong.output).toBe("cycle-ial-openmetal: Unknown option '--port' (npm start -- --help for the options)\n")
  })
})
