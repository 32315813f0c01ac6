/**
 * Spec drift: what the live OpenMetal API answered that the pinned spec does not say.
 *
 * `SpecDriftRecorder.observe` is an `AnswerObserver` (pass it as `clientOptions.onAnswer`):
 * it sees every answer the client receives and compares each success (status < 400) with the
 * generated schema of its operation (`ANSWER_SCHEMAS`). It notes, each at a JSON path:
 * fields the schema does not declare, `null` where it is not allowed, enum values the pinned
 * spec does not list (also the enums the corrections widened to plain strings, which keep
 * the spec's values as `x-spec-enum`), type and shape differences (a numeric string where an
 * integer is declared, an object where an array is), an address with a prefix length where
 * a plain address is documented, required fields that are absent, lists wrapped in
 * `{data, meta, links}`, and pagination signals in headers (`Link`, `X-Total-Count`, ...)
 * and bodies (`next`, `cursor`, `meta.last_page`, ...). Error answers are only counted.
 *
 * Paths: `$` is the body, `[]` any list item, `{}` any key of a map keyed by data (pods,
 * SKUs). The same finding on 40 items is one finding with a count; the text (`format`) also
 * prints the same finding on many paths (a field the API adds to every object) as one
 * `*.field` line, while `report()` keeps every path.
 *
 * What it keeps is safe to print: no header value except those of pagination headers, no
 * string from a body except an unlisted enum value (at most 40 characters). Tokens, secrets,
 * labels and addresses never reach the report.
 */
import { Type } from 'typebox'
import type { TSchema } from 'typebox'
import * as OM from '../../src/generated/openmetal.ts'
import type { AnswerObserver } from '../../src/openmetal/transport.ts'
import type { Operation } from '../../src/openmetal/operations.ts'

/** The generated schema of each operation's success answer; `null`: no body is documented. Every operation is placed. */
export const ANSWER_SCHEMAS: Readonly<Record<Operation, TSchema | null>> = {
  exchangeToken: OM.OAuthTokenResponse,
  getAccountProfile: OM.AccountProfile,
  getLocations: OM.Locations,
  probe: OM.Locations,
  getProducts: OM.ProductCatalog,
  getAvailability: OM.InventoryAvailability,
  listOrders: Type.Array(OM.OrderCollection),
  getOrder: OM.GetOrder,
  createOrder: OM.GetOrder,
  listClouds: Type.Array(OM.Cloud),
  getCloud: OM.Cloud,
  getCloudStats: OM.CloudStats,
  setPowerState: OM.PowerStateResponse,
  listPrefixes: Type.Array(OM.PrefixResource),
  getPrefixAddresses: OM.PrefixDetailed,
  createIpAddress: OM.IpAddress,
  listConfigurations: Type.Array(OM.ImageConfiguration),
  getConfiguration: OM.ImageConfiguration,
  createConfiguration: OM.ImageConfiguration,
  updateConfiguration: OM.ImageConfiguration,
  listVlans: Type.Array(OM.VlanResource),
  createPrefix: OM.PrefixResource,
  assignPrefix: null,
  unassignPrefix: null,
  deletePrefix: null,
  deleteCloud: null,
  deleteIpAddress: null
}

export type DriftKind = 'extra' | 'null' | 'enum' | 'type' | 'format' | 'missing' | 'wrapped' | 'pagination' | 'rate-limit' | 'shape' | 'body'

export interface DriftFinding {
  readonly kind: DriftKind
  /** `$.locations{}.release_status`, `$.data[].id`, or `header Link` */
  readonly path: string
  readonly message: string
  /** how often it was seen (list items, map entries, answers) */
  readonly count: number
  /** what was seen with a pagination signal (at most 6): numbers, `Link` rels, or the kind of value (`a URL`) */
  readonly seen?: readonly (string | number)[]
}

