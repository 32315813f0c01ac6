/**
 * The rules the real API applies beyond the request schemas. What it would refuse, the
 * simulator refuses with a 400 naming the problem, so the adapter's own checks are tested
 * against an upstream that is at least as strict.
 */
import { createHash } from 'node:crypto'
import type { OrderRequest } from './generated/openmetal.ts'
import { isKnownPod, isKnownSku, maxOrderSize } from './catalog.ts'
import { badRequest } from './http.ts'
import type { ConfigurationFields, SimulatorState } from './state.ts'

export function checkOrder (state: SimulatorState, orgId: string, request: OrderRequest): void {
  const { items, config_options: options } = request.fields
  if (items.length === 0) throw badRequest('fields.items must contain at least one item')
  const wanted = new Map<string, number>()
  for (const [index, item] of items.entries()) {
    const where = `fields.items[${index}]`
    if (!isKnownSku(item.hardware_sku)) throw badRequest(`${where}.hardware_sku: unknown hardware SKU ${item.hardware_sku}`)
    if (!isKnownPod(item.location)) throw badRequest(`${where}.location: unknown location ${item.location}`)
    // adding nodes to an existing cloud is a real feature the adapter never uses
    if (item.cloud_id !== undefined) throw badRequest(`${where}.cloud_id: adding nodes to an existing cloud is not supported by the simulator`)
    if (item.type === 'baremetal') {
      const modifications = item.modifications
      if (modifications?.operating_system === undefined && modifications?.deployment_configuration === undefined) {
        throw badRequest(`${where}.modifications: baremetal orders need operating_system or deployment_configuration`)
      }
      const configurationId = modifications.deployment_configuration
      if (configurationId !== undefined && state.configuration(orgId, configurationId) === undefined) {
        throw badRequest(`${where}.modifications.deployment_configuration: unknown deployment configuration ${configurationId}`)
      }
      const os = modifications.operating_system
      if (os !== undefined && ((os.os_key ?? '') === '' || (os.version_key ?? '') === '')) {
        throw badRequest(`${where}.modifications.operating_system needs os_key and version_key`)
      }
    }
    const key = `${item.location}/${item.hardware_sku}`
    wanted.set(key, (wanted.get(key) ?? 0) + item.quantity)
  }
  // one order deploys one cloud, and a cloud lives in one pod
  if (new Set(items.map((item) => item.location)).size > 1) throw badRequest('all items of an order must share one location')
  if (items.some((item) => item.type === 'baremetal')) {
    const keyIds = options?.public_key_ids ?? []
    if ((options?.public_key ?? '').trim() === '' && keyIds.length === 0) {
      throw badRequest('fields.config_options: baremetal orders need public_key or public_key_ids')
    }
    const unknown = keyIds.find((keyId) => state.publicKey(orgId, keyId) === undefined)
    if (unknown !== undefined) throw badRequest(`fields.config_options.public_key_ids: unknown public key ${unknown}`)
  }
  for (const [key, quantity] of wanted) {
    const [pod = '', sku = ''] = key.split('/')
    const count = state.stock[pod]?.[sku] ?? 0
    if (count <= 0) throw badRequest(`${sku} is out of stock in ${pod}`)
    if (quantity > maxOrderSize(count)) throw badRequest(`${pod} takes at most ${maxOrderSize(count)} ${sku} in one order`)
  }
}

/** The deployment-mode rules, checked on create and again after a PATCH merges its fields. */
export function checkConfiguration (fields: ConfigurationFields & Record<string, unknown>): void {
  if (fields.image_ramdisk_boot_iso !== undefined) throw badRequest('image_ramdisk_boot_iso: ramdisk boot ISO deployments are not currently available')
  const disk = fields.image_source !== undefined
  const ramdisk = fields.image_ramdisk_kernel !== undefined || fields.image_ramdisk_ramdisk !== undefined
  if (disk && ramdisk) throw badRequest('image_source and image_ramdisk_kernel/image_ramdisk_ramdisk are mutually exclusive deployment modes')
  if ((fields.image_ramdisk_kernel === undefined) !== (fields.image_ramdisk_ramdisk === undefined)) {
    throw badRequest('image_ramdisk_kernel and image_ramdisk_ramdisk are required together')
  }
  if (disk && (fields.image_os_hash_algo === undefined || fields.image_os_hash_value === undefined)) {
    throw badRequest('image_source requires image_os_hash_algo and image_os_hash_value')
  }
  const args = fields.kernel_args
  if (args !== undefined) {
    if (!ramdisk) throw badRequest('kernel_args is only valid with image_ramdisk_kernel and image_ramdisk_ramdisk')
    if (args.trim() === '') throw badRequest('kernel_args must not be empty')
    if (/[\r\n]/.test(args)) throw badRequest('kernel_args must not contain newline or carriage return characters')
    if (args.length > 1024) throw badRequest('kernel_args must not exceed 1024 characters')
  }
}

const KEY_TYPES = new Set(['ssh-rsa', 'ssh-dss', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'])

/** Checks `<key-type> <base64-data> [comment]` and answers the key's SHA256 fingerprint. */
export function fingerprintOf (keyData: string): string {
  const [type = '', data = ''] = keyData.trim().split(/\s+/)
  if (!KEY_TYPES.has(type)) throw badRequest('Unsupported SSH key type')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) throw badRequest('Invalid base64 key data')
  return `SHA256:${createHash('sha256').update(Buffer.from(data, 'base64')).digest('base64').replace(/=+$/, '')}`
}
