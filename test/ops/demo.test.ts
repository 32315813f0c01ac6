/**
 * The demo a newcomer runs first: with --buy-ip-blocks the walk shows a block bought for the
 * server (the cloud's own are filled first) and given back when its address is released.
 * When its port is taken it moves to a free one and says so, and the commands it prints name
 * the port it really listens on (the README's name 8080). The --once walk runs in CI
 * (.ci/run); --help and usage errors are in commands.test.ts.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { root } from './support.ts'

const demo = join(root, 'scripts/demo.ts')

test('on a taken port: the walk with --buy-ip-blocks passes on a free port, said so, and the printed commands use it', async () => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const port = (taken.address() as { port: number }).port
  const child = spawn(process.execPath, [demo, '--port', String(port), '--buy-ip-blocks'], { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    // without --once it keeps serving: read until it says how to try it, then stop it as a user would
    await new Promise<void>((resolve, reject) => {
      const read = (chunk: Buffer): void => {
        output += chunk.toString()
        if (output.includes('Ctrl-C to stop.')) resolve()
      }
      child.stdout.on('data', read)
      child.stderr.on('data', read)
      void exit.then((code) => reject(new Error(`the demo ended (${code}) before serving:\n${output}`)))
    })
    expect(output).toContain('10 passed, 0 failed')
    expect(output).toContain('IP blocks bought: 1, given back: 1')
    const url = /^adapter +(http:\/\/127\.0\.0\.1:(\d+)) +\(port (\d+) is taken: use this URL/m.exec(output)
    expect(url?.[3]).toBe(String(port))
    expect(url?.[2]).not.toBe(String(port))
    expect(output).toContain(`Still serving on ${url?.[1] ?? '?'} (port ${port} was taken)`)
    expect(output).toContain(`npm run ial-check -- --url ${url?.[1] ?? '?'} --interval 1`)
    expect(output).toContain(`curl -s ${url?.[1] ?? '?'}/v1/infrastructure/provider/locations`)
    expect(output).not.toContain(`127.0.0.1:${port}`)
    child.kill('SIGINT')
    expect(await exit, output).toBe(0)
  } finally {
    child.kill('SIGKILL')
    await new Promise<void>((resolve) => taken.close(() => resolve()))
  }
}, 70_000)
