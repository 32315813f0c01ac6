/** ial-inventory's failures say what the operator gave and what went wrong, in one line. */
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { root, runNode } from './support.ts'

const inventory = join(root, 'src/cli/inventory.ts')

test('a bad --api-url is named as the flag, a bad OPENMETAL_API_URL as the variable: exit 2', async () => {
  const flag = await runNode([inventory, '--api-url', 'notaurl'], { OPENMETAL_API_KEY: 'key' })
  expect([flag.code, flag.output]).toEqual([2, 'ial-inventory: --api-url must be an http(s) URL (ial-inventory --help for the options)\n'])
  const variable = await runNode([inventory], { OPENMETAL_API_KEY: 'key', OPENMETAL_API_URL: 'https://example.com/api' })
  expect(variable.code).toBe(2)
  expect(variable.output).toMatch(/^ial-inventory: OPENMETAL_API_URL must be an http\(s\) origin without path or query/)
})

test('OpenMetal unreachable: the host and the cause, exit 2', async () => {
  const run = await runNode([inventory, '--api-url', 'http://127.0.0.1:1'], { OPENMETAL_API_KEY: 'key' })
  expect(run.code).toBe(2)
  expect(run.output).toMatch(/^ial-inventory: could not reach 127\.0\.0\.1:1 for \w+: the connection failed \(ECONNREFUSED\); nothing was reported\n$/)
})
