/** Unit tests of src/openmetal/transport.ts. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenMetalTransport, openMetalPath, parseRetryAfter, requestIdOf, refusalMessage } from '../../../src/openmetal/transport.ts'
import { AnswerTooLarge, OpenMetalHttpError, OpenMetalTransportError, mayHaveActed, nothingDone } from '../../../src/openmetal/errors.ts'
import { withinDeadline } from '../../../src/openmetal/shared-lookup.ts'
import type { TransportOptions, UpstreamCall, UpstreamTrace } from '../../../src/openmetal/transport.ts'
import fc from 'fast-check'

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcmdfMSJ9.c2lnbmF0dXJlLXZhbHVl'

const CLIENT_ID = 'cycle-hub-client'

const CLIENT_SECRET = 's3cr3t-Value_42'

const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

const API_KEY = 'omk_live_8f2d0c4b7a1e9d3f'

/** Each credential a call may carry, as the call carries it and as an upstream might echo it. */
const CREDENTIALS: ReadonlyArray<{ name: string, authorization: string, secrets: string[], echoed: string }> = [
  { name: 'the API key', authorization: `Bearer ${API_KEY}`, secrets: [API_KEY], echoed: API_KEY },
  { name: 'the OAuth secret', authorization: BASIC, secrets: [CLIENT_SECRET], echoed: CLIENT_SECRET },
  { name: 'the Basic pair', authorization: BASIC, secrets: [CLIENT_SECRET], echoed: `${CLIENT_ID}:${CLIENT_SECRET}` },
  { name: 'the Basic pair as sent', authorization: BASIC, secrets: [CLIENT_SECRET], echoed: BASIC.slice('Basic '.length) },
  { name: 'the bearer token', authorization: `Bearer ${TOKEN}`, secrets: [CLIENT_SECRET], echoed: TOKEN }
]

