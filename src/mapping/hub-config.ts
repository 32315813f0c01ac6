/**
 * `auth.config`: base64 of a JSON object with a hub's own provisioning settings. Every key
 * is optional and overrides the operator's environment for that hub.
 *
 *   deployment_configuration  ID of an OpenMetal deployment configuration (CycleOS ramdisk)
 *   ssh_public_key            an SSH public key for the servers
 *   ssh_key_ids               IDs of SSH keys saved at OpenMetal
 *   ip_block_purchase         true: buy an IP block when the server's are full (costs money)
 */
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

export const HubConfig = Type.Object({
  deployment_configuration: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
  ssh_public_key: Type.Optional(Type.String({ minLength: 16, maxLength: 16_384, pattern: '^(ssh|ecdsa)-[^\\n]+$' })),
  ssh_key_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }), { minItems: 1, maxItems: 32 })),
  ip_block_purchase: Type.Optional(Type.Boolean())
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
    return { ok: false, reason: `does not match the expected settings${where}: ${first?.message ?? 'invalid'} (allowed keys: ${KEYS.join(', ')})` }
  }
  return { ok: true, value: parsed }
}

export interface ProvisioningSettings {
  readonly deploymentConfiguration: string
  /** where the configuration ID was set */
  readonly deploymentConfigurationSetting: 'auth.config.deployment_configuration' | 'OPENMETAL_DEPLOYMENT_CONFIGURATION'
  readonly sshPublicKey: string | undefined
  readonly sshKeyIds: readonly string[]
}

/**
 * What a new server is ordered with: the hub's settings where it has them, the operator's
 * otherwise. A hub that names SSH keys one way replaces the operator's keys of both kinds.
 */
export function provisioningSettings (hub: HubConfig, operator: { deploymentConfiguration: string | undefined, sshPublicKey: string | undefined, sshKeyIds: readonly string[] }): ProvisioningSettings | { missing: string } {
  const deploymentConfiguration = hub.deployment_configuration ?? operator.deploymentConfiguration
  if (deploymentConfiguration === undefined) return { missing: 'no deployment configuration: set OPENMETAL_DEPLOYMENT_CONFIGURATION or deployment_configuration in auth.config' }
  const hubHasKeys = hub.ssh_public_key !== undefined || hub.ssh_key_ids !== undefined
  const sshPublicKey = hubHasKeys ? hub.ssh_public_key : operator.sshPublicKey
  const sshKeyIds = hubHasKeys ? hub.ssh_key_ids ?? [] : operator.sshKeyIds
  if (sshPublicKey === undefined && sshKeyIds.length === 0) return { missing: 'no SSH key: set OPENMETAL_SSH_PUBLIC_KEY or OPENMETAL_SSH_KEY_IDS, or ssh_public_key / ssh_key_ids in auth.config' }
  const deploymentConfigurationSetting = hub.deployment_configuration === undefined ? 'OPENMETAL_DEPLOYMENT_CONFIGURATION' : 'auth.config.deployment_configuration'
  return { deploymentConfiguration, deploymentConfigurationSetting, sshPublicKey, sshKeyIds }
}

/** Whether this hub's server may have IP blocks bought for it: the hub's say, else the operator's (off by default). */
export function blockPurchaseAllowed (hub: HubConfig, operator: { ipBlockPurchase: boolean }): boolean {
  return hub.ip_block_purchase ?? operator.ipBlockPurchase
}
