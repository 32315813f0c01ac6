/** The simulator's small HTTP toolkit: answers, errors, routes, request bodies, validation. */
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

export interface Answer {
  readonly status: number
  /** undefined sends no body */
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** Thrown by handlers to answer an error; anything else thrown is a 500. */
export class HttpError extends Error {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** fields a route's error answer carries besides the envelope's (the spec's `errors` list) */
  readonly extra: Readonly<Record<string, unknown>>

  constructor (status: number, message: string, headers: Readonly<Record<string, string>> = {}, extra: Readonly<Record<string, unknown>> = {}) {
    super(message)
    this.status = status
    this.headers = headers
    this.extra = extra
  }
}

export const ok = (body?: unknown): Answer => ({ status: 200, body })

/** One error envelope everywhere: the status, its reason phrase, and what was wrong. */
export function errorBody (status: number, message: string): { status: number, error: string, message: string } {
  return { status, error: STATUS_CODES[status] ?? 'Error', message }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message)

/**
 * The 400 of the VLAN and IP block routes the spec's paths files describe (assign, unassign,
 * delete): the envelope plus their `errors: [{name: 'validation_failure', message}]`.
 */
export const validationFailure = (message: string): HttpError => new HttpError(400, message, {}, { errors: [{ name: 'validation_failure', message }] })
export const notFound = (what: string): HttpError => new HttpError(404, `${what} not found`)

/**
 * A compiled validator that answers 400 naming the first offending field. Compiled once per
 * schema because every order and configuration passes through it.
 */
export function validator<S extends TSchema> (schema: S): (value: unknown) => Static<S> {
  const compiled = Compile(schema)
  return (value) => {
    if (compiled.Check(value)) return value as Static<S>
    const first = compiled.Errors(value)[0]
    const where = first === undefined ? '' : `: ${first.instancePath === '' ? 'body' : first.instancePath} ${first.message}`
    throw badRequest(`invalid request body${where}`)
  }
}

export interface RouteContext {
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  /** the parsed JSON body; undefined when there was none */
  readonly body: unknown
  /** the calling organisation; '' on public routes */
  readonly org: string
}

export interface Route {
  readonly method: string
  /** a template: `:name` matches one path segment */
  readonly path: string
  /** public routes need no bearer token */
  readonly public?: boolean
  readonly handle: (context: RouteContext) => Answer | Promise<Answer>
}

interface CompiledRoute {
  readonly route: Route
  readonly pattern: RegExp
  readonly names: readonly string[]
}

export type RouteMatch =
  | { readonly kind: 'found', readonly route: Route, readonly params: Record<string, string> }
  | { readonly kind: 'wrong-method', readonly allowed: readonly string[] }
  | { readonly kind: 'none' }

export class Router {
  private readonly routes: CompiledRoute[]

  constructor (routes: readonly Route[]) {
    this.routes = routes.map((route) => {
      const names: string[] = []
      const source = route.path.split('/').map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.+?^${}()|[\]\\*]/g, '\\$&')
        names.push(segment.slice(1))
        return '([^/]+)'
      }).join('/')
      return { route, pattern: new RegExp(`^${source}$`), names }
    })
  }

  match (method: string, path: string): RouteMatch {
    const allowed: string[] = []
    for (const { route, pattern, names } of this.routes) {
      const found = pattern.exec(path)
      if (found === null) continue
      if (route.method !== method) {
        allowed.push(route.method)
        continue
      }
      const params: Record<string, string> = {}
      for (const [index, name] of names.entries()) {
        const raw = found[index + 1] ?? ''
        try {
          params[name] = decodeURIComponent(raw)
        } catch {
          // a malformed escape cannot name any resource
          return { kind: 'none' }
        }
      }
      return { kind: 'found', route, params }
    }
    return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'none' }
  }
}

/** Reads the whole body as text; a body over the limit is refused without buffering it all. */
export async function readBody (request: IncomingMessage, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > limitBytes) throw new HttpError(413, `request body over ${limitBytes} bytes`)
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function parseJson (text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw badRequest('request body is not valid JSON')
  }
}

export function respond (response: ServerResponse, answer: Answer): void {
  if (response.headersSent || response.destroyed) return
  const text = answer.body === undefined ? '' : JSON.stringify(answer.body)
  const headers: Record<string, string | number> = { ...answer.headers }
  if (text !== '') {
    headers['content-type'] = 'application/json; charset=utf-8'
  }
  headers['content-length'] = Buffer.byteLength(text)
  response.writeHead(answer.status, headers).end(text)
}
