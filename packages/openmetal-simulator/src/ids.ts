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

/** A locally administered unicast MAC, so it can never collide with real hardware. */
export function macAddress (): string {
  return ['02', ...Array.from(randomBytes(5), (byte) => byte.toString(16).padStart(2, '0'))].join(':')
}