export interface OperationDrift {
  readonly operation: string
  /** success answers by status */
  readonly answers: Readonly<Record<string, number>>
  /** error answers (not compared) by status */
  readonly errors: Readonly<Record<string, number>>
  readonly findings: readonly DriftFinding[]
}

export interface SpecDriftReport {
  readonly answers: number
  /** findings in all operations (distinct lines, not occurrences) */
  readonly findings: number
  readonly operations: readonly OperationDrift[]
}

const ENUM_VALUE_MAX = 40
const KEY_MAX = 40
/** more undeclared keys than this in one object: a map keyed by data, reported once */
const MAP_THRESHOLD = 16
const MAX_DEPTH = 64
const SEEN_MAX = 6
/** the same finding on more distinct paths than this (the same extra field everywhere) prints as one line */
const GROUP_MIN = 4

const WRAPPED_ITEMS = ['data', 'items', 'results', 'records']
const PAGINATION_KEYS = new Set(['next', 'next_page', 'next_page_url', 'next_url', 'next_cursor', 'cursor', 'prev', 'previous', 'prev_page_url', 'page', 'per_page', 'page_size', 'current_page', 'last_page', 'total', 'total_count', 'total_pages', 'has_more', 'offset', 'limit', 'links', 'meta', 'pagination', '_links'])
/** containers whose every key is a pagination signal, and link containers, where only the page relations are */
const PAGINATION_CONTAINERS = new Set(['meta', 'pagination'])
const LINK_CONTAINERS = new Set(['links', '_links'])
const PAGE_RELATIONS = new Set(['next', 'prev', 'previous', 'first', 'last'])
const RATE_LIMIT_HEADER = /^(x-)?rate-?limit/
const PAGINATION_HEADER = /^(link|x-[\w-]*(total|page|cursor|next|prev|offset|has-more|pagination)[\w-]*)$/
/** properties documented as a plain address (the spec's `format: ipv4`); the create-IP answer may carry CIDR */
const ADDRESS_KEYS = new Set(['ip', 'ipaddress', 'ip_address', 'address', 'gateway'])
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/
const NUMERIC = /^-?\d+(\.\d+)?$/

type Json = Record<string, unknown>

function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function truncate (text: string): string {
  return text.length > ENUM_VALUE_MAX ? `${text.slice(0, ENUM_VALUE_MAX - 1)}…` : text
}

/** A key as a path segment: field names are printed, anything that does not look like one is not. */
function segment (key: string): string {
  return /^[\w$-]+$/.test(key) && key.length <= KEY_MAX ? `.${key}` : '{}'
}

/** What a value is, in words, without its content. */
function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string': return NUMERIC.test(value.trim()) ? 'a numeric string' : value === 'true' || value === 'false' ? 'a boolean string' : 'a string'
    case 'number': return Number.isInteger(value) ? 'an integer' : 'a number'
    case 'boolean': return 'a boolean'
    case 'object': return 'an object'
    default: return typeof value
  }
}

