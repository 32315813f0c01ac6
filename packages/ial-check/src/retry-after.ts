/**
 * An adapter's Retry-After header, in whole seconds from now: RFC 9110 allows a number of
 * seconds or an HTTP date. ial-check reads it the way a careful client would; it keeps its
 * own copy so that the package depends on no adapter's code.
 */
export function retryAfterSeconds (header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (typeof header === 'string' ? header : header?.[0])?.trim() ?? ''
  if (value === '') return undefined
  if (/^[0-9]+$/.test(value)) return Number.parseInt(value, 10)
  // an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") or an obsolete form: all name a month
  if (!/\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\b/i.test(value)) return undefined
  const at = new Date(value).getTime()
  if (Number.isNaN(at)) return undefined
  return Math.max(0, Math.ceil((at - now) / 1000))
}