/** Whether `text` still holds the head of `secret` (4 characters or more: shorter is not hidden, see refusalMessage). */
function holdsHeadOf (text: string, secret: string): boolean {
  return text.includes(secret.slice(0, 4))
}

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
      maxAnswerBytes: 1024 * 1024,
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
      expect(error).toMatchObject({ kind: 'timeout', operation: 'getOrder' })
      expect(mayHaveActed(error)).toBe(true)
      expect(seen).toHaveLength(2)
      expect(retries).toEqual([{ operation: 'getOrder', reason: 'timeout' }])
      expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    })

    test('a POST that times out is not repeated (OpenMetal may have acted on it)', async () => {
      handler = () => undefined
      const error = await failureOf(transport({ attemptTimeoutMs: 100 }).created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} }))
      expect(error).toMatchObject({ kind: 'timeout' })
      expect(mayHaveActed(error)).toBe(true)
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
      expect(error).toMatchObject({ kind: 'network' })
      expect(mayHaveActed(error)).toBe(true)
      expect(retries.map((retry) => retry.reason)).toEqual(['network', 'network'])
      expect(calls.map((call) => call.status)).toEqual(['network', 'network', 'network'])
    })

    test('invalid JSON in a 200 is kind malformed, not retried', async () => {
      handler = sequence(json(200, '{"id": "ORD1", '), json(200))
      const { created, calls } = transport()
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'malformed' })
      expect(seen).toHaveLength(1)
      expect(calls).toEqual([{ operation: 'getOrder', status: 'malformed' }])
    })

    test('an already-aborted deadline is kind deadline, with no retry', async () => {
      handler = sequence(json(200))
      const { created, retries } = transport()
      const error = await failureOf(created.send({ ...getOrder, signal: AbortSignal.abort() }))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      // it never left: OpenMetal is known to have done nothing
      expect(error).toMatchObject({ kind: 'deadline', sent: false })
      expect([mayHaveActed(error), nothingDone(error)]).toEqual([false, true])
      expect(seen.length).toBeLessThanOrEqual(1)
      expect(retries).toEqual([])
    })

    test('a create whose deadline ends while it waits for its turn never left: known to have done nothing', async () => {
      handler = () => undefined
      const { created } = transport({ tenantConcurrency: 1, connections: 2, attemptTimeoutMs: 5000 })
      const holding = created.send({ ...getOrder, compartment: 'tenant', signal: AbortSignal.timeout(400) }).catch((error: unknown) => error)
      const queued = await failureOf(created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {}, compartment: 'tenant', signal: AbortSignal.timeout(100) }))
      expect(queued).toMatchObject({ kind: 'deadline', sent: false })
      expect(nothingDone(queued)).toBe(true)
      // only the call holding the turn reached the server
      expect(seen).toHaveLength(1)
      await holding
    })

    test('a deadline that ends during an attempt is kind deadline, even though attempts remain', async () => {
      handler = () => undefined
      const { created, retries } = transport({ attemptTimeoutMs: 5000 })
      const error = await failureOf(created.send({ ...getOrder, signal: AbortSignal.timeout(80) }))
      // it left: OpenMetal may have acted on it
      expect(error).toMatchObject({ kind: 'deadline', sent: true })
      expect([mayHaveActed(error), nothingDone(error)]).toEqual([true, false])
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
    })
  })

  describe('answers larger than maxAnswerBytes', () => {
    const CAP = 256 * 1024
    const CHUNK = Buffer.alloc(16 * 1024, 'x')

    /**
     * Answers `total` bytes (a JSON string), chunk by chunk as fast as the client reads;
     * `written` counts what was handed to the socket, `closed` settles when the client hangs up
     * or the answer is done.
     */
    function streamed (status: number, total: number, headers: Record<string, string> = {}): { handler: Handler, answer: (response: ServerResponse) => void, written: () => number, closed: Promise<void> } {
      let written = 0
      let onClose = (): void => {}
      const closed = new Promise<void>((resolve) => { onClose = resolve })
      const answer = (response: ServerResponse): void => {
        response.once('close', onClose)
        response.writeHead(status, { 'content-type': 'application/json', ...headers })
        response.write('"')
        written = 1
        const pump = (): void => {
          while (!response.destroyed && written < total - 1) {
            const more = response.write(CHUNK.subarray(0, Math.min(CHUNK.length, total - 1 - written)))
            written += Math.min(CHUNK.length, total - 1 - written)
            if (!more) {
              response.once('drain', pump)
              return
            }
          }
          if (!response.destroyed) response.end('"')
        }
        pump()
      }
      return { answer, handler: (_request, response) => { answer(response) }, written: () => written, closed }
    }

    async function settled (closed: Promise<void>, ms = 2000): Promise<boolean> {
      return await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])
    }

    test('an answer whose content-length passes the cap is refused before a byte is read, and its connection closed', async () => {
      const answer = streamed(200, 64 * 1024 * 1024, { 'content-length': String(64 * 1024 * 1024) })
      handler = answer.handler
      const { created, calls, retries } = transport({ maxAnswerBytes: CAP })
      const error = await failureOf(created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalTransportError)
      expect(error).toMatchObject({ kind: 'too-large', operation: 'getOrder' })
      expect((error as OpenMetalTransportError).cause).toBeInstanceOf(AnswerTooLarge)
      expect((error as OpenMetalTransportError).cause).toMatchObject({ limitBytes: CAP, announcedBytes: 64 * 1024 * 1024 })
      expect(await settled(answer.closed)).toBe(true)
      // a size is no glitch: asking again would download as much again
      expect(seen).toHaveLength(1)
      expect(retries).toEqual([])
      expect(calls).toEqual([{ operation: 'getOrder', status: 'too-large' }])
    })

    test('an answer that announces nothing is counted as it arrives and cut off past the cap, connection and all', async () => {
      const total = 64 * 1024 * 1024
      const answer = streamed(200, total)
      handler = answer.handler
      const started = performance.now()
      const error = await failureOf(transport({ maxAnswerBytes: CAP }).created.send(getOrder))
      expect(error).toMatchObject({ kind: 'too-large', operation: 'getOrder' })
      expect((error as OpenMetalTransportError).cause).toMatchObject({ limitBytes: CAP, announcedBytes: undefined })
      expect(await settled(answer.closed)).toBe(true)
      // the server stopped being read: what it handed over is the cap and the sockets' buffers, not the 64 MB
      expect(answer.written()).toBeLessThan(total / 4)
      expect(performance.now() - started).toBeLessThan(2000)
      expect(seen).toHaveLength(1)
    })

    test('an answer of exactly the cap is read whole', async () => {
      handler = streamed(200, CAP).handler
      const response = await transport({ maxAnswerBytes: CAP }).created.send(getOrder)
      expect(typeof response.body === 'string' && response.body.length).toBe(CAP - 2)
    })

    test('after an answer was cut off, the next call is served', async () => {
      handler = sequence(streamed(200, 4 * CAP).answer, json(200, { id: 'ORD1' }))
      const { created } = transport({ maxAnswerBytes: CAP })
      expect(await failureOf(created.send(getOrder))).toMatchObject({ kind: 'too-large' })
      expect((await created.send(getOrder)).body).toEqual({ id: 'ORD1' })
    })

    test('a create whose answer is too large may have acted (it is looked for by its label), and is not repeated', async () => {
      handler = streamed(201, 4 * CAP).handler
      const error = await failureOf(transport({ maxAnswerBytes: CAP }).created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} }))
      expect(error).toMatchObject({ kind: 'too-large', operation: 'createOrder' })
      expect(mayHaveActed(error)).toBe(true)
      expect(seen).toHaveLength(1)
    })

    test('a failure too large to read keeps its status: a 503 is retried as any 503, a refusal says no reason', async () => {
      handler = sequence(streamed(503, 4 * CAP).answer, json(200, { ok: true }))
      expect((await transport({ maxAnswerBytes: CAP }).created.send(getOrder)).body).toEqual({ ok: true })
      expect(seen).toHaveLength(2)
      seen = []
      handler = streamed(422, 4 * CAP, { 'content-length': String(4 * CAP) }).handler
      const error = await failureOf(transport({ maxAnswerBytes: CAP }).created.send(getOrder))
      expect(error).toBeInstanceOf(OpenMetalHttpError)
      expect(error).toMatchObject({ status: 422, upstreamMessage: undefined })
    })
  })

  describe('failures larger than 64 KB', () => {
    test('are read for their status only: no reason, and the connection is not read on', async () => {
      const long = `quota exceeded ${'x'.repeat(70 * 1024)}`
      handler = sequence(json(422, long, { 'content-type': 'text/plain' }))
      const error = await failureOf(transport().created.send(getOrder))
      expect(error).toMatchObject({ status: 422, upstreamMessage: undefined })
    })

    test('a failure within 64 KB is read for its reason', async () => {
      handler = sequence(json(422, `quota exceeded ${'x'.repeat(60 * 1024)}`, { 'content-type': 'text/plain' }))
      const error = await failureOf(transport().created.send(getOrder))
      expect((error as OpenMetalHttpError).upstreamMessage).toMatch(/^quota exceeded x+…$/)
    })
  })

  describe('what is kept of a refusal holds no credential of the call', () => {
    // the transport once cut a text body at 4096 characters before hiding credentials, so one
    // standing across the cut kept its head; whitespace and control characters collapse, so
    // that head reached the message
    const filler = (length: number): string => ' \n\t\u0000'.repeat(Math.ceil(length / 4)).slice(0, length)

    test.each(CREDENTIALS)('$name standing across character 4096 of a text body', async ({ authorization, secrets, echoed }) => {
      for (const offset of [4096 - echoed.length + 1, 4096 - 4, 4096 - 1]) {
        handler = sequence(json(400, `${filler(offset)}${echoed}${filler(200)}`, { 'content-type': 'text/plain' }))
        const error = await failureOf(transport().created.send({ ...getOrder, authorization, secrets }))
        expect(error).toBeInstanceOf(OpenMetalHttpError)
        const message = (error as OpenMetalHttpError).upstreamMessage ?? ''
        expect(message).toBe('[redacted]')
        expect(holdsHeadOf(message, echoed)).toBe(false)
      }
    })

    test('property: a credential anywhere in a long text body, lengths around the old cut, leaves no head in the message', async () => {
      const { created } = transport()
      const body = fc.integer({ min: 3800, max: 4400 }).chain((length) => fc.record({
        length: fc.constant(length),
        // most offsets at random, many standing across the old cut at 4096
        offset: fc.oneof(fc.integer({ min: 0, max: length }), fc.integer({ min: Math.min(length, 4096 - 40), max: Math.min(length, 4096) })),
        words: fc.boolean()
      }))
      await fc.assert(fc.asyncProperty(body, fc.constantFrom(...CREDENTIALS), async ({ length, offset, words }, { authorization, secrets, echoed }) => {
        const text = words ? `quota exceeded ${filler(length)}` : filler(length)
        handler = sequence(json(422, `${text.slice(0, offset)}${echoed}${text.slice(offset)}`, { 'content-type': 'text/plain' }))
        const error = await failureOf(created.send({ ...getOrder, authorization, secrets }))
        const message = (error as OpenMetalHttpError).upstreamMessage ?? ''
        expect(holdsHeadOf(message, echoed)).toBe(false)
        expect(message.length).toBeLessThanOrEqual(300)
      }), { numRuns: 300 })
    })

    test.each(CREDENTIALS)('an X-Request-Id holding $name is dropped (Cycle\'s detail and the log see none)', async ({ authorization, secrets, echoed }) => {
      handler = sequence(json(404, { message: 'not found' }, { 'x-request-id': `req-${echoed}` }))
      const error = await failureOf(transport().created.send({ ...getOrder, authorization, secrets }))
      expect(error).toMatchObject({ status: 404, upstreamRequestId: undefined, upstreamMessage: 'not found' })
    })

    test('an X-Request-Id holding no credential is kept', async () => {
      handler = sequence(json(404, { message: 'not found' }, { 'x-request-id': '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17' }))
      const error = await failureOf(transport().created.send({ ...getOrder, authorization: `Bearer ${API_KEY}`, secrets: [API_KEY] }))
      expect(error).toMatchObject({ upstreamRequestId: '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17' })
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

describe('requestIdOf', () => {
  test('every credential at every offset of every safe request ID length: no head of it is kept', () => {
    for (const { authorization, secrets, echoed } of CREDENTIALS) {
      for (let length = 0; length + echoed.length <= 130; length++) {
        const filler = 'ZQ.-'.repeat(40).slice(0, length)
        for (let offset = 0; offset <= length; offset++) {
          const id = requestIdOf(`${filler.slice(0, offset)}${echoed}${filler.slice(offset)}`, authorization, secrets)
          if (id !== undefined) expect(holdsHeadOf(id, echoed), id).toBe(false)
        }
      }
    }
  })

  test('an ID holding eight characters of a credential in a row (an echo cut short) is dropped', () => {
    expect(requestIdOf(`req-${API_KEY.slice(0, 8)}`, `Bearer ${API_KEY}`, [API_KEY])).toBeUndefined()
    expect(requestIdOf(`req-${API_KEY.slice(5, 13)}-42`, undefined, [API_KEY])).toBeUndefined()
    expect(requestIdOf(`req-${TOKEN.slice(10, 18)}`, `Bearer ${TOKEN}`)).toBeUndefined()
    // seven, or the client ID (which is no secret), are no echo
    expect(requestIdOf(`req-${API_KEY.slice(0, 7)}`, `Bearer ${API_KEY}`, [API_KEY])).toBe(`req-${API_KEY.slice(0, 7)}`)
    expect(requestIdOf(`${CLIENT_ID}-42`, BASIC, [CLIENT_SECRET])).toBe(`${CLIENT_ID}-42`)
  })

  test('the first of several values, of a safe shape only', () => {
    expect(requestIdOf(['req-1', 'req-2'], undefined)).toBe('req-1')
    expect(requestIdOf('req 1', undefined)).toBeUndefined()
    expect(requestIdOf(undefined, undefined)).toBeUndefined()
  })
})

describe('refusalMessage, echoes cut short', () => {
  test('eight characters or more of a credential in a row are hidden, fewer are not', () => {
    expect(refusalMessage({ message: `API key ${API_KEY.slice(0, 14)}… is not valid` }, `Bearer ${API_KEY}`, [API_KEY])).toBe('API key [redacted]… is not valid')
    expect(refusalMessage({ message: `key ending ${API_KEY.slice(-9)} revoked` }, undefined, [API_KEY])).toBe('key ending [redacted] revoked')
    expect(refusalMessage({ message: `prefix ${API_KEY.slice(0, 7)} unknown` }, undefined, [API_KEY])).toBe(`prefix ${API_KEY.slice(0, 7)} unknown`)
    // the client ID is named by a refusal of the Basic pair, and is no secret
    expect(refusalMessage({ message: `client ${CLIENT_ID} is disabled` }, BASIC, [CLIENT_SECRET])).toBe(`client ${CLIENT_ID} is disabled`)
  })

  test('a credential echoed percent-encoded is hidden', () => {
    const secret = 'k3y/with+special=chars'
    expect(refusalMessage({ message: `GET /v1/x?key=${encodeURIComponent(secret)} refused` }, undefined, [secret])).toBe('GET /v1/x?key=[redacted] refused')
  })
})
