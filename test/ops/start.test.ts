/**
 * npm start answers its arguments and settings before compiling anything, and compiles only
 * when a source is newer than the build.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { buildIsStale } from '../../scripts/start.ts'
import { root, runNode } from './support.ts'

const start = join(root, 'scripts/start.ts')

describe('npm start', () => {
  test('--help and an unknown argument answer at once, without compiling', async () => {
    const started = performance.now()
    const help = await runNode([start, '--help'], {})
    expect([help.code, help.output]).toEqual([0, expect.stringContaining('usage: npm start')])
    const refused = await runNode([start, '--port', '1'], {})
    expect(refused.code).toBe(2)
    // a compile of the server takes 10 s and more here
    expect(performance.now() - started).toBeLessThan(5000)
  })

  test('a setting that cannot be used: one line naming it, exit 1, before compiling', async () => {
    const started = performance.now()
    const run = await runNode([start], { PORT: 'abc' })
    expect(run.code).toBe(1)
    expect(run.output.trim()).toBe('configuration error: PORT must be an integer from 0 to 65535, got "abc"')
    expect(performance.now() - started).toBeLessThan(3000)
  })

  test('the build is stale when missing or older than a source, fresh otherwise', () => {
    const project = mkdtempSync(join(tmpdir(), 'ial-start-'))
    try {
      mkdirSync(join(project, 'src/http'), { recursive: true })
      writeFileSync(join(project, 'src/http/probes.ts'), '')
      writeFileSync(join(project, 'tsconfig.json'), '{}')
      expect(buildIsStale(project)).toBe(true)
      mkdirSync(join(project, 'dist'))
      writeFileSync(join(project, 'dist/server.js'), '')
      const now = Date.now() / 1000
      utimesSync(join(project, 'src/http/probes.ts'), now - 60, now - 60)
      utimesSync(join(project, 'tsconfig.json'), now - 60, now - 60)
      utimesSync(join(project, 'dist/server.js'), now, now)
      expect(buildIsStale(project)).toBe(false)
      utimesSync(join(project, 'src/http/probes.ts'), now + 60, now + 60)
      expect(buildIsStale(project)).toBe(true)
    } finally {
      rmSync(project, { recursive: true, force: true })
    }
  })
})
