/**
 * Reading an OpenMetal answer for what the calling route needs, and nothing more.
 *
 * The schemas handed to `readAnswer` (see answers.ts) name only the fields a route reads;
 * everything else in the answer is dropped unread, so a field OpenMetal adds, renames or
 * fills with an unexpected value can never fail a call that does not depend on it. The
 * needed fields are normalised where the live API is known to vary (docs/TOLERANCE.md):
 *
 * - `null` in a field the schema does not allow to be null reads as absent;
 * - a numeric string where a number is declared reads as that number ("14400");
 * - a finite number where a string is declared reads as its decimal text (an ID);
 * - "true"/"false" where a boolean is declared reads as the boolean;
 * - an IPv4 address marked `Tolerant.Address` may carry its prefix length (203.0.113.5/28);
 * - in a list or map marked `Tolerant.ListOf`/`Tolerant.MapOf`, an item or entry that
 *   cannot be read is skipped and reported instead of failing the whole answer.
 *
 * Only a needed value that is missing or unusable fails, naming the field.
 */
import { Type } from 'typebox'
import type { Static, TArray, TRecord, TSchema, TString } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Operation } from './operations.ts'
import { UnreadableAnswer } from './errors.ts'

const SKIP_UNREADABLE = 'x-skip-unreadable'
const IPV4_ADDRESS = 'x-ipv4-address'

/** Vocabulary for the needed schemas: where an answer may hold what cannot be read, and addresses. */
export const Tolerant = {
  /** a list whose unreadable items are skipped (and reported) rather than failing the answer */
  ListOf<T extends TSchema> (item: T): TArray<T> {
    return Type.Array(item, { [SKIP_UNREADABLE]: true })
  },
  /** a map keyed by data (pods, SKUs) whose unreadable entries are skipped (and reported) */
  MapOf<T extends TSchema> (entry: T): TRecord<'^.*$', T> {
    return Type.Record(Type.String(), entry, { [SKIP_UNREADABLE]: true })
  },
  /** an IPv4 address, read also when OpenMetal writes it with its prefix length */
  Address (base: TString = Type.String()): TString {
    return Type.String({ ...base, [IPV4_ADDRESS]: true })
  }
}

/** Something in an answer that was skipped: which operation, where, and why. */
export interface SkippedPart {
  readonly operation: Operation
  readonly path: string
  /**
   * the kind of part: the path with list positions as `[]` and map keys (pods, SKUs) as `{}`,
   * so thousands of odd entries of one kind are one kind (`/hardware/{}/processor`)
   */
  readonly kind: string
  readonly problem: string
}

/** Where the reader is in an answer: the real path, and the path of the kind of part. */
interface Where {
  readonly path: string
  readonly kind: string
}

function inside (where: Where, key: string | number, kindOf: string): Where {
  return { path: `${where.path}/${key}`, kind: `${where.kind}/${kindOf}` }
}

/** A field path inside a part, as a kind: its list positions as `[]`. */
export function kindOfPath (path: string): string {
  return path.replace(/\/\d+(?=\/|$)/g, '/[]')
}

export type SkipObserver = (skipped: SkippedPart) => void

type JsonSchema = Record<string, unknown>

const compiled = new WeakMap<object, ReturnType<typeof Compile>>()

