/** Unit tests of src/errors.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { AdapterError, Errors, toAdapterError, type FailureCode } from '../../src/errors.ts'
import {
  AnswerTooLarge, OPENMETAL_ERROR_CODES, OpenMetalBusyError, OpenMetalError, OpenMetalHttpError, OpenMetalIncompleteListError, OpenMetalTransportError,
  OpenMetalUnsettledWriteError, UnreadableAnswer, type TransportFailure
} from '../../src/openmetal/errors.ts'
import { CoordinatorUnavailableError, LeaseBusyError } from '../../src/coordination/coordinator.ts'
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

  describe('stable codes, each placed once', () => {
    /** One failure of every stable code, as the parts of the adapter throw them. */
    const ONE_OF_EACH: Readonly<Record<FailureCode, Error>> = {
      OPENMETAL_HTTP_STATUS: new OpenMetalHttpError('getOrder', 500, undefined, undefined),
      OPENMETAL_TIMEOUT: new OpenMetalTransportError('getOrder', 'timeout'),
      OPENMETAL_NETWORK: new OpenMetalTransportError('getOrder', 'network', Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' })),
      OPENMETAL_DEADLINE: new OpenMetalTransportError('getOrder', 'deadline'),
      OPENMETAL_MALFORMED_ANSWER: new OpenMetalTransportError('getOrder', 'malformed', new UnreadableAnswer('/data/id', 'is missing')),
      OPENMETAL_ANSWER_TOO_LARGE: new OpenMetalTransportError('listOrders', 'too-large', new AnswerTooLarge(65_536)),
      OPENMETAL_INCOMPLETE_LIST: new OpenMetalIncompleteListError('listOrders', 'page 3 failed'),
      OPENMETAL_UNSETTLED_WRITE: new OpenMetalUnsettledWriteError('createOrder', new Error('reset')),
      OPENMETAL_TENANT_BUSY: new OpenMetalBusyError(8, 64),
      COORDINATION_LEASE_BUSY: new LeaseBusyError(42_000),
      COORDINATOR_UNAVAILABLE: new CoordinatorUnavailableError('connection refused')
    }

    test('every OpenMetal failure class carries a code of the list, and every code of the list has a class', () => {
      const seen = Object.values(ONE_OF_EACH).filter((error) => error instanceof OpenMetalError).map((error) => (error as OpenMetalError).code)
      expect(new Set(seen)).toEqual(new Set(OPENMETAL_ERROR_CODES))
      for (const [code, error] of Object.entries(ONE_OF_EACH)) {
        expect((error as { code?: unknown }).code, code).toBe(code)
        // logs and stack traces name each by its class
        expect(error.name, code).toBe(error.constructor.name)
      }
    })

    test.each(Object.entries(ONE_OF_EACH))('%s maps to a Cycle error that names it as its reason, never to 500.unknown', (code, thrown) => {
      const error = toAdapterError(thrown)
      expect(error.code).not.toBe('500.unknown')
      expect(error.reason).toBe(code)
      expect(error.cause).toBe(thrown)
      expectWellFormed(error)
      // every failure that is not Cycle's request tells Cycle when to come back (or is a timeout, which Cycle retries itself)
      if (error.status === 503) expect(error.retryAfter).toBeGreaterThan(0)
    })

    test('what the operator\'s log gets for each: refusals and unusable answers warn, failures are errors, waits and a down coordinator (reported once a minute elsewhere) are silent', () => {
      const levels = Object.fromEntries(Object.entries(ONE_OF_EACH).map(([code, thrown]) => {
        const { report } = toAdapterError(thrown)
        return [code, report === 'silent' ? 'silent' : report.level]
      }))
      expect(levels).toEqual({
        OPENMETAL_HTTP_STATUS: 'error',
        OPENMETAL_TIMEOUT: 'error',
        OPENMETAL_NETWORK: 'error',
        OPENMETAL_DEADLINE: 'error',
        OPENMETAL_MALFORMED_ANSWER: 'warn',
        OPENMETAL_ANSWER_TOO_LARGE: 'warn',
        OPENMETAL_INCOMPLETE_LIST: 'error',
        OPENMETAL_UNSETTLED_WRITE: 'error',
        OPENMETAL_TENANT_BUSY: 'warn',
        COORDINATION_LEASE_BUSY: 'silent',
        COORDINATOR_UNAVAILABLE: 'silent'
      })
      const refused = toAdapterError(new OpenMetalHttpError('createOrder', 400, undefined, 'req-1', 'no stock')).report
      expect(refused).toEqual({ level: 'warn', message: 'OpenMetal refused createOrder', fields: { operation: 'createOrder', upstreamStatus: 400, upstreamRequestId: 'req-1', upstreamMessage: 'no stock' } })
      // a refusal of Cycle's own request is Cycle's to hear, not the operator's
      expect(Errors.missingArgument().report).toBe('silent')
    })

    test('a failed connection names the system\'s reason, never the address', () => {
      const error = toAdapterError(ONE_OF_EACH.OPENMETAL_NETWORK)
      expect(error.detail).toBe('OpenMetal getOrder: network (connection failed: ECONNREFUSED)')
      expect(JSON.stringify(error.toBody())).not.toContain('10.0.0.7')
    })

    test('the token exchange sends nothing but the credentials: its refusals (400, 401, 403) are the credentials\'; a 404 is OpenMetal\'s', () => {
      for (const status of [400, 401, 403]) expect(toAdapterError(new OpenMetalHttpError('exchangeToken', status, undefined, undefined)).code, String(status)).toBe('401.auth-invalid')
      expect(toAdapterError(new OpenMetalHttpError('exchangeToken', 404, undefined, undefined))).toMatchObject({ code: '503.not-ready', retryAfter: 30 })
      expect(toAdapterError(new OpenMetalHttpError('exchangeToken', 429, 9, undefined))).toMatchObject({ code: '429.rate-limiting', retryAfter: 9 })
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
