/**
 * The reviewed correction layer: every way in which the generated schemas deliberately
 * differ from the pinned upstream specs, each with the reason. The generator fails when a
 * correction no longer matches its target, so an upstream change is noticed, not masked.
 */
import { isObject, objectAt as at, type JsonObject } from './json-document.ts'

export interface FileFix {
  readonly file: string
  readonly find: string
  readonly replace: string
  /** replace every occurrence (otherwise exactly one is expected) */
  readonly all?: boolean
  readonly why: string
}

export interface SchemaFix {
  readonly why: string
  readonly apply: (doc: JsonObject) => void
}

/** Reference defects that stop the OpenMetal spec from resolving at all. */
export const openMetalFileFixes: readonly FileFix[] = [
  {
    file: 'schemas/products.yaml',
    find: "'#/components/schemas/",
    replace: "'../openapi.yaml#/components/schemas/",
    all: true,
    why: 'split files point at #/components/... of themselves; the components live in openapi.yaml'
  },
  {
    file: 'paths/products.yaml',
    find: "'#/components/schemas/",
    replace: "'../openapi.yaml#/components/schemas/",
    all: true,
    why: 'split files point at #/components/... of themselves; the components live in openapi.yaml'
  },
  {
    file: 'schemas/products.yaml',
    find: "'./schemas/common.yaml#/Locations'",
    replace: "'./locations.yaml#/Locations'",
    why: 'common.yaml does not exist; the Locations of locations.yaml is meant'
  },
  {
    file: 'schemas/locations.yaml',
    find: '\nPodLocations:',
    replace: [
      '',
      'LocationDetails:',
      '  type: object',
      '  properties:',
      '    label: { type: string }',
      '    displayName: { type: string }',
      '    region: { type: string }',
      '    code: { type: string }',
      '    latitude: { type: number }',
      '    longitude: { type: number }',
      '    release_status: { type: string, enum: [released, pre-release] }',
      '',
      'PodLocations:'
    ].join('\n'),
    why: 'openapi.yaml references LocationDetails, which locations.yaml does not define; it is the per-pod object of Locations'
  }
]

const PLACEHOLDER_KEYS = ['hardware_sku', 'location_id', 'hardware_type_id', 'os_name']

function walk (node: unknown, visit: (schema: JsonObject) => void, seen = new Set<unknown>()): void {
  if (!isObject(node) && !Array.isArray(node)) return
  if (seen.has(node)) return
  seen.add(node)
  if (isObject(node)) visit(node)
  for (const child of Object.values(node)) walk(child, visit, seen)
}

/**
 * The keyword under which a widened enum keeps the pinned spec's values. Validators ignore it
 * (TypeBox checks only what it knows; ajv runs with strict: false), so the adapter still
 * accepts any string; the sandbox's spec-drift report (scripts/sandbox/spec-drift.ts) reads
 * it to name the values the pinned spec does not list. The generator keeps this `x-` keyword
 * (and drops every other one) and emits it as `Type.String({ 'x-spec-enum': [...] })`.
 */
export const SPEC_ENUM = 'x-spec-enum'

/**
 * Widen a closed enum that OpenMetal may extend into a plain string, wherever a copy of it
 * stands (dereferencing copies a schema that has sibling keywords next to its $ref). The
 * values stay as the `x-spec-enum` annotation: not enforced, only reported when they drift.
 */
function widenEnum (doc: JsonObject, member: string): void {
  let fixed = 0
  walk(doc, (schema) => {
    if (Array.isArray(schema.enum) && schema.enum.includes(member)) {
      schema[SPEC_ENUM] = schema.enum
      delete schema.enum
      fixed++
    }
  })
  if (fixed === 0) throw new Error(`no enum containing ${member}`)
}

