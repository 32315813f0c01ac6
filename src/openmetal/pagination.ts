/**
 * Whole lists. OpenMetal documents no pagination, so every list answer is read for any of
 * the usual signals and followed to the end (docs/TOLERANCE.md):
 *
 * - an RFC 8288 `Link` header with `rel="next"`;
 * - a `{data|items|results: [...], links: {next}, meta: {...}}` wrapper, whose next page is
 *   `links.next`, a `next` URL or cursor, `meta.next_cursor`/`next_page`, or
 *   `meta.current_page` below `meta.last_page`/`total_pages`;
 * - a total (`meta.total`, `total`, `X-Total-Count`) that the items read must reach.
 *
 * A next page is followed only on the configured origin and the same path: a link elsewhere
 * would carry the tenant's credentials to whoever wrote it. When completeness cannot be
 * established, the list says why (`incomplete`); whoever would buy on it must refuse.
 * Pure: the client fetches, this reads.
 */

export interface PageRequest {
  readonly path: string
  readonly query: Readonly<Record<string, string>>
}

export type NextPage =
  | { readonly kind: 'none' }
  | { readonly kind: 'request', readonly request: PageRequest }
  | { readonly kind: 'unfollowable', readonly reason: string }

export interface Page {
  readonly items: readonly unknown[]
  readonly next: NextPage
  /** how many items the whole list holds, when OpenMetal says so */
  readonly total: number | undefined
}

/** Pages read at most for one list, whatever the answers say. */
export const MAX_PAGES = 50

/**
 * Items kept at most for one list, all pages together. An organisation's orders, clouds or IP
 * blocks run to hundreds; a list past this is cut here and said to be incomplete (nothing is
 * bought on it) rather than held whole, however small its items are.
 */
export const MAX_ITEMS = 10_000

type Headers = Readonly<Record<string, string | string[] | undefined>>

const ITEM_KEYS = ['data', 'items', 'results'] as const

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function header (headers: Headers, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

function count (value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined
}

/** The target of `rel="next"` in an RFC 8288 Link header. */
export function nextLink (value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  for (const match of value.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]*)*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(match[2] ?? '')
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
    if (relations.includes('next')) return match[1]
  }
  return undefined
}

function followLink (link: string, current: PageRequest, origin: string): NextPage {
  let url: URL
  try {
    url = new URL(link, `${origin}${current.path}`)
  } catch {
    return { kind: 'unfollowable', reason: 'the next page link is not a URL' }
  }
  if (url.origin !== origin) return { kind: 'unfollowable', reason: `the next page link points at another origin (${url.origin.slice(0, 100)})` }
  if (url.pathname !== current.path) return { kind: 'unfollowable', reason: 'the next page link leaves the list' }
  return { kind: 'request', request: { path: url.pathname, query: Object.fromEntries(url.searchParams) } }
}

function withQuery (current: PageRequest, extra: Record<string, string>): NextPage {
  return { kind: 'request', request: { path: current.path, query: { ...current.query, ...extra } } }
}

/** The next page a wrapped answer points at, if it says anything about one. */
function nextOfWrapper (body: Record<string, unknown>, current: PageRequest, origin: string): NextPage | undefined {
  const links = isRecord(body.links) ? body.links : {}
  const meta = isRecord(body.meta) ? body.meta : isRecord(body.pagination) ? body.pagination : {}
  const link = [links.next, meta.next, body.next].find((value) => typeof value === 'string' && value !== '')
  if (typeof link === 'string') return /^(https?:)?\/\//i.test(link) || link.startsWith('/') || link.startsWith('?') ? followLink(link, current, origin) : withQuery(current, { cursor: link })
  const cursor = [meta.next_cursor, body.next_cursor, isRecord(meta.cursor) ? meta.cursor.next : meta.cursor].find((value) => typeof value === 'string' && value !== '')
  if (typeof cursor === 'string') return withQuery(current, { cursor })
  const nextPage = count(meta.next_page ?? body.next_page)
  if (nextPage !== undefined) return withQuery(current, { page: String(nextPage) })
  const page = count(meta.current_page ?? meta.page ?? body.page)
  const last = count(meta.last_page ?? meta.total_pages ?? meta.pages ?? body.last_page ?? body.total_pages)
  if (page !== undefined && last !== undefined) return page < last ? withQuery(current, { page: String(page + 1), ...perPage(meta) }) : { kind: 'none' }
  // a wrapper that names a next page but gives nothing to follow (`links.next: null` is "no more")
  return undefined
}

