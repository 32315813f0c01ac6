/** Identifiers shaped like OpenMetal's: short hashed resource IDs, UUIDs, MAC addresses. */
import { createHash, randomBytes } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** A 10-character resource ID like "0a7Y8ABym5" (the modulo bias is irrelevant here). */
export function resourceId (): string {
  return Array.from(randomBytes(10), (byte) => ALPHABET[byte % ALPHABET.length]).join('')
}

/** A resource ID that is always the same for the same seed (entries that must not move between pages). */
export function stableId (seed: string): string {
  return Array.from(createHash('sha256').update(seed).digest().subarray(0, 10), (byte) => ALPHABET[byte % ALPHABET.length]).join('')
}

/** A UUID that is always the same for the same seed (an organisation's account UUID). */
export function stableUuid (seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** A locally administered unicast MAC, so it can never collide with real hardware. */
export function macAddress (): string {
  return ['02', ...Array.from(randomBytes(5), (byte) => byte.toString(16).padStart(2, '0'))].join(':')
}
