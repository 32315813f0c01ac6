/**
 * Paged lists, for the link-pages and wrapped-pages drifts: `?page=N` (1-based) and
 * `per_page` (capped at the page size), an RFC 8288 Link header with absolute URLs on the
 * simulator's own origin (GitHub's rels: prev, next, last, first, each where it applies),
 * and/or a Laravel-style body `{ data, meta, links }`.
 */

export interface PageRequest {
  readonly origin: string
  readonly path: string
  readonly query: URLSearchParams
  readonly pageSize: number
}

function positive (raw: string | null): number | undefined {
  if (raw === null || !/^\d+$/.test(raw)) return undefined
  const value = Number(raw)
  return value >= 1 ? value : undefined
}

export function paginate (items: readonly unknown[], request: PageRequest, style: { link: boolean, wrapped: boolean }): { body: unknown, headers: Record<string, string> } {
  const perPage = Math.min(positive(request.query.get('per_page')) ?? request.pageSize, request.pageSize)
  const page = positive(request.query.get('page')) ?? 1
  const total = items.length
  const last = Math.max(1, Math.ceil(total / perPage))
  const data = items.slice((page - 1) * perPage, page * perPage)
  const url = (target: number): string => {
    const query = new URLSearchParams({ page: String(target), per_page: String(perPage) })
    for (const [name, value] of request.query) if (name !== 'page' && name !== 'per_page') query.append(name, value)
    return `${request.origin}${request.path}?${query.toString()}`
  }
  const prev = page > 1 ? url(Math.min(page - 1, last)) : null
  const next = page < last ? url(page + 1) : null
  const rels: Array<[string, string | null]> = [['prev', prev], ['next', next], ['last', page < last ? url(last) : null], ['first', page > 1 ? url(1) : null]]
  const link = rels.flatMap(([rel, target]) => target === null ? [] : [`<${target}>; rel="${rel}"`]).join(', ')
  const headers: Record<string, string> = style.link && link !== '' ? { link } : {}
  if (!style.wrapped) return { body: data, headers }
  return {
    body: {
      data,
      meta: { current_page: page, last_page: last, per_page: perPage, total },
      links: { first: url(1), last: url(last), prev, next }
    },
    headers
  }
}
