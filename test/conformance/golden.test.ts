/**
 * Golden contract tests: for each endpoint, a request recorded in exactly Cycle's shape (its
 * Go types: every field, nulls where Go sends nil maps) goes through the adapter, and the
 * answer is checked against the IAL spec and Go's decoding rules.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { checkSuccess, type Endpoint } from '@cycle-ial-openmetal/ial-check/contract'
import { objectId } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { startHarness, type Harness } from '../helpers/harness.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

const ORDER: Endpoint[] = ['verify', 'locations', 'server-models', 'configure', 'provision', 'status', 'restart', 'allocate', 'release', 'decommission']
const vars: Record<string, unknown> = { hub_id: objectId(), cycle_server_id: objectId(), extra: null }

function fill (template: unknown): unknown {
  if (typeof template === 'string') {
    const whole = /^\{\{(\w+)\}\}$/.exec(template)
    return whole === null ? template : vars[whole[1] ?? '']
  }
  if (Array.isArray(template)) return template.map(fill)
  if (typeof template === 'object' && template !== null) return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fill(value)]))
  return template
}

test.each(ORDER)('%s', async (endpoint) => {
  const golden = JSON.parse(readFileSync(join(import.meta.dirname, 'golden', `${endpoint}.json`), 'utf8')) as { method: 'GET' | 'POST', path: string, body: unknown }
  let answer = await h.call(golden.method, golden.path, fill(golden.body))
  const polls = endpoint === 'status' ? 200 : 0
  for (let attempt = 0; (answer.body.data as { provisioned?: boolean }).provisioned !== true && attempt < polls; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    answer = await h.call(golden.method, golden.path, fill(golden.body))
  }
  expect(checkSuccess(endpoint, answer.status, answer.body)).toEqual([])
  const data = answer.body.data as Record<string, unknown>
  if (endpoint === 'provision') Object.assign(vars, { server_id: data.server_id, extra: data.extra })
  if (endpoint === 'status') {
    expect(data.provisioned).toBe(true)
    vars.extra = data.extra
  }
  if (endpoint === 'allocate') Object.assign(vars, { ip_id: data.ip_id, ip_assignment_id: data.ip_assignment_id, cidr: data.cidr })
})