function perPage (meta: Record<string, unknown>): Record<string, string> {
  const size = count(meta.per_page ?? meta.page_size ?? meta.limit)
  return size === undefined ? {} : { per_page: String(size) }
}

/**
 * One page of a list answer; `undefined` when the answer is not a list at all. `origin` is
 * the configured OpenMetal origin, `current` the request that fetched this page.
 */
export function readPage (body: unknown, headers: Headers, current: PageRequest, origin: string): Page | undefined {
  const linked = nextLink(header(headers, 'link'))
  const headerTotal = count(header(headers, 'x-total-count'))
  if (Array.isArray(body)) {
    return { items: body, next: linked === undefined ? { kind: 'none' } : followLink(linked, current, origin), total: headerTotal }
  }
  if (!isRecord(body)) return undefined
  const key = ITEM_KEYS.find((name) => Array.isArray(body[name]))
  if (key === undefined) return undefined
  const meta = isRecord(body.meta) ? body.meta : {}
  const next = linked === undefined ? nextOfWrapper(body, current, origin) ?? { kind: 'none' } : followLink(linked, current, origin)
  return { items: body[key] as unknown[], next, total: count(meta.total ?? body.total) ?? headerTotal }
}

/** A list read to its end, or as far as it could be read and why it stopped. */
export interface Listing<T> {
  readonly items: T[]
  /** why the list may hold more than `items`; undefined when it is known to be whole */
  readonly incomplete: string | undefined
}

/**
 * Fetches every page, starting with `first`: follows the next page while there is one, up
 * to `MAX_PAGES` pages and `MAX_ITEMS` items (or an announced total above it), and notices
 * loops and lists shorter than their announced total.
 */
export async function readAllPages (first: PageRequest, origin: string, fetchPage: (request: PageRequest) => Promise<{ body: unknown, headers: Headers }>): Promise<Listing<unknown> | undefined> {
  const items: unknown[] = []
  const seen = new Set<string>()
  let request = first
  let total: number | undefined
  for (let pages = 1; ; pages++) {
    seen.add(keyOf(request))
    const answer = await fetchPage(request)
    const page = readPage(answer.body, answer.headers, request, origin)
    if (page === undefined) return undefined
    total = page.total ?? total
    const room = MAX_ITEMS - items.length
    // one by one: a page spread into push's arguments overflows the stack (300,000 items did)
    for (const item of page.items.length > room ? page.items.slice(0, room) : page.items) items.push(item)
    if (page.items.length > room || (total !== undefined && total > MAX_ITEMS)) return { items, incomplete: `the list holds more than ${MAX_ITEMS} items` }
    if (page.next.kind === 'unfollowable') return { items, incomplete: page.next.reason }
    if (page.next.kind === 'none') {
      const short = total !== undefined && items.length < total
      return { items, incomplete: short ? `OpenMetal announced ${total} items and the pages held ${items.length}` : undefined }
    }
    if (pages >= MAX_PAGES) return { items, incomplete: `the list runs past ${MAX_PAGES} pages` }
    if (seen.has(keyOf(page.next.request))) return { items, incomplete: 'the next page link points back at a page already read' }
    request = page.next.request
  }
}

function keyOf (request: PageRequest): string {
  return `${request.path}?${new URLSearchParams(Object.entries(request.query).sort(([a], [b]) => a.localeCompare(b))).toString()}`
}
