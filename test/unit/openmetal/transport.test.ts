/** Unit tests of src/openmetal/transport.ts. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenMetalHttpError, OpenMetalTransport, OpenMetalTransportError, openMetalPath, parseRetryAfter, withinDeadline, refusalMessage } from '../../../src/openmetal/transport.ts'
import type { TransportOptions, UpstreamCall, UpstreamTrace } from '../../../src/openmetal/transport.ts'
import fc from 'fast-check'

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmdfMSJ9.c2lnbmF0dXJlLXZhbHVl'

const CLIENT_ID = 'cycle-hub-client'

const CLIENT_SECRET = 's3cr3t-Value_42'

const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

/** The OpenMetal transport against a real HTTP server: retries, timeouts, failures. */
describe('src/openmetal/transport.ts', () => {
  describe('withinDeadline', () => {
    const later = <T>(ms: number, outcome: () => T): Promise<T> => new Promise((resolve, reject) => setTimeout(() => { try { resolve(outcome()) } catch (error) { reject(error) } }, ms))

    test('a caller leaves at its deadline with a deadline failure; the shared call goes on for the others', async () => {
      const shared = later(80, () => 'token')
      const failure = await withinDeadline(shared, AbortSignal.timeout(20), 'exchangeToken').catch((error: unknown) => error)
      expect(failure).toMatchObject({ name: 'OpenMetalTransportError', kind: 'deadline', operation: 'exchangeToken' })
      expect(await withinDeadline(shared, AbortSignal.timeout(1000), 'exchangeToken')).toBe('token')
    })

    test('a shared call failing after every caller left (or after one came already too late) is no unhandled rejection', async () => {
      const unhandled: unknown[] = []
      const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
      process.on('unhandledRejection', onUnhandled)
      try {
        const spent = AbortSignal.abort()
        await expect(withinDeadline(later(10, () => { throw new Error('upstream failed') }), spent, 'getOrder')).rejects.toMatchObject({ kind: 'deadline' })
        await expect(withinDeadline(later(30, () => { throw new Error('upstream failed') }), AbortSignal.timeout(5), 'getOrder')).rejects.toMatchObject({ kind: 'deadline' })
        await new Promise((resolve) => setTimeout(resolve, 60))
        expect(unhandled).toEqual([])
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
    })
  })

  interface Seen { method: string, url: string, headers: IncomingMessage['headers'], body: string }

  type Handler = (request: IncomingMessage, response: ServerResponse, hit: number) => void

  let server: Server
  let baseUrl = ''
  let handler: Handler = (_request, response) => { response.end('{}') }
  let seen: Seen[] = []
  const opened: OpenMetalTransport[] = []

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = ''
      request.setEncoding('utf8')
      request.on('data', (chunk: string) => { body += chunk })
      request.on('end', () => {
        seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
        handler(request, response, seen.length)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  beforeEach(() => { seen = [] })

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((transport) => transport.close()))
    server.closeAllConnections()
  })

  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  function json (status: number, body: unknown = {}, headers: Record<string, string> = {}): (response: ServerResponse) => void {
    return (response) => { response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body)) }
  }

  /** Answers in turn; the last answer repeats. */
  function sequence (...answers: Array<(response: ServerResponse) => void>): Handler {
    return (_request, response, hit) => { (answers[Math.min(hit, answers.length) - 1] ?? json(500))(response) }
  }

  function transport (options: Partial<TransportOptions> = {}) {
    const calls: Array<{ operation: string, status: number | string }> = []
    const retries: Array<{ operation: string, reason: string }> = []
    const created = new OpenMetalTransport({
      baseUrl,
      connections: 4,
      tenantConcurrency: 3,
      tenantQueue: 16,
      attemptTimeoutMs: 2000,
      maxAttempts: 3,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
      random: () => 0,
      observer: {
        call: (operation, status) => { calls.push({ operation, status }) },
        retry: (operation, reason) => { retries.push({ operation, reason }) }
      },
      ...options
    })
    opened.push(created)
    return { created, calls, retries }
  }

  async function failureOf (promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise
    } catch (error) {
      return error
    }
    throw new Error('expected the call to fail')
  }

  const getOrder: UpstreamCall = { operation: 'getOrder', method: 'GET', path: '/v1/orders/ORD1' }

  describe('successful calls', () => {
    test('GET returns status and parsed body, sending accept and authorization', async () => {
      handler = sequence(json(200, { id: 'ORD1', is_active: true }))
      const { created } = transport()
      expect(await created.send({ ...getOrder, authorization: 'Bearer t0k', query: { page: '2' } })).toMatchObject({ status: 200, body: { id: 'ORD1', is_active: true } })
      expect(seen).toHaveLength(1)
      expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/orders/ORD1?page=2', headers: { accept: 'application/json', authorization: 'Bearer t0k' } })
    })

    test('POST sends its body as JSON', async () => {
      handler = sequence(json(201, { id: 'ORD2' }))
      const { created } = transport()
      const body = { label: 'cycle:h:s', fields: { items: [] } }
      expect(await created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body })).toMatchObject({ status: 201, body: { id: 'ORD2' } })
      expect(seen[0]?.headers['content-type']).toBe('application/json')
      expect(JSON.parse(seen[0]?.body ?? '')).toEqual(body)
    })

    test('an empty success body is null', async () => {
      handler = (_request, response) => { response.writeHead(204).end() }
      expect(await transport().created.send({ operation: 'deleteCloud', method: 'DELETE', path: '/v1/clouds/C1' })).toMatchObject({ status: 204, body: null })
    })

    test('the trace of the inbound request records every attempt', async () => {
      handler = sequence(json(503), json(200))
      const trace: UpstreamTrace[] = []
      await transport().created.send({ ...getOrder, trace })
      expect(trace.map((entry) => [entry.operation, entry.status])).toEqual([['getOrder', 503], ['getOrder', 200]])
      for (const entry of trace) expect(Number.isInteger(entry.ms) && entry.ms >= 0).toBe(true)
    })
  })

  describe('retries', () => {
    test('a GET is retried on 503 and then succeeds; the observer sees every attempt and retry', async () => {
      handler = sequence(json(503), json(503), json(200, { ok: true }))
      const { created, calls, retries } = transport()
      expect(await created.send(getOrder)).toMatchObject({ status: 200, body: { ok: true } })
      expect(seen).toHaveLength(3)
      expect(calls).toEqual([{ operation: 'getOrder', status: 503 }, { operation: 'getOrder', status: 503 }, { operation: 'getOrder', status: 200 }])
      expect(retries).toEqual([{ operation: 'getOrder', reason: '503' }, { operation: 'getOrder', reason: '503' }])
    })

    test.each([429, 502, 504])('a GET is retried on %i', async (status) => {
      handler = sequence(json(status, {}, { 'retry-after': '0' }), json(200))
      expect((await transport().created.send(getOrder)).status).toBe(200)
      expect(seen).toHaveLength(2)
    })

    test('a POST answered 503 is not repeated and fails with the status', async () => {
      handler = sequence(json(503, { error: 'maintenance' }, { 'x-request-id': 'req-42' }))
      const { created, retries } = transport()
      const error = await failureOf(created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} }))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status: 503, operation: 'createOrder', upstreamRequestId: 'req-42' })
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })

    test('a POST declared idempotent is retried', async () => {
      handler = sequence(json(503), json(200, { result: 'ok' }))
      const response = await transport().created.send({ operation: 'setPowerState', method: 'POST', path: '/v1/x', body: {}, idempotent: true })
      expect(response.body).toEqual({ result: 'ok' })
      expect(seen).toHaveLength(2)
    })

    test('a DELETE is retried by default', async () => {
      handler = sequence(json(502), json(200))
      await transport().created.send({ operation: 'deleteCloud', method: 'DELETE', path: '/v1/clouds/C1' })
      expect(seen.map((request) => request.method)).toEqual(['DELETE', 'DELETE'])
    })

    test('a GET that keeps failing stops after maxAttempts with the last status and its Retry-After', async () => {
      handler = sequence(json(503, {}, { 'retry-after': '0' }), json(503, {}, { 'retry-after': '0' }), json(503, {}, { 'retry-after': '7' }))
      const error = await failureOf(transport().created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status: 503, retryAfter: 7 })
      expect(seen).toHaveLength(3)
    })

    test('429 with Retry-After: 0 is retried at once', async () => {
      handler = sequence(json(429, {}, { 'retry-after': '0' }), json(200))
      const started = performance.now()
      await transport().created.send(getOrder)
      expect(seen).toHaveLength(2)
      expect(performance.now() - started).toBeLessThan(1000)
    })

    test('the wait before a retry is at least Retry-After (here cut short by the deadline)', async () => {
      // random() = 0 means no jitter: only Retry-After can delay the second attempt
      handler = sequence(json(429, {}, { 'retry-after': '1' }), json(200))
      const started = performance.now()
      const error = await failureOf(transport({ retryMaxDelayMs: 5000 }).created.send({ ...getOrder, signal: AbortSignal.timeout(100) }))
      expect(error).toMatchObject({ kind: 'deadline' })
      expect(seen).toHaveLength(1)
      expect(performance.now() - started).toBeGreaterThanOrEqual(90)
      expect(performance.now() - started).toBeLessThan(900)
    })

    test('a Retry-After longer than the longest backoff is left to Cycle: no retry, the wait travels up', async () => {
      handler = sequence(json(429, {}, { 'retry-after': '30' }), json(200))
      const error = await failureOf(transport().created.send(getOrder))
      expect(error).toMatchObject({ status: 429, retryAfter: 30 })
      expect(seen).toHaveLength(1)
    })

    test.each([400, 401, 403, 404, 409, 422, 500])('%i is not retried', async (status) => {
      handler = sequence(json(status, '<html>not json</html>'), json(200))
      const { created, retries } = transport()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status, operation: 'getOrder' })
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })
  })

  describe('transport failures', () => {
    test('an upstream that never answers: kind timeout after maxAttempts attempts of a GET', async () => {
      handler = () => undefined
      const { created, retries } = transport({ attemptTimeoutMs: 100, maxAttempts: 2 })
      const started = performance.now()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'timeout', operation: 'getOrder', ambiguous: true })
      expect(seen).toHaveLength(2)
      expect(retries).toEqual([{ operation: 'getOrder', reason: 'timeout' }])
      expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    })

    test('a POST that times out is not repeated (OpenMetal may have acted on it)', async () => {
      handler = () => undefined
      const error = await failureOf(transport({ attemptTimeoutMs: 100 }).created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} }))
      expect(error).toMatchObject({ kind: 'timeout', ambiguous: true })
      expect(seen).toHaveLength(1)
    })

    test('a refused connection is kind network, retried for a GET', async () => {
      const closed = createServer()
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
      const port = (closed.address() as AddressInfo).port
      await new Promise((resolve) => closed.close(resolve))
      const { created, retries, calls } = transport({ baseUrl: `http://127.0.0.1:${port}` })
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'network', ambiguous: true })
      expect(retries.map((retry) => retry.reason)).toEqual(['network', 'network'])
      expect(calls.map((call) => call.status)).toEqual(['network', 'network', 'network'])
    })

    test('invalid JSON in a 200 is kind malformed, not retried', async () => {
      handler = sequence(json(200, '{"id": "ORD1", '), json(200))
      const { created, calls } = transport()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'malformed', ambiguous: false })
      expect(seen).toHaveLength(1)
      expect(calls).toEqual([{ operation: 'getOrder', status: 'malformed' }])
    })

    test('an already-aborted deadline is kind deadline, with no retry', async () => {
      handler = sequence(json(200))
      const { created, retries } = transport()
      const error = await failureOf(created.send({ ...getOrder, signal: AbortSignal.abort() }))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'deadline' })
      expect(seen.length).toBeLessThanOrEqual(1)
      expect(retries).toEqual([])
    })

    test('a deadline that ends during an attempt is kind deadline, even though attempts remain', async () => {
      handler = () => undefined
      const { created, retries } = transport({ attemptTimeoutMs: 5000 })
      const error = await failureOf(created.send({ ...getOrder, signal: AbortSignal.timeout(80) }))
      expect(error).toMatchObject({ kind: 'deadline' })
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })
  })

  describe('openMetalPath', () => {
    test('encodes every parameter', () => {
      expect(openMetalPath('/v1/clouds/{cloudId}', { cloudId: 'a/b' })).toBe('/v1/clouds/a%2Fb')
      expect(openMetalPath('/v1/clouds/{cloudId}', { cloudId: 'x?y#z w' })).toBe('/v1/clouds/x%3Fy%23z%20w')
      expect(openMetalPath('/v1/deployment/network/prefixes/{prefixId}/ip/{ipId}', { prefixId: 'PFX1', ipId: 42 })).toBe('/v1/deployment/network/prefixes/PFX1/ip/42')
      expect(openMetalPath('/v1/deployment/cloud/{cloudId}/node/{nodeUuid}/power', { cloudId: 'C/1', nodeUuid: '3f2b8c1e-7d4a' })).toBe('/v1/deployment/cloud/C%2F1/node/3f2b8c1e-7d4a/power')
    })

    test('a path without parameters is unchanged', () => {
      expect(openMetalPath('/v1/orders', {})).toBe('/v1/orders')
    })
  })

  describe('parseRetryAfter', () => {
    const now = Date.parse('2026-11-22T12:00:00Z')

    test.each<[string | string[] | undefined, number | undefined]>([
      ['0', 0],
      ['5', 5],
      [' 120 ', 120],
      [['3', '9'], 3],
      [undefined, undefined],
      ['', undefined],
      ['   ', undefined],
      ['garbage', undefined],
      ['soon', undefined]
    ])('%j -> %j', (value, expected) => {
      expect(parseRetryAfter(value, now)).toBe(expected)
    })

    test('an HTTP date gives the whole seconds until then', () => {
      expect(parseRetryAfter('Sun, 22 Nov 2026 12:00:30 GMT', now)).toBe(30)
      expect(parseRetryAfter(new Date(now + 1500).toUTCString(), now)).toBe(1)
    })

    test('an HTTP date in the past is 0, never negative', () => {
      expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0)
    })
  })
})

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
