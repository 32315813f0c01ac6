import { describe, expect, test } from 'vitest'
import { checkError, checkSuccess } from '../../src/conformance/contract.ts'
import { masked } from '../../src/conformance/lifecycle.ts'

const model = {
  name: 'Baremetal - medium v4', description: 'd', drivers: null,
  specs: { cpu: { count: 2, cores: 12, threads: 2, type: 'x' }, gpu: null, memory: { size_gb: 256, type: 'DDR5' }, storage: [{ count: 1, size_gb: 6400, type: 'nvme' }], network: [], features: { raid: null, hypervisor: true, extra: {} } },
  provider: { category: 'bare-metal', class: null, model_id: 'medium_v4', locations: ['pod_1'], availability_zones: null },
  pricing: { hourly: 1380, monthly: 792000 }, compatible: true
}

describe('answers Cycle accepts', () => {
  test('a correct answer of every shape passes', () => {
    expect(checkSuccess('verify', 200, { data: { valid: true } })).toEqual([])
    expect(checkSuccess('server-models', 200, { data: { models: [model], extra: {} } })).toEqual([])
    expect(checkSuccess('provision', 200, { data: { server_id: 'om1.a.pod_1', extra: {} } })).toEqual([])
    expect(checkSuccess('status', 200, { data: { server_id: 's', provisioned: false, auth: { uuid: null, initial_ips: null, mac_addr: null }, extra: {} } })).toEqual([])
    expect(checkSuccess('allocate', 200, { data: { ip_id: 'a', ip_assignment_id: 'b', cidr: '1.2.3.4/28', gateway: '1.2.3.1', netmask: '255.255.255.240', network: '1.2.3.0/28', nat_private_ip: null } })).toEqual([])
    expect(checkSuccess('release', 200, { data: true })).toEqual([])
  })

  test('a float price fails naming the field', () => {
    const problems = checkSuccess('server-models', 200, { data: { models: [{ ...model, pricing: { hourly: 1.5, monthly: 792000 } }], extra: {} } })
    expect(problems).toEqual([expect.stringContaining('data.models[0].pricing.hourly is 1.5, not an integer')])
  })

  test('a numeric string fails naming the field', () => {
    const problems = checkSuccess('server-models', 200, { data: { models: [{ ...model, specs: { ...model.specs, memory: { size_gb: '256', type: 'DDR5' } } }], extra: {} } })
    expect(problems.join()).toContain('data.models[0].specs.memory.size_gb is "256", not an integer')
  })

  test('a bare payload without the {data} envelope fails', () => {
    expect(checkSuccess('verify', 200, { valid: true })).toEqual([expect.stringContaining('envelope')])
    expect(checkSuccess('release', 200, true)).toEqual([expect.stringContaining('envelope')])
  })

  test('a missing required field fails naming it', () => {
    expect(checkSuccess('allocate', 200, { data: { ip_id: 'a', ip_assignment_id: 'b', cidr: 'c', gateway: 'g', network: 'n' } }).join()).toContain('data.netmask is required')
  })
})

describe('error envelopes', () => {
  test('a proper one passes', () => {
    expect(checkError(404, { error: { status: 404, code: '404.infrastructure.server', title: 'Server not found' }, data: null })).toEqual([])
  })

  test.each([
    ['a code that does not match the status', { error: { status: 422, code: '400.invalid-input', title: 't' }, data: null }, 'does not start with the HTTP status'],
    ['a code that is not <status>.<slug>', { error: { status: 422, code: 'invalid', title: 't' }, data: null }, 'is not "<status>.<slug>"'],
    ['a status that is not the HTTP status', { error: { status: 500, code: '422.x', title: 't' }, data: null }, 'but the HTTP status is 422'],
    ['no data: null', { error: { status: 422, code: '422.x', title: 't' } }, '"data": null'],
    ['no error object', { message: 'bad' }, 'no "error" object']
  ])('%s fails', (_name, body, message) => {
    expect(checkError(422, body).join()).toContain(message)
  })
})

test('credentials are masked in what the runner reports', () => {
  expect(masked({ auth: { client_id: 'id', secret: 's', api_key: 'k', config: 'c', cycle: { hub_id: 'h' } }, request: null })).toEqual({ auth: { client_id: '***', secret: '***', api_key: '***', config: '***', cycle: { hub_id: 'h' } }, request: null })
})
