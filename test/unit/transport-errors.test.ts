/**
 * Unit tests of what src/openmetal/transport.ts keeps of a refusal: OpenMetal's reason
 * (`refusalMessage`), cleaned, bounded and without the call's credentials, and its request
 * ID only when it has a safe shape. Both reach Cycle's error detail and the log.
 */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { OpenMetalHttpError, refusalMessage } from '../../src/openmetal/transport.ts'

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmdfMSJ9.c2lnbmF0dXJlLXZhbHVl'
const CLIENT_ID = 'cycle-hub-client'
const CLIENT_SECRET = 's3cr3t-Value_42'
const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

describe('refusalMessage', () => {
  describe('finds OpenMetal\'s reason', () => {
    test.each<[string, unknown, string | undefined]>([
      ['message', { statusCode: 400, error: 'Bad Request', message: 'label must be at most 64 characters' }, 'label must be at most 64 characters'],
      ['detail', { type: 'about:blank', title: 'Conflict', status: 409, detail: 'Node Locked. Please try again in a few minutes.' }, 'Node Locked. Please try again in a few minutes.'],
      ['error (a string)', { error: 'Not Found' }, 'Not Found'],
      ['error_description over error (OAuth)', { error: 'invalid_client', error_description: 'Client authentication failed' }, 'Client authentication failed'],
      ['error.message', { error: { code: 'quota_exceeded', message: 'Your organization has reached its server quota' } }, 'Your organization has reached its server quota'],
      ['errors[0].detail', { errors: [{ status: '422', title: 'Unprocessable', detail: 'hardware_sku is not sold in pod_5' }, { detail: 'second' }] }, 'hardware_sku is not sold in pod_5'],
      ['errors[0].message', { errors: [{ message: 'cloud_id is required' }] }, 'cloud_id is required'],
      ['errors as a list of strings', { errors: ['prefix is still assigned to a VLAN'] }, 'prefix is still assigned to a VLAN'],
      ['title when nothing else says more', { title: 'Forbidden' }, 'Forbidden'],
      ['a plain text body', 'Service temporarily unavailable', 'Service temporarily unavailable'],
      ['a list of errors as the body', [{ message: 'first problem' }], 'first problem'],
      ['an empty message, then detail', { message: '  ', detail: 'the real reason' }, 'the real reason'],
      ['nothing usable', { status: 400, code: 42 }, undefined],
      ['an empty object', {}, undefined],
      ['an empty body', null, undefined],
      ['a number', 500, undefined],
      ['an empty string', '', undefined],
      ['only whitespace and control characters', ' \u0000\n\t ', undefined]
    ])('%s', (_name, body, expected) => {
      expect(refusalMessage(body, undefined)).toBe(expected)
    })
  })

  describe('cleans it', () => {
    test.each([
      ['newlines and tabs', 'quota\nexceeded\tfor ORG1', 'quota exceeded for ORG1'],
      ['a forged log line', 'bad request\n{"level":50,"msg":"admin logged in"}', 'bad request {"level":50,"msg":"admin logged in"}'],
      ['NUL and escape characters', 'no\u0000such\u001b[31m cloud', 'no such [31m cloud'],
      ['C1 controls and DEL', 'bad\u0085input\u007f\u009b here', 'bad input here'],
      ['Unicode line separators', 'one\u2028two\u2029three', 'one two three'],
      ['runs of whitespace, leading and trailing', '   too    many\r\n\r\n   spaces  ', 'too many spaces']
    ])('strips %s and collapses whitespace', (_name, raw, expected) => {
      expect(refusalMessage({ message: raw }, undefined)).toBe(expected)
    })

    test('caps it at 300 characters, marking the cut', () => {
      const long = refusalMessage({ message: 'x'.repeat(1000) }, undefined) ?? ''
      expect(long).toHaveLength(300)
      expect(long.endsWith('…')).toBe(true)
      expect(refusalMessage({ message: 'y'.repeat(300) }, undefined)).toBe('y'.repeat(300))
      // the cap counts what is left after cleaning
      expect(refusalMessage({ message: `${'z '.repeat(150)}${'\n'.repeat(500)}` }, undefined)).toBe('z '.repeat(150).trim())
    })
  })

  describe('removes the call\'s credentials', () => {
    test('the bearer token of the call', () => {
      const text = refusalMessage({ message: `token ${TOKEN} has expired (raw: ${TOKEN})` }, `Bearer ${TOKEN}`)
      expect(text).toBe('token [redacted] has expired (raw: [redacted])')
    })

    test('the Basic pair, its secret and its encoded form', () => {
      const encoded = BASIC.slice('Basic '.length)
      const text = refusalMessage({ detail: `bad client ${CLIENT_ID}:${CLIENT_SECRET}; secret ${CLIENT_SECRET}; header ${encoded}` }, BASIC) ?? ''
      expect(text).not.toContain(CLIENT_SECRET)
      expect(text).not.toContain(encoded)
      expect(text).toBe('bad client [redacted]; secret [redacted]; header [redacted]')
    })

    test('the secrets passed with the call (an API key)', () => {
      const apiKey = 'omk_live_8f2d0c4b7a1e'
      expect(refusalMessage({ message: `API key ${apiKey} is not valid for ORG1` }, undefined, [apiKey])).toBe('API key [redacted] is not valid for ORG1')
      // too short to hide without hiding ordinary words
      expect(refusalMessage({ message: 'pod abc is closed' }, undefined, ['abc'])).toBe('pod abc is closed')
    })

    test.each([
      ['Bearer xyz', 'header was Bearer xyz123.abc-def_ghi', 'header was Bearer [redacted]'],
      ['bearer in lower case', 'got bearer Zm9vYmFy=', 'got bearer [redacted]'],
      ['a Basic pair', 'Authorization: Basic Y2xpZW50OnNlY3JldA== rejected', 'Authorization: Basic [redacted] rejected'],
      ['split by a newline', 'Bearer\nsomeothertoken', 'Bearer [redacted]']
    ])('anything shaped like a credential (%s), even not the call\'s', (_name, raw, expected) => {
      expect(refusalMessage({ message: raw }, `Bearer ${TOKEN}`)).toBe(expected)
    })

    test('no token of the call survives, wherever it stands in the reason', () => {
      const token = fc.stringMatching(/^[A-Za-z0-9._~+/=-]{8,60}$/)
      fc.assert(fc.property(token, fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), fc.constantFrom('message', 'detail', 'error'), (secret, before, after, key) => {
        const text = refusalMessage({ [key]: `${before}${secret}${after}` }, `Bearer ${secret}`, [secret]) ?? ''
        expect(text).not.toContain(secret)
      }), { numRuns: 300 })
    })

    test('whatever the body, the reason is short, single-line and free of control characters', () => {
      fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (body) => {
        const text = refusalMessage(body, `Bearer ${TOKEN}`)
        if (text === undefined) return
        expect(text.length).toBeGreaterThan(0)
        expect(text.length).toBeLessThanOrEqual(300)
        expect(text).not.toMatch(/\p{Cc}/u)
        expect(text).toBe(text.trim())
        expect(text).not.toMatch(/\s{2}/)
      }), { numRuns: 300 })
    })
  })
})

