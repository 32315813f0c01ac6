/**
 * The JSON helpers the corrections and the generator share: both work on the same
 * dereferenced documents, so they find things in them the same way.
 */

export type JsonObject = { [key: string]: unknown }

export function isObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function escaped (key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** The object at an RFC 6901 JSON pointer (`/paths/~1v1~1orders/get`); throws when there is none. */
export function objectAt (doc: JsonObject, pointer: string): JsonObject {
  let node: unknown = doc
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    node = isObject(node) || Array.isArray(node) ? (node as JsonObject)[key] : undefined
  }
  if (!isObject(node)) throw new Error(`nothing at ${pointer}`)
  return node
}

/**
 * A copy of a dereferenced document in which every use of a component (the very object
 * under `components`, corrections included) is a `$ref` to it again. Dereferencing inlines
 * each component wherever it is used; pointing back keeps the path types that
 * openapi-typescript writes from this document short and named. A component that is the
 * same object as another one (an alias) becomes a `$ref` to the first.
 */
export function withComponentRefs (doc: JsonObject): JsonObject {
  const pointers = new Map<object, string>()
  for (const [section, entries] of Object.entries(isObject(doc.components) ? doc.components : {})) {
    for (const [name, value] of Object.entries(isObject(entries) ? entries : {})) {
      if (isObject(value) && !pointers.has(value)) pointers.set(value, `#/components/${escaped(section)}/${escaped(name)}`)
    }
  }
  const copy = (node: unknown, at: string): unknown => {
    if (Array.isArray(node)) return node.map((item, index) => copy(item, `${at}/${index}`))
    if (!isObject(node)) return node
    const pointer = pointers.get(node)
    if (pointer !== undefined && pointer !== at) return { $ref: pointer }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, copy(value, `${at}/${escaped(key)}`)]))
  }
  return copy(doc, '#') as JsonObject
}
