/**
 * The demo a newcomer runs first: with --buy-ip-blocks the walk shows a block bought for the
 * server (the cloud's own are filled first) and given back when its address is released.
 * The plain walk runs in CI (.ci/run); usage errors are one line, --help exits 0.
 */
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { root, runNode } from './support.ts'

const demo = join(root, 'scripts/demo.ts')

test('--buy-ip-blocks: one block bought at the allocation, given back at the release, and the whole walk passes', async () => {
  const { code, output } = await runNode([demo, '--once', '--port', '0', '--buy-ip-blocks'], { NO_COLOR: '1' }, 60_000)
  expect(output).toContain('10 passed, 0 failed')
  expect(output).toContain('IP blocks bought: 1, given back: 1')
  expect(code).toBe(0)
}, 70_000)

test('--help exits 0 with the usage; an unknown option is one line and exit 2', async () => {
  const help = await runNode([demo, '--help'], {})
  expect([help.code, help.output.trim()]).toEqual([0, 'usage: npm run demo [-- --once] [--buy-ip-blocks] [--port N]'])
  const wrong = await runNode([demo, '--bogus'], {})
  expect(wrong.code).toBe(2)
  expect(wrong.output).not.toMatch(/\n\s+at /)
})