describe('OpenMetalHttpError', () => {
  test('keeps what the call was, and OpenMetal\'s reason as given', () => {
    const error = new OpenMetalHttpError('createOrder', 422, 30, 'req-42', 'hardware_sku is not sold in pod_5')
    expect(error).toMatchObject({ name: 'OpenMetalHttpError', operation: 'createOrder', status: 422, retryAfter: 30, upstreamRequestId: 'req-42', upstreamMessage: 'hardware_sku is not sold in pod_5' })
    expect(error.message).toBe('OpenMetal createOrder answered 422')
  })

  test.each([
    ['a short ID', 'req-42'],
    ['a UUID', '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17'],
    ['dots, colons and underscores', 'om:api.v1_req-00042'],
    ['128 characters', 'a'.repeat(128)]
  ])('keeps a request ID of a safe shape (%s)', (_name, id) => {
    expect(new OpenMetalHttpError('getOrder', 404, undefined, id).upstreamRequestId).toBe(id)
  })

  test.each([
    ['a newline', 'req-42\n{"level":50,"msg":"forged"}'],
    ['a trailing newline', 'req-42\n'],
    ['300 characters', 'r'.repeat(300)],
    ['129 characters', 'r'.repeat(129)],
    ['a space', 'req 42'],
    ['a slash', 'req/42'],
    ['a non-ASCII letter', 'réq-42'],
    ['HTML', '<script>alert(1)</script>'],
    ['nothing', '']
  ])('drops a request ID with %s', (_name, id) => {
    expect(new OpenMetalHttpError('getOrder', 404, undefined, id).upstreamRequestId).toBeUndefined()
  })

  test('no request ID stays none', () => {
    expect(new OpenMetalHttpError('getOrder', 404, undefined, undefined).upstreamRequestId).toBeUndefined()
  })
})
