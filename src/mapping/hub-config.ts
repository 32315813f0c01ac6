/**
 * `auth.config`: base64 of a JSON object with a hub's own provisioning settings. Every key
 * is optional and overrides the operator's environment for that hub.
 *
 *   deployment_configuration  ID of an OpenMetal deployment configuration (CycleOS ramdisk)
 *   ssh_public_key            an SSH public key for the servers
 *   ssh_key_ids               IDs of SSH keys saved at OpenMetal
 */
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

export const HubConfig = Type.Object({
  deployment_configuration: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
  ssh_public_key: Type.Optional(Type.String({ minLength: 16, maxLength: 16_384, pattern: '^(ssh|ecdsa)-[^\\n]+$' })),
  ssh_key_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }), { minItems: 1, maxItems: 32 }))
}, { additionalProperties: false })

export type HubConfig = Static<typeof HubConfig>

const check = Compile(HubConfig)
const KEYS = Object.keys(HubConfig.properties)

/** The decoded settings, or the reason they cannot be used. */
export function decodeHubConfig (encoded: string | undefined): { ok: true, value: HubConfig } | { ok: false, reason: string } {
  if (encoded === undefined || encoded.trim() === '') return { ok: true, value: {} }
  if (encoded.length > 65_536) return { ok: false, reason: 'is longer than 64 KiB' }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded.trim())) return { ok: false, reason: 'is not base64' }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(encoded.trim(), 'base64').toString('utf8'))
  } catch {
    return { ok: false, reason: 'is not base64 of a JSON object' }
  }
  const unknown = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.keys(parsed).filter((key) => !KEYS.includes(key)) : []
  if (unknown.length > 0) return { ok: false, reason: `does not allow unknown key(s) ${unknown.map((key) => JSON.stringify(key.slice(0, 40))).join(', ')} (allowed keys: ${KEYS.join(', ')})` }
  if (!check.Check(parsed)) {
    const first = check.Errors(parsed)[0]
    const where = first?.instancePath === undefined || first.instancePath === '' ? '' : ` at ${first.instancePath}`
    return { ok: false, reason: `does not match the expected settings${where}: ${first?.message ?? 'invalid'} (allowed keys: deployment_configuration, ssh_public_key, ssh_key_ids)` }
  }
  return { ok: true, value: parsed }
}
