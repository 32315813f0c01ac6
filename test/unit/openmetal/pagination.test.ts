/**
 * Unit tests of src/openmetal/pagination.ts: every list answer is read for any pagination
 * signal (RFC 8288 Link, wrappers, cursors, totals) and followed to its end, only on
 * OpenMetal's own origin and the list's own path; a list that cannot be read whole says why.
 */
import { describe, expect, test } from 'vitest'
import { MAX_ITEMS, MAX_PAGES, nextLink, readAllPages, readPage, type PageRequest } from '../../../src/openmetal/pagination.ts'
import { paginate } from '@cycle-ial-openmetal/openmetal-simulator/paging'

const ORIGIN = 'https://api.openmetal.io'
const FIRST: PageRequest = { path: '/v1/orders', query: {} }

type Headers = Record<string, string | string[] | undefined>

function request (query: Record<string, string>, path = FIRST.path): { kind: 'request', request: PageRequest } {
  return { kind: 'request', request: { path, query } }
}

describe('nextLink (RFC 8288)', () => {
  const url = (page: number): string => `${ORIGIN}/v1/orders?page=${page}&per_page=20`

  test.each<[string, string | undefined, string | undefined]>([
    ['no header', undefined, undefined],
    ['an empty header', '', undefined],
    ['one next link', `<${url(2)}>; rel="next"`, url(2)],
    ['several links, next in the middle', `<${url(1)}>; rel="prev", <${url(3)}>; rel="next", <${url(9)}>; rel="last"`, url(3)],
    ['several links, next last', `<${url(1)}>; rel="first", <${url(9)}>; rel="last", <${url(3)}>; rel="next"`, url(3)],
    ['a rel with several values', `<${url(9)}>; rel="last next"`, url(9)],
    ['a rel with several values, next first', `<${url(4)}>; rel="next last"`, url(4)],
    ['an unquoted rel', `<${url(2)}>; rel=next`, url(2)],
    ['a rel in capitals', `<${url(2)}>; rel="NEXT"`, url(2)],
    ['other parameters before the rel', `<${url(2)}>; title="page two"; rel="next"`, url(2)],
    ['spaces around the parameters', `<${url(2)}> ; rel = "next"`, url(2)],
    ['a relative target', '</v1/orders?page=2>; rel="next"', '/v1/orders?page=2'],
    ['a comma inside the target', `<${ORIGIN}/v1/orders?ids=1,2&page=2>; rel="next"`, `${ORIGIN}/v1/orders?ids=1,2&page=2`],
    ['no next (first, prev, last)', `<${url(1)}>; rel="first", <${url(1)}>; rel="prev", <${url(9)}>; rel="last"`, undefined],
    ['a rel that only starts with next', `<${url(2)}>; rel="nextpage"`, undefined],
    ['next in another parameter than rel', `<${url(2)}>; title="next"`, undefined],
    ['no rel at all', `<${url(2)}>`, undefined]
  ])('%s', (_name, header, expected) => {
    expect(nextLink(header)).toBe(expected)
  })
})