export const openMetalSchemaFixes: readonly SchemaFix[] = [
  {
    why: 'map-shaped objects are described with one placeholder property (a SKU, pod or hardware type key); the real keys are data, so the placeholder becomes additionalProperties',
    apply (doc) {
      let fixed = 0
      walk(doc, (schema) => {
        const properties = schema.properties
        if (!isObject(properties)) return
        for (const key of PLACEHOLDER_KEYS) {
          const value = properties[key]
          if (!isObject(value) || (value.type !== 'object' && value.properties === undefined && value.allOf === undefined)) continue
          delete properties[key]
          const { type: _type, ...rest } = value
          schema.additionalProperties = value.allOf !== undefined || value.properties !== undefined ? { type: 'object', ...rest } : value
          fixed++
        }
      })
      if (fixed === 0) throw new Error('no placeholder maps found')
    }
  },
  {
    why: 'provision_status is documented as provisioning_status in prose and OpenMetal adds states over time; an unknown state must read as "not provisioned yet", not as a malformed answer',
    apply (doc) {
      widenEnum(doc, 'awaiting_setup')
      const entry = at(doc, '/components/schemas/OrderResponse/allOf/1/properties/fields/allOf/1/properties/clouds_deployed/items')
      entry.properties = { ...(entry.properties as JsonObject), provisioning_status: { type: 'string' } }
      entry.required = ['id']
    }
  },
  {
    why: 'cloud_state, power_state, release_status and a prefix\'s usage and status are answers whose value set OpenMetal controls; read them as strings',
    apply (doc) {
      widenEnum(doc, 'PENDING-DELETE')
      widenEnum(doc, 'rebooting')
      widenEnum(doc, 'pre-release')
      widenEnum(doc, 'unused')
      widenEnum(doc, 'PROVISIONING')
    }
  },
  {
    why: 'the token answer: the adapter needs access_token and expires_in; scope and token_type are informational (the OpenMetal mapping document for Cycle lists the answer without scope), so a token without them is not a malformed answer',
    apply (doc) {
      const token = at(doc, '/paths/~1v1~1oauth2~1token/get/responses/200/content/application~1json/schema')
      token.required = ['access_token', 'expires_in']
    }
  },
  {
    why: 'the pod list grows (the live list is /v2/inventory/locations); a fixed enum would reject new pods',
    apply (doc) {
      widenEnum(doc, 'pod_1')
    }
  }
]

/**
 * The longest string the adapter accepts in each field of a request (characters); every
 * other string field takes the default. IDs, names and tokens are far shorter; a hub's
 * config is base64 JSON that may hold SSH keys; credentials get room here and their own,
 * stricter check (a 401) in src/ial/context.ts.
 */
export const REQUEST_STRING_LIMITS: Readonly<Record<string, number>> = { config: 65_536, secret: 8192, api_key: 8192, client_id: 8192 }
export const REQUEST_STRING_DEFAULT_LIMIT = 256

/** Visits every schema inside a request body of the document; `fix` returns how many changes it made there. */
function eachRequestSchema (doc: JsonObject, fix: (schema: JsonObject) => number): number {
  let fixed = 0
  walk(doc.paths, (schema) => {
    if (isObject(schema.requestBody)) walk(schema.requestBody, (node) => { fixed += fix(node) })
  })
  return fixed
}

