/**
 * What an operator configures from: .env.example (copied to .env for `docker run --env-file`)
 * and the README's configuration table. Both must name exactly the variables the loader reads
 * (src/config.ts ENVIRONMENT), with the loader's defaults.
 */
import { describe, expect, test } from 'vitest'
import { ENVIRONMENT, loadConfig, type EnvName } from '../../src/config.ts'
import { readRepoFile } from './support.ts'

const variables = Object.keys(ENVIRONMENT) as EnvName[]
const defaults = Object.fromEntries(variables.map((name) => [name, ENVIRONMENT[name].default]))

function envExample (): Array<{ name: string, value: string, comment: string }> {
  const lines = readRepoFile('.env.example').split('\n')
  const entries: Array<{ name: string, value: string, comment: string }> = []
  lines.forEach((line, index) => {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (match === null) {
      // anything else is a comment or blank: a stray line would be silently ignored by --env-file
      expect(line === '' || line.startsWith('#'), `.env.example line ${index + 1}: ${line}`).toBe(true)
      return
    }
    const comment = lines[index - 1]?.startsWith('# ') === true ? (lines[index - 1] ?? '').slice(2) : ''
    entries.push({ name: match[1] ?? '', value: match[2] ?? '', comment })
  })
  return entries
}

/** The rows of the README's "## Configuration" table: the variables of the first cell, the default of the second. */
function readmeTable (): Array<{ names: string[], defaultValue: string }> {
  const readme = readRepoFile('README.md')
  const start = readme.indexOf('\n## Configuration\n')
  expect(start, 'README has a "## Configuration" section').toBeGreaterThanOrEqual(0)
  const section = readme.slice(start + 1).split(/\n#{2,3} /)[0] ?? ''
  return section.split('\n')
    .filter((line) => /^\|\s*`/.test(line))
    .map((line) => {
      const cells = line.split('|').slice(1, -1).map((cell) => cell.trim())
      return {
        names: [...(cells[0] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] ?? ''),
        defaultValue: /^`(.*)`$/.exec(cells[1] ?? '')?.[1] ?? (cells[1] ?? '')
      }
    })
}

describe('.env.example', () => {
  test('lists exactly the variables the loader reads, once each, with the loader\'s defaults', () => {
    const entries = envExample()
    expect(entries.map((entry) => entry.name)).toEqual([...new Set(entries.map((entry) => entry.name))])
    expect(Object.fromEntries(entries.map((entry) => [entry.name, entry.value]))).toEqual(defaults)
  })

  test('each variable is explained by the comment above it', () => {
    for (const entry of envExample()) expect(entry.comment, entry.name).toBe(ENVIRONMENT[entry.name as EnvName].help)
  })

  test('copied to .env as it is, it is a configuration the server starts with', () => {
    const env = Object.fromEntries(envExample().map((entry) => [entry.name, entry.value]))
    expect(() => loadConfig(env)).not.toThrow()
    expect(loadConfig(env)).toEqual(loadConfig({}))
  })
})

describe('the README configuration table', () => {
  test('mentions every variable, and no variable the loader does not read', () => {
    const named = readmeTable().flatMap((row) => row.names)
    expect([...named].sort()).toEqual([...variables].sort())
  })

  test('gives each variable the loader\'s default', () => {
    for (const row of readmeTable()) {
      const expected = row.names.map((name) => defaults[name])
      // a row naming several variables (TLS_CERT_FILE, TLS_KEY_FILE) shares one default cell
      for (const value of expected) expect(row.defaultValue, row.names.join(', ')).toBe(value)
    }
  })
})
