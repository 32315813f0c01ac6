import { describe, expect, test } from 'vitest'
import { Errors, toAdapterError } from '../../src/errors.ts'
import { OpenMetalHttpError, OpenMetalTransportError } from '../../src/openmetal/transport.ts'

describe('the error catalog', () => {
  test.each([
    [400, '422.invalid-input'], [401, '401.auth-invalid'], [403, '403.permissions'], [404, '404.infrastructure.server'], [409, '409.conflict'],
    [429, '429.rate-limiting'], [500, '503.not-ready'], [502, '503.not-ready'], [503, '503.not-ready'], [504, '504.not-available']
  ])('OpenMetal %i -> %s', (status, code) => {
    const failure = toAdapterError(new OpenMetalHttpError('getOrder', status, 7, 'req-1'))
    expect(failure.code).toBe(code)
    expect(failure.detail).toContain(`answered ${status} to getOrder`)
  })

  test('429 keeps the upstream Retry-After', () => {
    expect(toAdapterError(new OpenMetalHttpError('getOrder', 429, 42, undefined)).retryAfter).toBe(42)
  })

  test.each([['timeout', '504.not-available'], ['deadline', '504.not-available'], ['network', '503.not-ready'], ['malformed', '502.upstream-malformed']] as const)('transport %s -> %s', (kind, code) => {
    expect(toAdapterError(new OpenMetalTransportError('getOrder', kind)).code).toBe(code)
  })

  test('anything else is 500.unknown without the original message', () => {
    const failure = toAdapterError(new Error('secret=hunter2 at /srv/app.js:12'))
    expect(failure.code).toBe('500.unknown')
    expect(JSON.stringify(failure.toBody())).not.toContain('hunter2')
  })

  test('every code is <status>.<slug> and bodies carry no undefined keys', () => {
    for (const make of Object.values(Errors)) {
      const failure = make()
      expect(failure.code).toMatch(new RegExp(`^${failure.status}\\.[a-z0-9.-]+$`))
      expect(Object.values(failure.toBody())).not.toContain(undefined)
    }
  })
})
