import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenMetalHttpError, OpenMetalTransport, OpenMetalTransportError, openMetalPath, parseRetryAfter } from '../../src/openmetal/transport.ts'

let server: Server
let url = ''
let handler: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => response.end('{}')
let hits = 0
const transports: OpenMetalTransport[] = []

beforeAll(async () => {
  server = createServer((request, response) => { hits++; handler(request, response) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(async () => { hits = 0; await Promise.all(transports.splice(0).map((transport) => transport.close())) })
afterAll(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })

function transport (options: { attemptTimeoutMs?: number, base?: string } = {}) {
  const calls: Array<[string, string | number]> = []
  const retries: string[] = []
  const created = new OpenMetalTransport({
    baseUrl: options.base ?? url, connections: 4, attemptTimeoutMs: options.attemptTimeoutMs ?? 2000, maxAttempts: 3, retryBaseDelayMs: 5, retryMaxDelayMs: 20, random: () => 1,
    observer: { call: (operation, status) => calls.push([operation, status]), retry: (_operation, reason) => retries.push(reason) }
  })
  transports.push(created)
  return { created, calls, retries }
}

const answer = (status: number, body = '{}', headers: Record<string, string> = {}) => (_request: IncomingMessage, response: ServerResponse) => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body)

describe('OpenMetal transport', () => {
  test('a GET is retried on 503 and then succeeds', async () => {
    let count = 0
    handler = (request, response) => answer(++count < 3 ? 503 : 200, '{"ok":true}')(request, response)
    const { created, retries, calls } = transport()
    const response = await created.send({ operation: 'getOrder', method: 'GET', path: '/v1/orders/x' })
    expect(response).toEqual({ status: 200, body: { ok: true } })
    expect(hits).toBe(3)
    expect(retries).toEqual(['503', '503'])
    expect(calls.map(([, status]) => status)).toEqual([503, 503, 200])
  })

  test('a POST is never repeated', async () => {
    handler = answer(503)
    const { created } = transport()
    await expect(created.send({ operation: 'createOrder', method: 'POST', path: '/v1/orders', body: {} })).rejects.toMatchObject({ status: 503 })
    expect(hits).toBe(1)
  })

  test('429 waits at least Retry-After before the next attempt', async () => {
    let count = 0
    handler = (request, response) => answer(++count === 1 ? 429 : 200, '{}', { 'retry-after': '1' })(request, response)
    const started = performance.now()
    await transport().created.send({ operation: 'getOrder', method: 'GET', path: '/v1/orders/x' })
    expect(performance.now() - started).toBeGreaterThanOrEqual(950)
  })

  test('a 404 is not retried and carries the status and operation', async () => {
    handler = answer(404)
    const error = await transport().created.send({ operation: 'getCloud', method: 'GET', path: '/v1/clouds/x' }).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(OpenMetalHttpError)
    expect(error).toMatchObject({ status: 404, operation: 'getCloud' })
    expect(hits).toBe(1)
  })

  test('an upstream that never answers is a timeout, after every attempt', async () => {
    handler = () => undefined
    const error = await transport({ attemptTimeoutMs: 150 }).created.send({ operation: 'getOrder', method: 'GET', path: '/v1/orders/x' }).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(OpenMetalTransportError)
    expect(error).toMatchObject({ kind: 'timeout' })
    expect(hits).toBe(3)
  })

  test('a refused connection is a network failure', async () => {
    const error = await transport({ base: 'http://127.0.0.1:9' }).created.send({ operation: 'probe', method: 'GET', path: '/' }).catch((failure: unknown) => failure)
    expect(error).toMatchObject({ kind: 'network', ambiguous: true })
  })

  test('invalid JSON in a success is malformed, never retried', async () => {
    handler = answer(200, '{"truncated": ')
    const error = await transport().created.send({ operation: 'getOrder', method: 'GET', path: '/v1/orders/x' }).catch((failure: unknown) => failure)
    expect(error).toMatchObject({ kind: 'malformed', ambiguous: false })
    expect(hits).toBe(1)
  })

  test('the inbound deadline ends the call', async () => {
    handler = () => undefined
    const error = await transport().created.send({ operation: 'getOrder', method: 'GET', path: '/v1/orders/x', signal: AbortSignal.timeout(100) }).catch((failure: unknown) => failure)
    expect(error).toMatchObject({ kind: 'deadline' })
  })

  test('path parameters are encoded', () => {
    expect(openMetalPath('/v1/clouds/{cloudId}', { cloudId: 'a/b?c' })).toBe('/v1/clouds/a%2Fb%3Fc')
  })

  test.each([['5', 5], ['0', 0], ['garbage', undefined], [undefined, undefined]])('Retry-After %j', (value, expected) => {
    expect(parseRetryAfter(value)).toBe(expected)
  })

  test('Retry-After as an HTTP date', () => {
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThanOrEqual(9)
  })
})