describe('readPage', () => {
  test('a bare array without Link is the whole list', () => {
    expect(readPage([{ id: 1 }, { id: 2 }], {}, FIRST, ORIGIN)).toEqual({ items: [{ id: 1 }, { id: 2 }], next: { kind: 'none' }, total: undefined })
  })

  test('a bare array with a Link next on the same origin and path: its query is the next request', () => {
    const page = readPage([{ id: 1 }], { link: `<${ORIGIN}/v1/orders?page=2&per_page=20>; rel="next", <${ORIGIN}/v1/orders?page=5&per_page=20>; rel="last"` }, FIRST, ORIGIN)
    expect(page?.next).toEqual(request({ page: '2', per_page: '20' }))
  })

  test('a Link header given as several values is read as one', () => {
    const page = readPage([], { link: [`<${ORIGIN}/v1/orders?page=1>; rel="prev"`, `<${ORIGIN}/v1/orders?page=3>; rel="next"`] }, FIRST, ORIGIN)
    expect(page?.next).toEqual(request({ page: '3' }))
  })

  test.each([
    ['a query only', '?page=2'],
    ['a path', '/v1/orders?page=2'],
    ['the default port written out', 'https://api.openmetal.io:443/v1/orders?page=2']
  ])('a relative or equivalent link (%s) is followed', (_name, link) => {
    expect(readPage([], { link: `<${link}>; rel="next"` }, FIRST, ORIGIN)?.next).toEqual(request({ page: '2' }))
  })

  test.each([
    ['another host', 'https://evil.example/v1/orders?page=2', /another origin \(https:\/\/evil\.example\)/],
    ['a scheme-relative link to another host', '//evil.example/v1/orders?page=2', /another origin/],
    ['plain http', 'http://api.openmetal.io/v1/orders?page=2', /another origin/],
    ['another port', 'https://api.openmetal.io:8443/v1/orders?page=2', /another origin/],
    ['a lookalike host', 'https://api.openmetal.io.evil.example/v1/orders?page=2', /another origin/],
    ['credentials in the URL', 'https://user:pass@evil.example/v1/orders', /another origin/],
    ['userinfo that looks like the origin', 'https://api.openmetal.io@evil.example/v1/orders?page=2', /another origin/],
    ['another path', '/v1/clouds?page=2', /leaves the list/],
    ['a path below the list', '/v1/orders/ORD1', /leaves the list/],
    ['a dot-dot path out of the list', '/v1/orders/../clouds?page=2', /leaves the list/],
    ['something that is not a URL', 'http://[not-a-host/v1/orders', /not a URL/]
  ])('a next link to %s is not followed, and says why', (_name, link, reason) => {
    const next = readPage([{ id: 1 }], { link: `<${link}>; rel="next"` }, FIRST, ORIGIN)?.next
    expect(next).toEqual({ kind: 'unfollowable', reason: expect.stringMatching(reason) })
  })

  test('a wrapper\'s links.next is checked the same way', () => {
    expect(readPage({ data: [], links: { next: 'https://evil.example/v1/orders?page=2' } }, {}, FIRST, ORIGIN)?.next).toMatchObject({ kind: 'unfollowable' })
    expect(readPage({ data: [], links: { next: `${ORIGIN}/v1/clouds?page=2` } }, {}, FIRST, ORIGIN)?.next).toMatchObject({ kind: 'unfollowable', reason: expect.stringMatching(/leaves the list/) })
  })

  test.each<[string, unknown, Headers, unknown]>([
    ['links.next as a URL', { data: [1], links: { next: `${ORIGIN}/v1/orders?page=2&per_page=20` } }, {}, request({ page: '2', per_page: '20' })],
    ['links.next null (the last page)', { data: [1], links: { next: null, prev: `${ORIGIN}/v1/orders?page=1` } }, {}, { kind: 'none' }],
    ['links.next null and meta on the last page', { data: [1], links: { next: null }, meta: { current_page: 3, last_page: 3 } }, {}, { kind: 'none' }],
    ['meta.current_page below meta.last_page', { data: [1], meta: { current_page: 1, last_page: 3, per_page: 20 } }, {}, request({ page: '2', per_page: '20' })],
    ['meta.current_page below meta.total_pages, as strings', { data: [1], meta: { current_page: '2', total_pages: '3' } }, {}, request({ page: '3' })],
    ['meta.current_page at meta.last_page', { data: [1], meta: { current_page: 3, last_page: 3 } }, {}, { kind: 'none' }],
    ['meta.next_cursor', { data: [1], meta: { next_cursor: 'eyJpZCI6NDJ9' } }, {}, request({ cursor: 'eyJpZCI6NDJ9' })],
    ['a next cursor in meta.cursor.next', { data: [1], meta: { cursor: { next: 'c2' } } }, {}, request({ cursor: 'c2' })],
    ['a bare cursor in links.next', { data: [1], links: { next: 'c3' } }, {}, request({ cursor: 'c3' })],
    ['next_page in meta', { data: [1], meta: { next_page: 2 } }, {}, request({ page: '2' })],
    ['next_page beside the items', { items: [1], next_page: '4' }, {}, request({ page: '4' })],
    ['a pagination block instead of meta', { results: [1], pagination: { page: 1, total_pages: 2 } }, {}, request({ page: '2' })],
    ['a wrapper that says nothing of a next page', { data: [1] }, {}, { kind: 'none' }],
    ['a Link header over the wrapper\'s own links', { data: [1], links: { next: null } }, { link: `<${ORIGIN}/v1/orders?page=2>; rel="next"` }, request({ page: '2' })]
  ])('a wrapper with %s', (_name, body, headers, next) => {
    expect(readPage(body, headers, FIRST, ORIGIN)?.next).toEqual(next)
  })

  test('a cursor or page keeps the query of the current request', () => {
    const current: PageRequest = { path: '/v1/prefixes', query: { cloud_id: 'CLD9', cursor: 'c1' } }
    expect(readPage({ data: [], meta: { next_cursor: 'c2' } }, {}, current, ORIGIN)?.next).toEqual(request({ cloud_id: 'CLD9', cursor: 'c2' }, '/v1/prefixes'))
  })

  test.each(['data', 'items', 'results'])('the items of a wrapper are under %s', (key) => {
    expect(readPage({ [key]: [{ id: 1 }, { id: 2 }], meta: {} }, {}, FIRST, ORIGIN)?.items).toEqual([{ id: 1 }, { id: 2 }])
  })

  test.each<[string, unknown, Headers, number | undefined]>([
    ['meta.total', { data: [], meta: { total: 42 } }, {}, 42],
    ['meta.total as a string', { data: [], meta: { total: '42' } }, {}, 42],
    ['a total beside the items', { items: [], total: 7 }, {}, 7],
    ['X-Total-Count on a bare array', [], { 'x-total-count': '42' }, 42],
    ['X-Total-Count on a wrapper without a total', { data: [] }, { 'x-total-count': '9' }, 9],
    ['meta.total over X-Total-Count', { data: [], meta: { total: 5 } }, { 'x-total-count': '9' }, 5],
    ['a total that is not a count', { data: [], meta: { total: -1 } }, { 'x-total-count': 'many' }, undefined],
    ['no total', [], {}, undefined]
  ])('the total from %s', (_name, body, headers, total) => {
    expect(readPage(body, headers, FIRST, ORIGIN)?.total).toBe(total)
  })

  test.each<[string, unknown]>([
    ['a single resource', { id: 'ORD1', label: 'x', fields: {} }],
    ['a wrapper whose data is not a list', { data: { id: 1 }, meta: { total: 1 } }],
    ['a string', 'Service Unavailable'],
    ['null', null],
    ['a number', 42]
  ])('%s is not a list', (_name, body) => {
    expect(readPage(body, {}, FIRST, ORIGIN)).toBeUndefined()
  })
})

