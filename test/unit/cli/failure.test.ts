/** Unit tests of how the commands tell a failed run (src/cli/openmetal-origin.ts failureOf, src/cli/setup.ts setupFailure). */
import { describe, expect, test } from 'vitest'
import { failureOf } from '../../../src/cli/openmetal-origin.ts'
import { setupFailure, SetupRefused } from '../../../src/cli/setup.ts'
import { toAdapterError } from '../../../src/errors.ts'
import { OpenMetalHttpError, OpenMetalIncompleteListError, OpenMetalTransportError } from '../../../src/openmetal/errors.ts'

const ORIGIN = 'https://api.example.test:8443'

describe('a failed run, in one line', () => {
  test('a call that never reached OpenMetal names the host and the system\'s reason, and what was not done', () => {
    const refused = new OpenMetalTransportError('exchangeToken', 'network', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
    expect(failureOf(refused, ORIGIN, 'nothing was changed')).toEqual({ code: 1, message: 'could not reach api.example.test:8443 for exchangeToken: the connection failed (ECONNREFUSED); nothing was changed' })
    expect(failureOf(new OpenMetalTransportError('listOrders', 'timeout'), ORIGIN, 'nothing was reported').message).toBe('could not reach api.example.test:8443 for listOrders: no answer in time; nothing was reported')
  })

  test('anything OpenMetal said is told in the words Cycle gets from the same mapping, with when to retry', () => {
    for (const error of [new OpenMetalHttpError('createConfiguration', 400, undefined, 'r-1', 'bad kernel'), new OpenMetalIncompleteListError('listConfigurations', 'page 2 failed'), new OpenMetalHttpError('listOrders', 503, 12, undefined)]) {
      const cycle = toAdapterError(error)
      expect(failureOf(error, ORIGIN, 'nothing was changed').message).toContain(`${cycle.title}: ${cycle.detail}`)
    }
    expect(failureOf(new OpenMetalHttpError('createConfiguration', 400, undefined, 'r-1', 'bad kernel'), ORIGIN, '').message).toBe('OpenMetal refused the request: OpenMetal answered 400 to createConfiguration (request r-1): bad kernel')
    expect(failureOf(new OpenMetalIncompleteListError('listConfigurations', 'page 2 failed'), ORIGIN, '').message).toBe('OpenMetal is not available right now: OpenMetal listConfigurations could not be read whole (page 2 failed); nothing is bought or created on a list that may be incomplete (retry in 60 s)')
    expect(failureOf(new OpenMetalHttpError('listOrders', 503, 12, undefined), ORIGIN, '').message).toBe('OpenMetal is not available right now: OpenMetal answered 503 to listOrders (retry in 12 s)')
  })

  test('credentials OpenMetal refuses are the operator\'s to fix: exit 2, like a usage error', () => {
    for (const status of [400, 401]) expect(failureOf(new OpenMetalHttpError('exchangeToken', status, undefined, undefined), ORIGIN, '').code).toBe(2)
    expect(failureOf(new OpenMetalHttpError('listOrders', 401, undefined, undefined), ORIGIN, '').code).toBe(2)
    // OpenMetal without a token endpoint is not the operator's credentials
    expect(failureOf(new OpenMetalHttpError('exchangeToken', 404, undefined, undefined), ORIGIN, '').code).toBe(1)
  })

  test('a failure no mapping knows is told in its own words', () => {
    expect(failureOf(new TypeError('x is not a function'), ORIGIN, '')).toEqual({ code: 1, message: 'unexpected failure: x is not a function' })
    expect(failureOf('thrown text', ORIGIN, '')).toEqual({ code: 1, message: 'unexpected failure: thrown text' })
    // never with the run's secret in it, for either command and either kind of credentials
    const echoed = new Error('bad header for omk_live_8f2d9c and s3cret-of-client')
    expect(failureOf(echoed, ORIGIN, '', { kind: 'api-key', apiKey: 'omk_live_8f2d9c' }).message).toBe('unexpected failure: bad header for *** and s3cret-of-client')
    expect(setupFailure(echoed, ORIGIN, { kind: 'oauth', clientId: 'c', secret: 's3cret-of-client' }).message).toBe('unexpected failure: bad header for omk_live_8f2d9c and ***')
  })

  test('setup\'s own refusal is told as it is', () => {
    expect(setupFailure(new SetupRefused('2 deployment configurations are labelled "x"'), ORIGIN)).toEqual({ code: 1, message: '2 deployment configurations are labelled "x"' })
  })
})
