/**
 * Which requests may carry a body, and how one is read. Cycle sends its `{auth, request}`
 * wrapper with every IAL call, GETs included, so GET carries a body; but only the IAL's
 * routes (and any route whose schema declares a body) take one. A body sent anywhere else
 * (probes, /metrics, docs, an unknown path) is refused as it arrives, before it is read. A
 * body is JSON or nothing (415 otherwise), and its nesting is bounded before it is parsed:
 * a deep body costs one linear scan, never a recursion.
 *
 * Any refusal answered before its body has arrived whole closes the connection once the
 * body has drained (see `closeOnceDrained`), so that the client reads the answer.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Errors } from '../errors.ts'

/** Deepest nesting of objects and arrays a body may have; Cycle's deepest real body has a handful. */
export const JSON_DEPTH_MAX = 64

/** Longest a refused body may keep arriving after its answer before the connection is cut. */
const DRAIN_MS = 1000

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether `text`, read as JSON, nests objects and arrays deeper than `max`: brackets are
 * counted outside strings, and a string is skipped to its first quote not escaped by an odd
 * run of backslashes. It stops at the first level too deep; JSON it cannot make sense of is
 * left for the parser to refuse.
 */
export function nestsDeeperThan (text: string, max: number): boolean {
  let depth = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code === QUOTE) {
      index = endOfString(text, index)
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > max) return true
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--
    }
  }
  return false
}

/** The index of the quote that closes the string opening at `start` (the text's end if none does). */
function endOfString (text: string, start: number): number {
  let quote = text.indexOf('"', start + 1)
  while (quote !== -1) {
    let backslashes = 0
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote
    quote = text.indexOf('"', quote + 1)
  }
  return text.length
}

/** Whether a request says it carries a body: any Content-Length but 0, or any Transfer-Encoding. */
function carriesBody (headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0)
}

/** IAL routes are the ones the OpenAPI document describes (tagged): Cycle sends its wrapper with each. */
function takesBody (route: RouteOptions): boolean {
  const schema = route.schema as { body?: unknown, tags?: unknown } | undefined
  return schema?.body !== undefined || schema?.tags !== undefined
}

/**
 * Answer with `Connection: close`, and close only once the refused body has drained (read
 * and dropped, never parsed or kept), the client has gone, or DRAIN_MS have passed. Node
 * would close as soon as the answer is written: the body still arriving would then make the
 * kernel reset the connection, and a reset can wipe the answer before the client reads it.
 */
function closeOnceDrained (request: FastifyRequest, reply: FastifyReply): void {
  reply.header('connection', 'close')
  const socket = reply.raw.socket
  if (socket === null) return
  reply.raw.once('finish', () => {
    // the body has arrived whole after all: Node's own close (destroySoon) is safe
    if (request.raw.complete || socket.destroyed) return
    // Node's close, run just before this, has ended the socket and waits to destroy it
    socket.removeListener('finish', socket.destroy)
    const close = (): void => { socket.destroy() }
    // Node dumps the request once its answer is out: what arrives is let go until it ends
    request.raw.once('end', close)
    const timer = setTimeout(close, DRAIN_MS)
    socket.once('close', () => {
      clearTimeout(timer)
      request.raw.removeListener('end', close)
    })
  })
}

/** What a refusal names: the method and the path, without the query, cut short. */
function targetOf (request: FastifyRequest): string {
  return `${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''}`
}

/** The hook of a route that takes no body (a route's own hooks run after the root's: the security headers and the request context). */
const refuseBody: onRequestHookHandler = (request, _reply, done) => {
  if (carriesBody(request.headers)) done(Errors.bodyNotTaken({ detail: `${targetOf(request)} takes no request body; it was not read` }))
  else done()
}

export const requestBodies = fp(async (app) => {
  // Cycle's Go client sends the {auth, request} wrapper with GET requests too
  app.addHttpMethod('GET', { hasBody: true, overrideExisting: true })

  // a hook only on the routes that take no body: the IAL's pay nothing for it
  app.addHook('onRoute', (route) => {
    if (takesBody(route)) return
    route.onRequest = [...(route.onRequest === undefined ? [] : [route.onRequest].flat()), refuseBody]
  })

  // an unknown path has no route to hook: it is refused here, after the security headers
  // and the request context (registered before this plugin), so that it is answered, logged
  // and counted like any other
  app.addHook('onRequest', (request, _reply, done) => {
    if (carriesBody(request.headers) && request.is404) done(Errors.routeNotFound({ detail: `${targetOf(request)} is not an endpoint of this adapter` }))
    else done()
  })

  // every refusal of a request whose body has not arrived whole: this one, a compressed body,
  // a content type other than JSON, a rate limit, a body over the limit
  app.addHook('onError', (request, reply, _error, done) => {
    if (carriesBody(request.headers) && !request.raw.complete) closeOnceDrained(request, reply)
    done()
  })

  // JSON only: any other type of body (text/plain included) is 415.invalid-content-type
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    if (nestsDeeperThan(text, JSON_DEPTH_MAX)) {
      done(Errors.nestedTooDeeply({ detail: `objects and arrays nest deeper than ${JSON_DEPTH_MAX} levels` }), undefined)
      return
    }
    parseJson(request, text, done)
  })
}, { name: 'request-bodies', fastify: '5.x' })