describe('readAllPages', () => {
  interface Answer { body: unknown, headers: Headers }

  /** A fake OpenMetal: answers each page request with `answer`, recording the requests. */
  function server (answer: (request: PageRequest) => Answer): { fetchPage: (request: PageRequest) => Promise<Answer>, requests: PageRequest[] } {
    const requests: PageRequest[] = []
    return {
      requests,
      fetchPage: async (page) => {
        requests.push(page)
        return answer(page)
      }
    }
  }

  const ITEMS = Array.from({ length: 47 }, (_, index) => ({ id: `ORD${index + 1}` }))

  /** The simulator's paging (link-pages, wrapped-pages drifts) over ITEMS, ten to a page. */
  function simulated (style: { link: boolean, wrapped: boolean }): (request: PageRequest) => Answer {
    return (page) => paginate(ITEMS, { origin: ORIGIN, path: page.path, query: new URLSearchParams(page.query), pageSize: 10 }, style)
  }

  test.each([
    ['Link headers', { link: true, wrapped: false }],
    ['{data, meta, links} wrappers', { link: false, wrapped: true }],
    ['both', { link: true, wrapped: true }]
  ])('follows %s to the end and returns every item once, in order', async (_name, style) => {
    const { fetchPage, requests } = server(simulated(style))
    const listing = await readAllPages(FIRST, ORIGIN, fetchPage)
    expect(listing).toEqual({ items: ITEMS, incomplete: undefined })
    expect(requests).toHaveLength(5)
  })

  test('follows cursors to the end', async () => {
    const pages: Record<string, Answer> = {
      '': { body: { data: [1, 2], meta: { next_cursor: 'b' } }, headers: {} },
      b: { body: { data: [3, 4], meta: { next_cursor: 'c' } }, headers: {} },
      c: { body: { data: [5], meta: { next_cursor: null } }, headers: {} }
    }
    const { fetchPage } = server((page) => pages[page.query.cursor ?? ''] ?? { body: null, headers: {} })
    expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: [1, 2, 3, 4, 5], incomplete: undefined })
  })

  test('a bare array without any signal is one page, whole', async () => {
    const { fetchPage, requests } = server(() => ({ body: [1, 2, 3], headers: {} }))
    expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: [1, 2, 3], incomplete: undefined })
    expect(requests).toEqual([FIRST])
  })

  test(`stops after ${MAX_PAGES} pages, and says the list may hold more`, async () => {
    const { fetchPage, requests } = server((page) => {
      const number = Number(page.query.page ?? '1')
      return { body: [number], headers: { link: `<${ORIGIN}/v1/orders?page=${number + 1}>; rel="next"` } }
    })
    const listing = await readAllPages(FIRST, ORIGIN, fetchPage)
    expect(requests).toHaveLength(MAX_PAGES)
    expect(listing?.items).toEqual(Array.from({ length: MAX_PAGES }, (_, index) => index + 1))
    expect(listing?.incomplete).toMatch(new RegExp(`past ${MAX_PAGES} pages`))
  })

  test('notices a next link back at a page already read', async () => {
    const { fetchPage, requests } = server((page) => page.query.page === '2'
      ? { body: [2], headers: { link: `<${ORIGIN}/v1/orders?page=1>; rel="next"` } }
      : { body: [1], headers: { link: `<${ORIGIN}/v1/orders?page=2>; rel="next"` } })
    const listing = await readAllPages({ path: '/v1/orders', query: { page: '1' } }, ORIGIN, fetchPage)
    expect(listing).toEqual({ items: [1, 2], incomplete: expect.stringMatching(/points back at a page already read/) })
    expect(requests).toHaveLength(2)
  })

  test('notices a page that links to itself, whatever the order of its query', async () => {
    const { fetchPage, requests } = server(() => ({ body: { data: [1], links: { next: `${ORIGIN}/v1/orders?per_page=20&page=1` } }, headers: {} }))
    const listing = await readAllPages({ path: '/v1/orders', query: { page: '1', per_page: '20' } }, ORIGIN, fetchPage)
    expect(listing?.incomplete).toMatch(/already read/)
    expect(requests).toHaveLength(1)
  })

  test('reports a list shorter than its announced total', async () => {
    const { fetchPage } = server((page) => page.query.page === '2'
      ? { body: { data: [3], meta: { current_page: 2, last_page: 2, total: 5 } }, headers: {} }
      : { body: { data: [1, 2], meta: { current_page: 1, last_page: 2, total: 5 } }, headers: {} })
    expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: [1, 2, 3], incomplete: 'OpenMetal announced 5 items and the pages held 3' })
  })

  test('a total announced only on the first page still counts', async () => {
    const { fetchPage } = server((page) => page.query.page === '2'
      ? { body: [3], headers: {} }
      : { body: [1, 2], headers: { 'x-total-count': '4', link: `<${ORIGIN}/v1/orders?page=2>; rel="next"` } })
    expect((await readAllPages(FIRST, ORIGIN, fetchPage))?.incomplete).toMatch(/announced 4 items and the pages held 3/)
  })

  test('a list that reaches its total is whole', async () => {
    const { fetchPage } = server(() => ({ body: [1, 2, 3], headers: { 'x-total-count': '3' } }))
    expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: [1, 2, 3], incomplete: undefined })
  })

  test('a next page it may not follow ends the list with the items so far, and why', async () => {
    const { fetchPage, requests } = server(() => ({ body: [1, 2], headers: { link: '<https://evil.example/v1/orders?page=2>; rel="next"' } }))
    expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: [1, 2], incomplete: expect.stringMatching(/another origin/) })
    expect(requests).toHaveLength(1)
  })

  test('an answer that is not a list, first or later, is undefined', async () => {
    expect(await readAllPages(FIRST, ORIGIN, server(() => ({ body: { id: 'ORD1' }, headers: {} })).fetchPage)).toBeUndefined()
    const { fetchPage } = server((page) => page.query.page === '2'
      ? { body: 'Internal error', headers: {} }
      : { body: [1], headers: { link: `<${ORIGIN}/v1/orders?page=2>; rel="next"` } })
    expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toBeUndefined()
  })

  describe(`at most ${MAX_ITEMS} items`, () => {
    const many = (count: number, from = 0): number[] => Array.from({ length: count }, (_, index) => from + index)

    test('a page of 300,000 items is no stack overflow: the list is cut, and says so', async () => {
      const { fetchPage, requests } = server(() => ({ body: { data: many(300_000) }, headers: {} }))
      const listing = await readAllPages(FIRST, ORIGIN, fetchPage)
      expect(listing?.items).toHaveLength(MAX_ITEMS)
      expect(listing?.items.at(-1)).toBe(MAX_ITEMS - 1)
      expect(listing?.incomplete).toBe(`the list holds more than ${MAX_ITEMS} items`)
      expect(requests).toHaveLength(1)
    })

    test('pages that together pass the bound stop there, without the next page being asked for', async () => {
      const size = 3000
      const { fetchPage, requests } = server((page) => {
        const number = Number(page.query.page ?? '1')
        return { body: many(size, (number - 1) * size), headers: { link: `<${ORIGIN}/v1/orders?page=${number + 1}>; rel="next"` } }
      })
      const listing = await readAllPages(FIRST, ORIGIN, fetchPage)
      expect(listing?.items).toEqual(many(MAX_ITEMS))
      expect(listing?.incomplete).toMatch(/more than/)
      expect(requests).toHaveLength(Math.ceil(MAX_ITEMS / size))
    })

    test(`exactly ${MAX_ITEMS} items over several pages are a whole list`, async () => {
      const { fetchPage } = server((page) => page.query.page === '2'
        ? { body: many(MAX_ITEMS / 2, MAX_ITEMS / 2), headers: {} }
        : { body: many(MAX_ITEMS / 2), headers: { link: `<${ORIGIN}/v1/orders?page=2>; rel="next"` } })
      expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: many(MAX_ITEMS), incomplete: undefined })
    })

    test('a total announced above the bound ends the list at the first page', async () => {
      const { fetchPage, requests } = server(() => ({ body: { data: [1, 2], meta: { total: MAX_ITEMS + 1, current_page: 1, last_page: 9999 } }, headers: {} }))
      expect(await readAllPages(FIRST, ORIGIN, fetchPage)).toEqual({ items: [1, 2], incomplete: `the list holds more than ${MAX_ITEMS} items` })
      expect(requests).toHaveLength(1)
    })
  })
})