/** The shape of an answer nobody has a schema for: types and field names only. */
function shapeOf (value: unknown, depth = 0): string {
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${shapeOf(value[0], depth + 1)}`
  if (isObject(value)) {
    const keys = Object.keys(value)
    if (keys.length === 0) return 'an empty object'
    if (depth > 0 || keys.length > MAP_THRESHOLD) return `an object (${keys.length} keys)`
    return `an object {${keys.map((key) => segment(key).replace(/^\./, '')).join(', ')}}`
  }
  return describe(value)
}

function variants (schema: Json): Json[] {
  return Array.isArray(schema.anyOf) ? schema.anyOf.filter(isObject) : [schema]
}

function expected (schema: Json): string {
  const names = variants(schema).map((variant) => {
    if (Array.isArray(variant.enum)) return 'an enum value'
    if (variant.const !== undefined) return 'a constant'
    switch (variant.type) {
      case 'integer': return 'an integer'
      case 'array': return 'an array'
      case 'object': return 'an object'
      case undefined: return 'any value'
      default: return `a ${String(variant.type)}`
    }
  })
  return [...new Set(names)].join(' or ')
}

function accepts (variant: Json, value: unknown): boolean {
  if (Array.isArray(variant.enum)) return variant.enum.some((member) => typeof member === typeof value)
  if (variant.const !== undefined) return typeof variant.const === typeof value
  switch (variant.type) {
    case undefined: return true
    case 'null': return value === null
    case 'integer':
    case 'number': return typeof value === 'number'
    case 'string': return typeof value === 'string'
    case 'boolean': return typeof value === 'boolean'
    case 'array': return Array.isArray(value)
    case 'object': return isObject(value)
    default: return false
  }
}

function listed (values: readonly unknown[]): string {
  const text = values.map(String).join(', ')
  return text.length > 80 ? `${text.slice(0, 79)}…` : text
}

/** Canonical header name for the report: `x-total-count` -> `X-Total-Count`. */
function headerName (name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-')
}

/** A pagination header's value, reduced to what is safe and useful: the rels and query parameter names of Link, numbers otherwise. */
function paginationValue (name: string, raw: string): { message: string, seen: Array<string | number> } {
  if (name === 'link') {
    const rels: string[] = []
    const params = new Set<string>()
    for (const match of raw.matchAll(/<([^>]*)>\s*;([^,]*)/g)) {
      const rel = /rel="?([\w\s-]+)"?/.exec(match[2] ?? '')?.[1]?.trim()
      if (rel !== undefined && /^[\w\s-]{1,20}$/.test(rel)) rels.push(rel)
      const query = (match[1] ?? '').split('?')[1] ?? ''
      for (const pair of query.split('&')) {
        const key = (pair.split('=')[0] ?? '').replace(/[^\w[\]-]/g, '').slice(0, KEY_MAX)
        if (key !== '') params.add(key)
      }
    }
    return { message: params.size === 0 ? 'pagination header' : `pagination header (query ${[...params].join(', ')})`, seen: rels }
  }
  const trimmed = raw.trim()
  return { message: 'pagination header', seen: [/^\d+$/.test(trimmed) ? Number(trimmed) : `an opaque value (${trimmed.length} characters)`] }
}

interface Entry {
  kind: DriftKind
  path: string
  message: string
  count: number
  seen: Array<string | number>
}

class OperationLog {
  readonly answers = new Map<number, number>()
  readonly errors = new Map<number, number>()
  readonly entries = new Map<string, Entry>()

  note (kind: DriftKind, path: string, message: string, seen: ReadonlyArray<string | number> = []): void {
    const key = `${kind}\u0000${path}\u0000${message}`
    let entry = this.entries.get(key)
    if (entry === undefined) {
      entry = { kind, path, message, count: 0, seen: [] }
      this.entries.set(key, entry)
    }
    entry.count++
    for (const value of seen) if (entry.seen.length < SEEN_MAX && !entry.seen.includes(value)) entry.seen.push(value)
  }
}

/** Compares one body with its schema, noting every deviation in `log`. */
class Comparison {
  private readonly log: OperationLog

  constructor (log: OperationLog) {
    this.log = log
  }

  value (value: unknown, schema: Json, path: string, key: string | undefined, depth: number): void {
    if (depth > MAX_DEPTH) return
    const options = variants(schema)
    if (options.some((variant) => variant.type === undefined && variant.enum === undefined && variant.const === undefined && variant.anyOf === undefined)) return
    if (value === null) {
      if (!options.some((variant) => variant.type === 'null')) this.log.note('null', path, `null where the spec does not allow it (${expected(schema)} is declared)`)
      return
    }
    const variant = options.find((option) => option.type !== 'null' && accepts(option, value))
    if (variant === undefined) {
      const list = options.find((option) => option.type === 'array')
      if (list !== undefined && isObject(value)) this.wrapped(value, list, path, depth)
      else this.log.note('type', path, `${describe(value)} where ${expected(schema)} is declared`)
      return
    }
    if (Array.isArray(variant.enum) || variant.const !== undefined) {
      const members = Array.isArray(variant.enum) ? variant.enum : [variant.const]
      if (!members.includes(value)) this.unlisted(value, members, path)
      return
    }
    switch (variant.type) {
      case 'integer':
        if (!Number.isInteger(value)) this.log.note('type', path, 'a number with a fraction where an integer is declared')
        return
      case 'string': {
        const text = value as string
        const specEnum = variant['x-spec-enum']
        if (Array.isArray(specEnum) && !specEnum.includes(text)) this.unlisted(text, specEnum, path)
        if (key !== undefined && ADDRESS_KEYS.has(key) && CIDR.test(text)) this.log.note('format', path, 'an address with a prefix length (a.b.c.d/nn) where a plain address is documented')
        return
      }
      case 'array': {
        const items = isObject(variant.items) ? variant.items : {}
        for (const item of value as unknown[]) this.value(item, items, `${path}[]`, undefined, depth + 1)
        return
      }
      case 'object':
        this.object(value as Json, variant, path, depth)
        break
      default:
    }
  }

  /** An enum value the pinned spec does not list (the value is kept, truncated: enum values are not secrets). */
  private unlisted (value: unknown, members: readonly unknown[], path: string): void {
    const shown = typeof value === 'string' ? JSON.stringify(truncate(value)) : String(value)
    this.log.note('enum', path, `value ${shown} the spec does not list (it lists: ${listed(members)})`)
  }

  private object (value: Json, schema: Json, path: string, depth: number): void {
    const properties = isObject(schema.properties) ? schema.properties : {}
    const patterns = isObject(schema.patternProperties) ? Object.values(schema.patternProperties).filter(isObject) : []
    const additional = schema.additionalProperties
    const map = patterns[0] ?? (isObject(additional) ? additional : undefined)
    const undeclared: string[] = []
    for (const [key, child] of Object.entries(value)) {
      const declared = Object.hasOwn(properties, key) ? properties[key] : undefined
      if (isObject(declared)) this.value(child, declared, `${path}${segment(key)}`, key, depth + 1)
      else if (map !== undefined) this.value(child, map, `${path}{}`, undefined, depth + 1)
      else if (additional !== true) undeclared.push(key)
    }
    const absent = (Array.isArray(schema.required) ? schema.required : []).filter((key): key is string => typeof key === 'string' && !Object.hasOwn(value, key))
    // an object that lacks most of its fields is one finding, not one per field
    if (absent.length > 2) this.log.note('missing', path, `required by the spec, absent: ${absent.join(', ')}`)
    else for (const key of absent) this.log.note('missing', `${path}${segment(key)}`, 'required by the spec, absent')
    if (undeclared.length > MAP_THRESHOLD) {
      this.log.note('extra', `${path}{}`, `${undeclared.length} keys the spec does not declare (a map keyed by data?)`)
      return
    }
    for (const key of undeclared) {
      if (path === '$' && PAGINATION_KEYS.has(key)) this.pagination(key, value[key], path)
      else this.log.note('extra', `${path}${segment(key)}`, `not in the spec (${describe(value[key])})`)
    }
  }

  /** An object where a list is declared: a wrapped list when it carries one. */
  private wrapped (value: Json, list: Json, path: string, depth: number): void {
    const member = WRAPPED_ITEMS.find((key) => Array.isArray(value[key]))
    if (member === undefined) {
      this.log.note('type', path, `an object {${Object.keys(value).map((key) => segment(key).replace(/^\./, '')).join(', ')}} where an array is declared`)
      return
    }
    this.log.note('wrapped', path, `a list wrapped in {${Object.keys(value).map((key) => segment(key).replace(/^\./, '')).join(', ')}} where a bare array is declared`)
    const items = isObject(list.items) ? list.items : {}
    for (const item of value[member] as unknown[]) this.value(item, items, `${path}.${member}[]`, undefined, depth + 1)
    for (const [key, child] of Object.entries(value)) {
      if (key === member) continue
      if (PAGINATION_KEYS.has(key)) this.pagination(key, child, path)
      else this.log.note('extra', `${path}${segment(key)}`, `not in the spec, next to the wrapped list (${describe(child)})`)
    }
  }

  /** A pagination signal in a body: a number is kept, a string only described. */
  pagination (key: string, value: unknown, path: string): void {
    const at = `${path}${segment(key)}`
    if ((PAGINATION_CONTAINERS.has(key) || LINK_CONTAINERS.has(key)) && isObject(value)) {
      for (const [inner, child] of Object.entries(value)) {
        if (LINK_CONTAINERS.has(key) && !PAGE_RELATIONS.has(inner)) this.log.note('extra', `${at}${segment(inner)}`, `not in the spec (${describe(child)})`)
        else this.pagination(inner, child, at)
      }
      return
    }
    const what = typeof value === 'number' ? value : typeof value === 'string' && /^(https?:\/)?\//.test(value) ? 'a URL' : describe(value)
    this.log.note('pagination', at, 'pagination in the body', [what])
  }
}

/** Records spec drift from the answers it is shown; `observe` is bound and never throws. */
export class SpecDriftRecorder {
  private readonly logs = new Map<string, OperationLog>()
  private readonly schemas: Readonly<Record<string, TSchema | null>>
  private total = 0

  constructor (schemas: Readonly<Record<string, TSchema | null>> = ANSWER_SCHEMAS) {
    this.schemas = schemas
  }

  readonly observe: AnswerObserver = (operation, answer) => {
    try {
      this.record(operation, answer)
    } catch {
      // the observer runs inside the transport: a report that misses an answer beats a call that fails
    }
  }

  private record (operation: string, answer: Parameters<AnswerObserver>[1]): void {
    this.total++
    let log = this.logs.get(operation)
    if (log === undefined) {
      log = new OperationLog()
      this.logs.set(operation, log)
    }
    const tally = answer.status >= 400 ? log.errors : log.answers
    tally.set(answer.status, (tally.get(answer.status) ?? 0) + 1)
    if (answer.status >= 400) return
    this.headers(log, answer.headers)
    const comparison = new Comparison(log)
    const schema = Object.hasOwn(this.schemas, operation) ? this.schemas[operation] : undefined
    if (schema === undefined) {
      log.note('shape', '$', `no schema known for this operation; the answer is ${shapeOf(answer.body)}`)
      if (isObject(answer.body)) {
        for (const [key, child] of Object.entries(answer.body)) if (PAGINATION_KEYS.has(key)) comparison.pagination(key, child, '$')
      }
    } else if (schema === null) {
      if (answer.body !== null) log.note('body', '$', `a body where none is documented: ${shapeOf(answer.body)}`)
    } else {
      comparison.value(answer.body, schema as unknown as Json, '$', undefined, 0)
    }
  }

  private headers (log: OperationLog, headers: Readonly<Record<string, string | string[] | undefined>>): void {
    for (const [raw, value] of Object.entries(headers)) {
      const name = raw.toLowerCase()
      if (value === undefined) continue
      if (RATE_LIMIT_HEADER.test(name)) {
        log.note('rate-limit', `header ${headerName(name)}`, 'rate-limit header')
      } else if (PAGINATION_HEADER.test(name)) {
        const { message, seen } = paginationValue(name, Array.isArray(value) ? value.join(', ') : value)
        log.note('pagination', `header ${headerName(name)}`, message, seen)
      }
    }
  }

  report (): SpecDriftReport {
    const operations = [...this.logs].map(([operation, log]): OperationDrift => ({
      operation,
      answers: Object.fromEntries([...log.answers].sort(([a], [b]) => a - b)),
      errors: Object.fromEntries([...log.errors].sort(([a], [b]) => a - b)),
      findings: [...log.entries.values()].map((entry) => ({
        kind: entry.kind,
        path: entry.path,
        message: entry.message,
        count: entry.count,
        ...(entry.seen.length === 0 ? {} : { seen: [...entry.seen] })
      }))
    }))
    return { answers: this.total, findings: operations.reduce((sum, operation) => sum + operation.findings.length, 0), operations }
  }

  /** The report for people: one block per operation with findings, one line per finding. */
  format (): string {
    return formatDrift(this.report())
  }
}

function tally (counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).map(([status, count]) => count === 1 ? status : `${status} ×${count}`).join(', ')
}

interface Line { path: string, text: string, count: number }

/**
 * One line per finding, except that the same finding on many paths that end in the same
 * key (an extra field the API adds to every object) is one line, `*.key ... at N paths`.
 */
function lines (findings: readonly DriftFinding[]): Line[] {
  const leaf = (finding: DriftFinding): string | undefined => finding.path.startsWith('$') ? `${finding.kind}\u0000${finding.message}\u0000${finding.path.slice(finding.path.lastIndexOf('.') + 1)}` : undefined
  const groups = new Map<string, DriftFinding[]>()
  for (const finding of findings) {
    const key = leaf(finding)
    if (key === undefined) continue
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [finding])
    else group.push(finding)
  }
  const out: Line[] = []
  const done = new Set<string>()
  for (const finding of findings) {
    const key = leaf(finding)
    const group = key === undefined ? undefined : groups.get(key)
    const seen = finding.seen === undefined ? '' : `: ${finding.seen.join(', ')}`
    if (key === undefined || group === undefined || group.length < GROUP_MIN) {
      out.push({ path: finding.path, text: `${finding.message}${seen}`, count: finding.count })
    } else if (!done.has(key)) {
      done.add(key)
      const tail = finding.path.slice(finding.path.lastIndexOf('.') + 1)
      out.push({ path: `*.${tail}`, text: `${finding.message} (at ${group.length} paths)`, count: group.reduce((sum, member) => sum + member.count, 0) })
    }
  }
  return out
}

export function formatDrift (report: SpecDriftReport, title = 'What the sandbox said that the spec does not'): string {
  const seen = `${report.answers} answer${report.answers === 1 ? '' : 's'} from ${report.operations.length} operation${report.operations.length === 1 ? '' : 's'}`
  const errors = report.operations.filter((operation) => Object.keys(operation.errors).length > 0)
    .map((operation) => `${operation.operation} ${tally(operation.errors)}`)
  const errorLine = errors.length === 0 ? [] : [`  error answers (not compared): ${errors.join('; ')}`]
  if (report.answers === 0) return `${title}: no answer was seen.`
  if (report.findings === 0) return [`${title}: nothing beyond the pinned spec (${seen}).`, ...errorLine].join('\n')
  const out = [`${title} (${seen}):`]
  for (const operation of report.operations) {
    if (operation.findings.length === 0) continue
    out.push(`  ${operation.operation} (${tally(operation.answers)})`)
    const shown = lines(operation.findings)
    const width = Math.min(48, shown.reduce((widest, line) => Math.max(widest, line.path.length), 0))
    for (const line of shown) out.push(`    ${line.path.padEnd(width)}  ${line.text}${line.count > 1 ? `  ×${line.count}` : ''}`)
  }
  const quiet = report.operations.filter((operation) => operation.findings.length === 0 && Object.keys(operation.answers).length > 0).map((operation) => operation.operation)
  if (quiet.length > 0) out.push(`  as the spec says: ${quiet.join(', ')}`)
  out.push(...errorLine)
  return out.join('\n')
}
