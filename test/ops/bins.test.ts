/**
 * The commands a checkout offers after `npm ci`, before any build: `npx ial-check` (the
 * ial-check workspace package's bin, linked into node_modules/.bin) and the server's own
 * `npx ial-inventory` and `npx ial-setup` (npm does not link a project's own bins, so npx
 * links the project itself; its bins name the TypeScript sources, which Node 24 runs).
 */
import { execFile } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'
import { readRepoFile, root } from './support.ts'

const run = promisify(execFile)

const bins = (JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> }).bin
const icBins = (JSON.parse(readRepoFile('packages/ial-check/package.json')) as { bin: Record<string, string> }).bin

/** `npx NAME --help` from the repository root, as a developer types it; offline, so a missing bin
 * fails here instead of fetching some registry package of that name. */
async function npxHelp (name: string): Promise<{ code: number, stdout: string }> {
  try {
    const { stdout } = await run('npx', ['--yes', '--offline', name, '--help'], { cwd: root, timeout: 60_000 })
    return { code: 0, stdout }
  } catch (error) {
    const failed = error as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

describe('commands after npm ci', () => {
  test('ial-check is the workspace package\'s bin, linked to its source outside node_modules (so Node strips its types)', () => {
    expect(icBins).toEqual({ 'ial-check': 'src/cli/ial-check.ts' })
    expect(realpathSync(join(root, 'node_modules/.bin/ial-check'))).toBe(join(root, 'packages/ial-check/src/cli/ial-check.ts'))
  })

  test('the server\'s own bins name its sources: a checkout runs them without a build', () => {
    expect(bins).toEqual({ 'ial-inventory': 'src/cli/inventory.ts', 'ial-setup': 'src/cli/setup.ts' })
    for (const source of Object.values(bins)) expect(readRepoFile(source).startsWith('#!/usr/bin/env node\n'), source).toBe(true)
  })

  test.each(['ial-check', 'ial-inventory', 'ial-setup'])('npx %s --help prints its usage and exits 0', async (name) => {
    const result = await npxHelp(name)
    expect([result.code, result.stdout]).toEqual([0, expect.stringContaining(`usage: ${name}`)])
  }, 90_000)
})

test('the Node version is the root package\'s to require: a workspace package that also did would make npm warn twice more per package on an older Node', () => {
  const manifest = (path: string): { engines?: Record<string, string> } => JSON.parse(readRepoFile(path)) as { engines?: Record<string, string> }
  expect(manifest('package.json').engines).toEqual({ node: '>=24' })
  for (const workspace of ['packages/ial-check/package.json', 'packages/openmetal-simulator/package.json']) expect(manifest(workspace).engines, workspace).toBeUndefined()
})
