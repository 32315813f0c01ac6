/**
 * Requests that Node's HTTP parser refuses before Fastify sees them: headers too large, a
 * Content-Length that conflicts with another or with Transfer-Encoding, a malformed request
 * line, a request that did not arrive within REQUEST_TIMEOUT_MS. They are answered like every
 * other failure (Cycle's envelope, the security headers, a request ID), then the connection
 * is closed: after a parse error nothing more on it can be trusted. Also the paths Fastify's
 * router refuses before any hook runs, answered the same way on a connection that stays open,
 * and HTTP/1.1 requests without a Host header (which Node would answer with a bare 400).
 */
import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { errorCodes, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Errors, type AdapterError } from '../errors.ts'

export interface ParserRefusalOptions {
  /** the headers every answer carries */
  readonly headers: Readonly<Record<string, string>>
  readonly requestTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly log: () => FastifyBaseLogger
}

/** How long a refused connection may stay open for the answer to reach its client. */
const LINGER_MS = 1000

type ParserError = Error & { code?: string, reason?: unknown }

function failureOf (error: ParserError, options: ParserRefusalOptions): AdapterError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW': return Errors.headersTooLarge({ detail: 'the request line and headers must fit in 16 KiB' })
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return Errors.payloadTooLarge({ detail: 'chunk extensions too large' })
    case 'ERR_HTTP_REQUEST_TIMEOUT': return Errors.requestTimeout({ detail: `the headers must arrive within ${options.headersTimeoutMs} ms and the whole request within ${options.requestTimeoutMs} ms` })
    default: {
      // llhttp's reasons are fixed English phrases; keep them so, whatever a future version says
      const reason = typeof error.reason === 'string' ? error.reason.replace(/[^\w .,'-]/g, '').slice(0, 100) : ''
      const code = (error.code ?? 'unknown').replace(/[^\w]/g, '').slice(0, 40)
      return Errors.malformedRequest({ detail: `${reason === '' ? 'the HTTP parser refused it' : reason} (${code})` })
    }
  }
}

/**
 * Fastify's `clientErrorHandler`: write the envelope as a whole HTTP/1.1 answer with
 * `Connection: close`, stop reading, and close the connection once the answer is out (or
 * after a short linger, so a client that never reads cannot hold it).
 */
export function refuseUnparsableRequests (options: ParserRefusalOptions): (error: ParserError, socket: Socket) => void {
  const fixed = Object.entries(options.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    // an answer already started on this connection (a refusal sent while the body still
    // arrived) cannot be followed by another without corrupting what the client reads
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy()
      return
    }
    const failure = failureOf(error, options)
    const requestId = randomUUID()
    const body = JSON.stringify({ error: failure.toBody(), data: null })
    options.log().info({ reqId: requestId, code: failure.code, parserError: error.code, status: failure.status }, 'refused a request the HTTP parser could not read')
    socket.end(`HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? 'Error'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n' +
      `x-request-id: ${requestId}\r\n` +
      fixed +
      `\r\n${body}`)
    // what the client sends after a parse error is never read
    socket.pause()
    setTimeout(() => socket.destroy(), LINGER_MS)
  }
}

/**
 * Fastify's `frameworkErrors`: the router's own refusals (a path that is not valid
 * percent-encoding) skip every hook, so the envelope, the headers and the request ID are
 * written here.
 */
export function refuseUnroutablePaths (headers: Readonly<Record<string, string>>): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const failure = Errors.malformedRequest({ detail: error instanceof errorCodes.FST_ERR_BAD_URL ? 'the path is not valid percent-encoding' : 'the router refused the path' })
    void reply.code(failure.status).headers(headers).header('x-request-id', request.id).send({ error: failure.toBody(), data: null })
  }
}

/**
 * HTTP/1.1 requires a Host header on every request (RFC 9112, 3.2: answer 400). The listener
 * lets such a request through (`requireHostHeader: false`) so that it is refused here, after
 * the security headers and the request context: Cycle's envelope, a request ID, a log line
 * and a metric, like any other refusal; then the connection is closed, as Node would.
 */
export const refuseHostlessRequests = fp(async (app) => {
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw
    if (raw.headers.host !== undefined || raw.httpVersionMajor !== 1 || raw.httpVersionMinor !== 1) {
      done()
      return
    }
    reply.header('connection', 'close')
    done(Errors.malformedRequest({ detail: 'an HTTP/1.1 request must carry a Host header' }))
  })
}, { name: 'refuse-hostless-requests', fastify: '5.x' })
