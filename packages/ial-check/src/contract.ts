/**
 * Cycle's side of the IAL contract: what Cycle's Go client accepts as an answer.
 *
 * Three layers, each reported with the JSON path of the offending field:
 * - envelope: success is HTTP 200 `{"data": <payload>}`; a bare payload or a missing `data`
 *   key is refused.
 * - Go decoding: Cycle decodes `data` into Go structs (github.com/cycleplatform/integrations,
 *   package types). A float or a numeric string in an `int`/`uint` field, a string where a
 *   `bool` is expected, an array where a map is expected... breaks decoding of the whole
 *   response. The Go shapes below are written out explicitly, independent of the schema, so
 *   a lax schema cannot hide a decoding failure. `null` and missing fields decode to Go zero
 *   values, and unknown fields are ignored, as Go does.
 * - schema: the IAL spec's response schema (generated TypeBox, with the reviewed
 *   corrections), compiled with ajv: required fields, enums, nullability.
 *
 * Error answers: `{"error": {status, code: "<status>.<slug>", title, detail?, source?},
 * "data": null}` with `error.status` equal to the HTTP status.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import * as IAL from './generated/cycle-ial.ts'

export type Endpoint = 'verify' | 'locations' | 'server-models' | 'configure' | 'provision' | 'status' | 'decommission' | 'restart' | 'allocate' | 'release'

export const ENDPOINT_NAMES: readonly Endpoint[] = ['verify', 'locations', 'server-models', 'configure', 'provision', 'status', 'decommission', 'restart', 'allocate', 'release']

/** Where each endpoint lives and how Cycle calls it (provision-status: Cycle sends a GET with a JSON body). */
export const ENDPOINTS: Readonly<Record<Endpoint, { readonly method: 'GET' | 'POST', readonly path: string }>> = {
  verify: { method: 'POST', path: '/v1/auth/verify' },
  locations: { method: 'GET', path: '/v1/infrastructure/provider/locations' },
  'server-models': { method: 'GET', path: '/v1/infrastructure/provider/server-models' },
  configure: { method: 'POST', path: '/v1/location/configure' },
  provision: { method: 'POST', path: '/v1/infrastructure/server/provision' },
  status: { method: 'GET', path: '/v1/infrastructure/server/provision-status' },
  decommission: { method: 'POST', path: '/v1/infrastructure/server/decommission' },
  restart: { method: 'POST', path: '/v1/infrastructure/server/restart' },
  allocate: { method: 'POST', path: '/v1/infrastructure/ip/allocate' },
  release: { method: 'POST', path: '/v1/infrastructure/ip/release' }
}

export const RESPONSE_SCHEMAS: Readonly<Record<Endpoint, object>> = {
  verify: IAL.VerifyAuthResponse,
  locations: IAL.ListLocationsResponse,
  'server-models': IAL.ListServerModelsResponse,
  configure: IAL.ConfigureLocationResponse,
  provision: IAL.ProvisionServerResponse,
  status: IAL.GetProvisionServerStatusResponse,
  decommission: IAL.DecommissionServerResponse,
  restart: IAL.RestartServerResponse,
  allocate: IAL.AllocateIPResponse,
  release: IAL.ReleaseIPResponse
}

/** One finding. `message` is a whole sentence that already names the field. */
export interface Problem {
  /** JSON path of the offending value, e.g. `data.models[3].pricing.monthly`; '' for the answer as a whole */
  readonly path: string
  readonly message: string
  /** which rule found it */
  readonly rule: 'http' | 'envelope' | 'go' | 'schema' | 'error-envelope'
}

// ---------------------------------------------------------------------------------------
// Go shapes (what `encoding/json` would decode `data` into)

export type GoType =
  | { readonly kind: 'string' | 'bool' | 'int' | 'uint' | 'float' | 'any' }
  | { readonly kind: 'slice' | 'map', readonly of: GoType }
  | { readonly kind: 'struct', readonly fields: Readonly<Record<string, GoType>> }

const string: GoType = { kind: 'string' }
const bool: GoType = { kind: 'bool' }
const int: GoType = { kind: 'int' }
const uint: GoType = { kind: 'uint' }
const float: GoType = { kind: 'float' }
const any: GoType = { kind: 'any' }
const slice = (of: GoType): GoType => ({ kind: 'slice', of })
const map = (of: GoType): GoType => ({ kind: 'map', of })
const struct = (fields: Record<string, GoType>): GoType => ({ kind: 'struct', fields })

const stringMap = map(string)
const freeMap = map(any)

