/**
 * Cycle's `provision_options` against what an OpenMetal order can do. An option the adapter
 * cannot honour is refused by name before anything is bought: silently buying a server
 * without the encryption, the reservation or the storage Cycle asked for is worse than saying so. Pure.
 */

export interface UnhonourableOption {
  /** the option's name, as Cycle sent it */
  readonly option: string
  readonly reason: string
}

/** The first option in `options` an OpenMetal order cannot honour for a SKU with `storageGb` of disks, if any. */
export function unhonourableOption (options: Readonly<Record<string, unknown>> | null | undefined, storageGb: number): UnhonourableOption | undefined {
  if (options === null || options === undefined) return undefined
  const reservation = options.reservation_id
  if (reservation !== undefined && reservation !== null && reservation !== '') {
    return { option: 'reservation_id', reason: 'OpenMetal orders are not placed against reservations through this adapter' }
  }
  if (options.encrypt_storage === true) {
    return { option: 'encrypt_storage', reason: 'OpenMetal bare metal offers no storage encryption at order time (encrypt inside the server instead)' }
  }
  const attached = options.attached_storage_size
  if (attached !== undefined && attached !== null) {
    const size = typeof attached === 'number' ? attached : typeof attached === 'string' && /^\d+(\.\d+)?$/.test(attached.trim()) ? Number(attached) : Number.NaN
    if (!Number.isFinite(size) || size < 0) return { option: 'attached_storage_size', reason: 'must be a number of GB' }
    if (size > storageGb) return { option: 'attached_storage_size', reason: `${size} GB is more than this model's ${storageGb} GB of local disks, and OpenMetal bare metal has no attachable storage` }
  }
  return undefined
}
