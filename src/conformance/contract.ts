/**
 * Cycle's side of the contract: what its Go client accepts. Every answer is checked against
 * the IAL spec's response schema (generated, with the reviewed corrections) and against Go
 * decoding: `{data}` envelope, integers where the Go types have integers (a float or a
 * numeric string breaks decoding of the whole response), error envelopes with
 * `<status>.<slug>` codes.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import * as IAL from '../generated/cycle-ial.ts'

export type Endpoint = 'verify' | 'locations' | 'server-models' | 'configure' | 'provision' | 'status' | 'decommission' | 'restart' | 'allocate' | 'release'

export const RESPONSE_SCHEMAS: Record<Endpoint, object> = {
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

const ajv = new Ajv({ strict: false, allErrors: true })
const validators = new Map<Endpoint, ValidateFunction>()

function validatorFor (endpoint: Endpoint): ValidateFunction {
  let validate = validators.get(endpoint)
  if (validate === undefined) {
    validate = ajv.compile(RESPONSE_SCHEMAS[endpoint])
    validators.set(endpoint, validate)
  }
  return validate
}

/** `/models/3/pricing/monthly` -> `data.models[3].pricing.monthly` */
function fieldName (instancePath: string): string {
  return `data${instancePath.split('/').slice(1).map((part) => /^\d+$/.test(part) ? `[${part}]` : `.${part.replaceAll('~1', '/').replaceAll('~0', '~')}`).join('')}`
}

function valueAt (data: unknown, instancePath: string): unknown {
  let node = data
  for (const part of instancePath.split('/').slice(1)) {
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined
  }
  return node
}

function describe (error: ErrorObject, data: unknown): string {
  const field = fieldName(error.instancePath)
  if (error.keyword === 'required') return `${field}.${String((error.params as { missingProperty?: string }).missingProperty)} is required`
  const value = valueAt(data, error.instancePath)
  if (error.keyword === 'type' && (error.params as { type?: string }).type === 'integer') {
    return `${field} is ${JSON.stringify(value)}, not an integer: Cycle's Go client cannot decode it`
  }
  return `${field} ${error.message ?? 'is invalid'} (got ${JSON.stringify(value)?.slice(0, 80)})`
}

/** Problems with a success answer; empty when Cycle would accept it. */
export function checkSuccess (endpoint: Endpoint, status: number, body: unknown): string[] {
  if (status !== 200) return [`HTTP ${status}, expected 200`]
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('data' in body)) {
    return ['the answer is not wrapped in Cycle\'s {"data": ...} envelope']
  }
  const data = (body as { data: unknown }).data
  const validate = validatorFor(endpoint)
  if (validate(data)) return []
  // anyOf branches repeat the same finding; keep the most specific message per field
  const seen = new Map<string, string>()
  for (const error of validate.errors ?? []) {
    if (error.keyword === 'anyOf') continue
    const key = error.instancePath
    if (!seen.has(key) || error.keyword === 'type') seen.set(key, describe(error, data))
  }
  // a union ("array or null") reports its other branch at the parent too: keep the deepest findings
  const keys = [...seen.keys()]
  const deepest = keys.filter((key) => !keys.some((other) => other !== key && other.startsWith(`${key}/`)))
  return deepest.length > 0 ? deepest.map((key) => seen.get(key) ?? '') : ['data does not match the IAL response schema']
}

const CODE = /^(\d{3})\.[a-z0-9][a-z0-9.-]*$/

/** Problems with an error answer; empty when it is a proper Cycle error envelope. */
export function checkError (status: number, body: unknown): string[] {
  const problems: string[] = []
  if (status < 400) problems.push(`HTTP ${status} is not an error status`)
  if (typeof body !== 'object' || body === null) return [...problems, 'the error answer is not a JSON object']
  const { error, data } = body as { error?: unknown, data?: unknown }
  if (!('data' in body) || data !== null) problems.push('an error envelope must carry "data": null')
  if (typeof error !== 'object' || error === null) return [...problems, 'the error envelope has no "error" object']
  const { status: declared, code, title } = error as { status?: unknown, code?: unknown, title?: unknown }
  if (declared !== status) problems.push(`error.status is ${JSON.stringify(declared)}, but the HTTP status is ${status}`)
  const match = typeof code === 'string' ? CODE.exec(code) : null
  if (match === null) problems.push(`error.code ${JSON.stringify(code)} is not "<status>.<slug>"`)
  else if (Number(match[1]) !== status) problems.push(`error.code ${String(code)} does not start with the HTTP status ${status}`)
  if (typeof title !== 'string' || title === '') problems.push('error.title is missing')
  return problems
}