const location = struct({
  name: string,
  geographic: struct({ latitude: float, longitude: float, city: string, state: string, country: string, region: string }),
  provider: struct({ location_id: string, code: string, availability_zones: slice(string) }),
  features: struct({ available: slice(string), supported: slice(string) }),
  annotations: stringMap,
  compatible: bool,
  abbreviation: string
})

const serverModel = struct({
  name: string,
  drivers: slice(string),
  description: string,
  specs: struct({
    cpu: struct({ count: uint, cores: uint, threads: uint, type: string, shared: bool, extra: stringMap }),
    gpu: struct({ count: uint, cores: uint, vram_gb: uint, type: string, shared: bool, extra: stringMap }),
    memory: struct({ size_gb: uint, type: string, extra: stringMap }),
    storage: slice(struct({ count: uint, size_gb: uint, type: string, extra: stringMap })),
    network: slice(struct({ scope: string, type: string, throughput: string })),
    features: struct({ raid: string, hypervisor: bool, extra: freeMap })
  }),
  provider: struct({ category: string, class: string, model_id: string, locations: slice(string), availability_zones: freeMap }),
  pricing: struct({ hourly: int, monthly: int }),
  compatible: bool
})

export const GO_SHAPES: Readonly<Record<Endpoint, GoType>> = {
  verify: struct({ valid: bool }),
  locations: struct({ locations: slice(location), extra: freeMap }),
  'server-models': struct({ models: slice(serverModel), extra: freeMap }),
  configure: struct({ configured: bool, version: string, configuration_latest: freeMap }),
  provision: struct({ server_id: string, extra: freeMap, location_modified: bool }),
  status: struct({ server_id: string, provisioned: bool, auth: struct({ uuid: string, initial_ips: slice(string), mac_addr: string }), extra: freeMap }),
  decommission: bool,
  restart: bool,
  allocate: struct({ ip_id: string, ip_assignment_id: string, cidr: string, gateway: string, netmask: string, network: string, nat_private_ip: string }),
  release: bool
}

/** A value as it is quoted in messages: JSON, cut short. */
export function show (value: unknown): string {
  const text = value === undefined ? 'missing' : JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function child (path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
}

/**
 * Walk `value` as Go's `encoding/json` would decode it into `type`; one problem per value
 * that would make the decoding fail. `null` and missing values decode to zero values.
 */
export function checkGo (value: unknown, type: GoType, path = 'data'): Problem[] {
  if (value === null || value === undefined || type.kind === 'any') return []
  const problem = (what: string): Problem[] => [{ path, rule: 'go', message: `${path} is ${show(value)}, not ${what}: Cycle's Go client cannot decode the response` }]
  switch (type.kind) {
    case 'string':
      return typeof value === 'string' ? [] : problem('a string')
    case 'bool':
      return typeof value === 'boolean' ? [] : problem('a boolean')
    case 'float':
      return typeof value === 'number' ? [] : problem('a number')
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) ? [] : problem('an integer')
    case 'uint':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return problem('an integer')
      return value >= 0 ? [] : problem('an unsigned integer')
    case 'slice':
      return Array.isArray(value) ? value.flatMap((item, index) => checkGo(item, type.of, `${path}[${index}]`)) : problem('an array (or null)')
    case 'map':
      return isObject(value) ? Object.entries(value).flatMap(([key, item]) => checkGo(item, type.of, child(path, key))) : problem('an object (a Go map)')
    case 'struct':
      return isObject(value) ? Object.entries(type.fields).flatMap(([key, field]) => checkGo(value[key], field, child(path, key))) : problem('an object')
  }
}

// ---------------------------------------------------------------------------------------
// the IAL schema, through ajv

// ajv-formats is CommonJS: depending on the loader its default import is the plugin or its namespace
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv
const ajv = addFormats(new Ajv({ strict: false, allErrors: true, validateFormats: true }))
const validators = new Map<Endpoint, ValidateFunction>()

function validatorFor (endpoint: Endpoint): ValidateFunction {
  let validate = validators.get(endpoint)
  if (validate === undefined) {
    validate = ajv.compile(RESPONSE_SCHEMAS[endpoint])
    validators.set(endpoint, validate)
  }
  return validate
}

function pointerParts (pointer: string): string[] {
  return pointer.split('/').slice(1).map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
}

/** `/models/3/pricing/monthly` -> `data.models[3].pricing.monthly` */
function pathOf (pointer: string): string {
  return pointerParts(pointer).reduce((path, part) => /^\d+$/.test(part) ? `${path}[${part}]` : child(path, part), 'data')
}