/** Cycle IAL: what the Go types (what Cycle really sends and decodes) add to the spec. */
export const cycleSchemaFixes: readonly SchemaFix[] = [
  {
    why: 'CycleLocationMeta.yml carries the title CycleServerMeta; the title names the generated schema',
    apply (doc) {
      const configure = at(doc, '/paths/~1v1~1location~1configure/post/requestBody/content/application~1json/schema/properties/request/properties/cycle')
      if (configure.title !== 'CycleServerMeta') throw new Error('CycleLocationMeta title changed upstream')
      configure.title = 'CycleLocationMeta'
    }
  },
  {
    why: 'Cycle object IDs are 24-hex ObjectIDs, not UUIDs (Go types: primitive.ObjectID); format: uuid would reject every real request',
    apply (doc) {
      let fixed = 0
      walk(doc, (schema) => {
        if (schema.format === 'uuid') { delete schema.format; fixed++ }
      })
      if (fixed === 0) throw new Error('no uuid formats found')
    }
  },
  {
    why: 'provision-status is declared as a GET without a body, but the Go types define its request (server_id, location_id, extra, ...) inside the usual wrapper',
    apply (doc) {
      const status = at(doc, '/paths/~1v1~1infrastructure~1server~1provision-status/get')
      const restart = at(doc, '/paths/~1v1~1infrastructure~1server~1restart/post/requestBody/content/application~1json/schema')
      const restartRequest = at(doc, '/paths/~1v1~1infrastructure~1server~1restart/post/requestBody/content/application~1json/schema/properties/request/properties')
      status.requestBody = {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['request'],
              properties: {
                auth: (restart.properties as JsonObject).auth,
                request: {
                  type: 'object',
                  required: ['server_id', 'location_id', 'cycle'],
                  properties: {
                    server_id: { type: 'string' },
                    location_id: { type: 'string' },
                    zone_id: { type: ['string', 'null'] },
                    model_features: { type: ['object', 'null'], additionalProperties: true },
                    provision_options: { type: ['object', 'null'], additionalProperties: true },
                    location_configuration: { type: ['object', 'null'], additionalProperties: true },
                    extra: { type: ['object', 'null'], additionalProperties: true },
                    cycle: restartRequest.cycle
                  }
                }
              }
            }
          }
        }
      }
    }
  },
  {
    why: 'the release payload is shown without the {auth, request} wrapper that every call carries (Go types)',
    apply (doc) {
      const body = at(doc, '/paths/~1v1~1infrastructure~1ip~1release/post/requestBody/content/application~1json')
      const bare = body.schema as JsonObject
      const allocate = at(doc, '/paths/~1v1~1infrastructure~1ip~1allocate/post/requestBody/content/application~1json/schema/properties')
      body.schema = { type: 'object', required: ['request'], properties: { auth: allocate.auth, request: bare } }
    }
  },
  {
    why: 'Go types: the provision answer may carry location_modified; a Location may carry abbreviation; extra maps may be null',
    apply (doc) {
      const provision = at(doc, '/paths/~1v1~1infrastructure~1server~1provision/post/responses/200/content/application~1json/schema/properties')
      provision.location_modified = { type: 'boolean' }
      const location = at(doc, '/paths/~1v1~1infrastructure~1provider~1locations/get/responses/200/content/application~1json/schema/properties/locations/items/properties')
      location.abbreviation = { type: ['string', 'null'] }
    }
  },
  {
    why: 'Go encodes a nil map or slice as null: every free-form map and every array of a request may arrive as null',
    apply (doc) {
      const fixed = eachRequestSchema(doc, (node) => {
        const isMap = node.type === 'object' && node.properties === undefined
        if (!isMap && node.type !== 'array') return 0
        node.type = [node.type, 'null']
        return 1
      })
      if (fixed === 0) throw new Error('no request maps found')
    }
  },
  {
    why: 'the spec bounds no string; every string Cycle sends gets a length cap before anything reaches OpenMetal (a 500 KB pool_id once became an address label), so an over-long one is refused naming its field (REQUEST_STRING_LIMITS)',
    apply (doc) {
      const fixed = eachRequestSchema(doc, (node) => {
        let capped = 0
        for (const [name, property] of Object.entries(isObject(node.properties) ? node.properties : {})) {
          const variants = isObject(property) ? [property, ...(Array.isArray(property.anyOf) ? property.anyOf : [])] : []
          for (const text of variants) {
            const isString = isObject(text) && (text.type === 'string' || (Array.isArray(text.type) && text.type.includes('string')))
            if (!isString || text.maxLength !== undefined || Array.isArray(text.enum)) continue
            text.maxLength = REQUEST_STRING_LIMITS[name] ?? REQUEST_STRING_DEFAULT_LIMIT
            capped++
          }
        }
        return capped
      })
      if (fixed === 0) throw new Error('no request strings found')
    }
  }
]