function validatorOf (schema: JsonSchema): ReturnType<typeof Compile> {
  let validator = compiled.get(schema)
  if (validator === undefined) {
    validator = Compile(schema as TSchema)
    compiled.set(schema, validator)
  }
  return validator
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function typesOf (schema: JsonSchema): readonly unknown[] {
  return Array.isArray(schema.type) ? schema.type : [schema.type]
}

function acceptsNull (schema: JsonSchema): boolean {
  if (typesOf(schema).includes('null')) return true
  const members = schema.anyOf ?? schema.oneOf
  return Array.isArray(members) && members.some((member) => isRecord(member) && acceptsNull(member))
}

const NUMERIC = /^-?\d+(\.\d+)?$/
const ADDRESS_WITH_LENGTH = /^(\d{1,3}(?:\.\d{1,3}){3})\/\d{1,2}$/

function firstProblem (schema: JsonSchema, value: unknown): { field: string, problem: string } {
  const first = validatorOf(schema).Errors(value)[0] as { instancePath?: string, message?: string, params?: { requiredProperties?: string[] } } | undefined
  const missing = first?.params?.requiredProperties?.[0]
  const at = first?.instancePath ?? ''
  return missing === undefined
    ? { field: at, problem: first?.message ?? 'is not what the route needs' }
    : { field: `${at}/${missing}`, problem: 'is missing' }
}

interface Reading {
  readonly operation: Operation
  readonly skipped: SkipObserver | undefined
}

/** `undefined` means "absent": the caller leaves the property out. */
function normalise (schema: JsonSchema, value: unknown, path: Where, reading: Reading): unknown {
  if (value === null) return acceptsNull(schema) ? null : undefined
  const members = schema.anyOf ?? schema.oneOf
  if (Array.isArray(members)) {
    // a member that takes the value as it is still reads only what it names (an object's other fields are dropped)
    for (const member of members as JsonSchema[]) if (validatorOf(member).Check(value)) return normalise(member, value, path, reading)
    for (const member of members as JsonSchema[]) {
      const candidate = normalise(member, value, path, reading)
      if (validatorOf(member).Check(candidate)) return candidate
    }
    return value
  }
  const types = typesOf(schema)
  if (types.includes('object') && isRecord(value)) return normaliseObject(schema, value, path, reading)
  if (types.includes('array') && Array.isArray(value)) return normaliseArray(schema, value, path, reading)
  if ((types.includes('integer') || types.includes('number')) && typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value.trim())
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true'
  if (types.includes('string')) {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    if (schema[IPV4_ADDRESS] === true && typeof value === 'string') return ADDRESS_WITH_LENGTH.exec(value.trim())?.[1] ?? value
  }
  return value
}

function normaliseArray (schema: JsonSchema, value: readonly unknown[], path: Where, reading: Reading): unknown[] {
  const item = isRecord(schema.items) ? schema.items : {}
  const read = value.map((entry, index) => normalise(item, entry, inside(path, index, '[]'), reading))
  if (schema[SKIP_UNREADABLE] !== true) return read
  return read.filter((entry, index) => keepOrReport(item, entry, inside(path, index, '[]'), reading))
}

function normaliseObject (schema: JsonSchema, value: Record<string, unknown>, path: Where, reading: Reading): Record<string, unknown> {
  const properties = isRecord(schema.properties) ? schema.properties : {}
  const out: Record<string, unknown> = {}
  for (const [key, property] of Object.entries(properties)) {
    if (!Object.hasOwn(value, key) || !isRecord(property)) continue
    const read = normalise(property, value[key], inside(path, key, key), reading)
    if (read !== undefined) define(out, key, read)
  }
  const entry = entrySchemaOf(schema)
  if (entry === undefined) return out
  for (const [key, raw] of Object.entries(value)) {
    if (Object.hasOwn(properties, key)) continue
    const read = normalise(entry, raw, inside(path, key, '{}'), reading)
    if (schema[SKIP_UNREADABLE] !== true || keepOrReport(entry, read, inside(path, key, '{}'), reading)) define(out, key, read)
  }
  return out
}

/** An own property whatever its name (`__proto__` from JSON is data, not a prototype). */
function define (target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function entrySchemaOf (schema: JsonSchema): JsonSchema | undefined {
  if (isRecord(schema.additionalProperties)) return schema.additionalProperties
  const patterns = isRecord(schema.patternProperties) ? Object.values(schema.patternProperties) : []
  return patterns.length === 1 && isRecord(patterns[0]) ? patterns[0] : undefined
}

function keepOrReport (schema: JsonSchema, value: unknown, path: Where, reading: Reading): boolean {
  if (validatorOf(schema).Check(value)) return true
  const { field, problem } = firstProblem(schema, value)
  reading.skipped?.({ operation: reading.operation, path: `${path.path}${field}`, kind: `${path.kind}${kindOfPath(field)}`, problem })
  return false
}

/**
 * The parts of `body` that `schema` names, normalised (see above). Throws `UnreadableAnswer`
 * naming the first needed field that is missing or unusable.
 */
export function readAnswer<S extends TSchema> (schema: S, body: unknown, operation: Operation, skipped?: SkipObserver): Static<S> {
  const root = schema as unknown as JsonSchema
  const read = normalise(root, body, { path: '', kind: '' }, { operation, skipped })
  if (validatorOf(root).Check(read)) return read as Static<S>
  const { field, problem } = firstProblem(root, read)
  throw new UnreadableAnswer(field, problem)
}