function valueAt (data: unknown, pointer: string): unknown {
  let node = data
  for (const part of pointerParts(pointer)) node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[part] : undefined
  return node
}

function schemaProblem (error: ErrorObject, data: unknown): Problem {
  const path = pathOf(error.instancePath)
  if (error.keyword === 'required') {
    const missing = child(path, String((error.params as { missingProperty?: string }).missingProperty))
    return { path: missing, rule: 'schema', message: `${missing} is required by the IAL spec but missing` }
  }
  const value = valueAt(data, error.instancePath)
  if (error.keyword === 'type') {
    return { path, rule: 'schema', message: `${path} is ${show(value)}, not ${String((error.params as { type?: unknown }).type)} as the IAL spec requires` }
  }
  return { path, rule: 'schema', message: `${path} ${error.message ?? 'is invalid'} (got ${show(value)})` }
}

function isWithin (path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`)
}

/** Problems the IAL response schema finds in `data`, most specific per field. */
export function checkSchema (endpoint: Endpoint, data: unknown): Problem[] {
  const validate = validatorFor(endpoint)
  if (validate(data)) return []
  const byPath = new Map<string, Problem>()
  for (const error of validate.errors ?? []) {
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') continue
    const problem = schemaProblem(error, data)
    // a union ("integer or null") reports each branch: the first one is the useful one
    if (!byPath.has(problem.path)) byPath.set(problem.path, problem)
  }
  // a union at a parent ("array or null") also reports its other branch there: keep the deepest findings
  const paths = [...byPath.keys()]
  const deepest = paths.filter((path) => !paths.some((other) => other !== path && isWithin(other, path)))
  const problems = deepest.map((path) => byPath.get(path)).filter((problem) => problem !== undefined)
  return problems.length > 0 ? problems : [{ path: 'data', rule: 'schema', message: 'data does not match the IAL response schema' }]
}

// ---------------------------------------------------------------------------------------
// whole answers

/** Problems with a success answer; empty when Cycle would accept it. */
export function checkSuccess (endpoint: Endpoint, status: number, body: unknown): Problem[] {
  if (status !== 200) return [{ path: '', rule: 'http', message: `HTTP ${status}, expected 200` }]
  if (!isObject(body) || !('data' in body)) {
    return [{ path: '', rule: 'envelope', message: `the answer ${show(body)} is not wrapped in Cycle's {"data": ...} envelope: Cycle reads the payload from "data"` }]
  }
  const go = checkGo(body.data, GO_SHAPES[endpoint])
  // the Go finding says more (it names the decoding failure); the schema repeats it
  const schema = checkSchema(endpoint, body.data).filter((problem) => !go.some((found) => isWithin(problem.path, found.path) || isWithin(found.path, problem.path)))
  return [...go, ...schema]
}

const CODE = /^(\d{3})\.[a-z0-9][a-z0-9.-]*$/

/** Problems with an error answer; empty when it is a proper Cycle error envelope. */
export function checkError (status: number, body: unknown): Problem[] {
  const problems: Problem[] = []
  const add = (path: string, message: string): void => { problems.push({ path, rule: 'error-envelope', message }) }
  if (status < 400 || status > 599) add('', `HTTP ${status} is not an error status`)
  if (!isObject(body)) {
    add('', `the error answer ${show(body)} is not a JSON object`)
    return problems
  }
  if (!('data' in body) || body.data !== null) add('data', `an error envelope must carry "data": null (got ${show(body.data)})`)
  const error = body.error
  if (!isObject(error)) {
    add('error', 'the error envelope has no "error" object')
    return problems
  }
  if (error.status !== status) add('error.status', `error.status is ${show(error.status)}, but the HTTP status is ${status}`)
  const match = typeof error.code === 'string' ? CODE.exec(error.code) : null
  if (match === null) add('error.code', `error.code ${show(error.code)} is not "<status>.<slug>"`)
  else if (Number(match[1]) !== status) add('error.code', `error.code ${show(error.code)} does not start with the HTTP status ${status}`)
  if (typeof error.title !== 'string' || error.title === '') add('error.title', `error.title is ${show(error.title)}, not a non-empty string`)
  for (const key of ['detail', 'source'] as const) {
    if (error[key] !== undefined && error[key] !== null && typeof error[key] !== 'string') add(`error.${key}`, `error.${key} is ${show(error[key])}, not a string`)
  }
  return problems
}

/** The messages alone, for people. */
export function messages (problems: readonly Problem[]): string[] {
  return problems.map((problem) => problem.message)
}
