/**
 * The JSON helpers the corrections and the generator share: both work on the same
 * dereferenced documents, so they find things in them the same way.
 */

export type JsonObject = { [key: string]: unknown }

export function isObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
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
