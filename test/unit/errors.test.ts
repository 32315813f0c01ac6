/** Unit tests of src/errors.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { AdapterError, Errors, toAdapterError } from '../../src/errors.ts'
import { OpenMetalHttpError, OpenMetalTransportError } from '../../src/openmetal/transport.ts'
import type { TransportFailure } from '../../src/openmetal/transport.ts'
import { OPERATIONS } from '../../src/openmetal/operations.ts'

/** Every failure as Cycle sees it: the error envelope's status, code and body. */
describe('src/errors.ts', () => {
  const CODE = /^(\d{3})\.[a-z0-9.-]+$/

  function expectWellFormed (error: AdapterError): void {
    const match = CODE.exec(error.code)
    expect(match?.[1]).toBe(String(error.status))
    const body = error.toBody()
    expect(body.status).toBe(error.status)
    expect(body.code).toBe(error.code)
    expect(typeof body.title).toBe('string')
    for (const [key, value] of Object.entries(body)) expect(value, key).not.toBeUndefined()
    // the body is what goes on the wire: it survives JSON unchanged
    expect(JSON.parse(JSON.stringify(body))).toEqual(body)
  }

  describe('OpenMetal HTTP statuses', () => {
    test.each([
      [400, 422, '422.invalid-argument'],
      [401, 401, '401.auth-invalid'],
      [403, 403, '403.permissions'],
      [404, 404, '404.infrastructure.server'],
      [409, 503, '503.not-ready'],
      [429, 429, '429.rate-limiting'],
      [500, 503, '503.not-ready'],
      [502, 503, '503.not-ready'],
      [503, 503, '503.not-ready'],
      [504, 504, '504.not-available']
    ])('OpenMetal %i -> %i %s', (upstream, status, code) => {
      const error = toAdapterError(new OpenMetalHttpError('getOrder', upstream, undefined, 'req-9'))
      expect(error).toBeInstanceOf(AdapterError)
      expect(error.status).toBe(status)
      expect(error.code).toBe(code)
      expect(error.detail).toContain(`OpenMetal answered ${upstream} to getOrder`)
      expect(error.detail).toContain('req-9')
      expectWellFormed(error)
    })

    test('a refusal of a public catalog call, or a 404 of a call about no single server, is OpenMetal\'s trouble: 503, retry later', () => {
      for (const [operation, status] of [['getProducts', 401], ['getLocations', 403], ['getAvailability', 404], ['getProducts', 400], ['listPrefixes', 404], ['createIpAddress', 404]] as const) {
        const error = toAdapterError(new OpenMetalHttpError(operation, status, undefined, undefined))
        expect([operation, status, error.code, error.retryAfter]).toEqual([operation, status, '503.not-ready', 30])
      }
      // a 429 stays a 429; a 404 of one server's order or node is that server gone
      expect(toAdapterError(new OpenMetalHttpError('getProducts', 429, 7, undefined)).code).toBe('429.rate-limiting')
      for (const operation of ['getOrder', 'setPowerState'] as const) {
        expect(toAdapterError(new OpenMetalHttpError(operation, 404, undefined, undefined)).code).toBe('404.infrastructure.server')
      }
    })

    test('429 passes on OpenMetal\'s Retry-After, and has one without it', () => {
      expect(toAdapterError(new OpenMetalHttpError('listOrders', 429, 42, undefined)).retryAfter).toBe(42)
      expect(toAdapterError(new OpenMetalHttpError('listOrders', 429, undefined, undefined)).retryAfter).toEqual(expect.any(Number))
    })

    test('503 tells Cycle when to retry', () => {
      expect(toAdapterError(new OpenMetalHttpError('getOrder', 503, 12, undefined)).retryAfter).toBe(12)
      expect(toAdapterError(new OpenMetalHttpError('getOrder', 503, undefined, undefined)).retryAfter).toBeGreaterThan(0)
    })

    test('the upstream error is kept as the cause for logs', () => {
      const upstream = new OpenMetalHttpError('getOrder', 404, undefined, undefined)
      expect(toAdapterError(upstream).cause).toBe(upstream)
    })

    test('every upstream status 100..599 of every operation maps to a well-formed code', () => {
      fc.assert(fc.property(fc.constantFrom(...OPERATIONS), fc.integer({ min: 100, max: 599 }), fc.option(fc.nat(3600), { nil: undefined }), (operation, status, retryAfter) => {
        const error = toAdapterError(new OpenMetalHttpError(operation, status, retryAfter, undefined))
        expectWellFormed(error)
        expect(error.status).toBeGreaterThanOrEqual(400)
      }))
    })
  })

  describe('transport failures', () => {
    test.each<[TransportFailure, number, string]>([
      ['timeout', 504, '504.not-available'],
      ['deadline', 504, '504.not-available'],
      ['network', 503, '503.not-ready'],
      ['malformed', 503, '503.not-ready']
    ])('%s -> %i %s', (kind, status, code) => {
      const error = toAdapterError(new OpenMetalTransportError('getCloudStats', kind, new Error('ECONNRESET 10.0.0.7:443')))
      expect(error.status).toBe(status)
      expect(error.code).toBe(code)
      expect(error.detail).toContain('getCloudStats')
      expect(JSON.stringify(error.toBody())).not.toContain('10.0.0.7')
      expectWellFormed(error)
    })
  })

  describe('anything else', () => {
    test('a plain Error is 500.unknown, and the body carries neither its message nor its stack', () => {
      const original = new Error('password=hunter2 while reading /srv/adapter/secrets.json')
      const error = toAdapterError(original)
      expect(error.status).toBe(500)
      expect(error.code).toBe('500.unknown')
      const body = error.toBody()
      expect(Object.keys(body).sort()).toEqual(['code', 'status', 'title'])
      const wire = JSON.stringify(body)
      expect(wire).not.toContain('hunter2')
      expect(wire).not.toContain('secrets.json')
      expect(wire).not.toContain(original.stack?.split('\n')[1]?.trim() ?? 'no stack')
      expect(error.cause).toBe(original)
    })

    test.each([['a string', 'secret-string'], ['null', null], ['undefined', undefined], ['a number', 42], ['an object', { message: 'secret-object' }]])('a thrown %s is 500.unknown without its content', (_name, thrown) => {
      const error = toAdapterError(thrown)
      expect(error.code).toBe('500.unknown')
      expect(JSON.stringify(error.toBody())).not.toContain('secret')
    })

    test('an AdapterError passes through unchanged', () => {
      const original = Errors.locationNotFound({ detail: 'pod_99 is not an OpenMetal pod', source: '/request/location_id' })
      expect(toAdapterError(original)).toBe(original)
      expect(original.toBody()).toEqual({ status: 404, code: '404.infrastructure.location', title: 'Location not found', detail: 'pod_99 is not an OpenMetal pod', source: '/request/location_id' })
    })
  })

  describe('the catalog', () => {
    test('every entry has a well-formed code with its status prefix, with and without detail', () => {
      for (const make of Object.values(Errors)) {
        expectWellFormed(make())
        expectWellFormed(make({ detail: 'why' }))
        expectWellFormed(make({ source: '/request/x' }))
      }
    })

    test('toBody never includes undefined keys', () => {
      const error = new AdapterError(422, '422.invalid-argument', 'Bad', { detail: undefined, source: undefined })
      expect(Object.keys(error.toBody()).sort()).toEqual(['code', 'status', 'title'])
      expect(JSON.stringify(error.toBody())).toBe('{"status":422,"code":"422.invalid-argument","title":"Bad"}')
    })

    test('the Cycle codes the design names exist', () => {
      const codes = new Set(Object.values(Errors).map((make) => make().code))
      for (const code of ['400.invalid-syntax', '401.auth-invalid', '403.permissions', '404.infrastructure.server', '404.infrastructure.location', '404.infrastructure.model', '415.invalid-content-type', '422.missing-argument', '422.invalid-argument', '422.invalid-input', '422.not-compatible', '429.rate-limiting', '500.unknown', '503.not-ready', '504.not-available']) {
        expect(codes).toContain(code)
      }
    })
  })
})
