/**
 * OpenMetal's public catalog -> Cycle's locations and server models. Pure functions.
 *
 * A pod is offered only when its release_status is `released` (or not given: the spec makes
 * it optional). Any other value, `pre-release` or one this adapter does not know, lists the
 * pod with `compatible: false` (Cycle shows it but does not offer it), keeps it out of every
 * model's locations, and provision refuses it: OpenMetal does not sell it to everyone.
 */
import type { Location, ProviderServerModel, Storage, NIC, GPU } from '../generated/cycle-ial.ts'
import type { HardwareAnswer, PodsAnswer } from '../openmetal/answers.ts'

export interface Pod {
  readonly id: string
  readonly released: boolean
  /** what OpenMetal said of its release ('released' when it said nothing) */
  readonly releaseStatus: string
}

/** The release states a pod is offered in. */
const OFFERED_RELEASE_STATUSES = new Set(['released'])

export function podsOf (pods: PodsAnswer): Pod[] {
  return Object.entries(pods)
    .map(([id, details]) => {
      const releaseStatus = details.release_status ?? 'released'
      return { id, released: OFFERED_RELEASE_STATUSES.has(releaseStatus), releaseStatus }
    })
    .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
}

/** "Ashburn, VA" -> city and state; OpenMetal's region is a country or a continent code. */
export function geographyOf (displayName: string | undefined, region: string | undefined): { city: string, state: string, country: string } {
  const [city = '', qualifier = ''] = (displayName ?? '').split(',').map((part) => part.trim())
  if (region === 'US') return { city, state: qualifier, country: 'US' }
  return { city, state: '', country: /^[A-Z]{2}$/.test(qualifier) ? qualifier : (region ?? '') }
}

export function locationsFromInventory (pods: PodsAnswer): Location[] {
  return podsOf(pods).map(({ id, released, releaseStatus }) => {
    const details = pods[id] ?? {}
    const place = geographyOf(details.displayName, details.region)
    const hasCoordinates = typeof details.latitude === 'number' && typeof details.longitude === 'number'
    return {
      name: details.displayName ?? details.label ?? id,
      // Cycle's platform requires one: the pod's code, or failing that its key (pod_1 -> POD1), the same on every call
      abbreviation: abbreviationOf(id, details.code),
      geographic: hasCoordinates
        ? { latitude: details.latitude ?? 0, longitude: details.longitude ?? 0, city: place.city, state: place.state, country: place.country, region: details.region ?? '' }
        : null,
      provider: { location_id: id, code: details.code ?? id, availability_zones: [] },
      features: { available: [], supported: [] },
      annotations: { label: details.label ?? '', release_status: releaseStatus },
      compatible: released
    }
  })
}

/** A location's short name for Cycle: never empty, the same for the same pod on every call. */
export function abbreviationOf (podId: string, code: string | undefined): string {
  const fromCode = code?.trim().toUpperCase() ?? ''
  return fromCode !== '' ? fromCode : podId.replace(/[^A-Za-z0-9]/g, '').toUpperCase() || 'POD'
}

/** The disk space of a SKU, all drives together, in GB. */
export function storageGbOf (hardware: HardwareAnswer): number {
  return storageOf(hardware).reduce((total, drive) => total + drive.count * drive.size_gb, 0)
}

/** Catalog numbers come as numbers or numeric strings ("256"); Cycle's Go types need integers. */
export function integerOf (value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number.parseFloat(value) : Number.NaN
  return Number.isFinite(number) ? Math.max(0, Math.round(number)) : 0
}

function baremetalProduct (hardware: HardwareAnswer): HardwareAnswer['products'][number] | undefined {
  const products = hardware.products
  return products.find((product) => /bare ?metal/i.test(`${product.name} ${product.add_on_code}`)) ?? products[0]
}

function storageOf (hardware: HardwareAnswer): Storage[] {
  const components = Object.values(hardware.storage ?? {}).filter((component) => component !== undefined)
  return components.flatMap((component) => component.drives.map((drive) => ({
    count: integerOf(drive.count),
    size_gb: integerOf(drive.raw),
    type: component.type ?? component.name,
    extra: { role: component.name }
  })))
}

function networkOf (hardware: HardwareAnswer): NIC[] {
  const count = integerOf(hardware.network?.count)
  return Array.from({ length: count }, () => ({ scope: 'public', type: 'ethernet', throughput: `${integerOf(hardware.network?.speed)}Gbps` }))
}

function gpuOf (hardware: HardwareAnswer): GPU | null {
  const gpu: Record<string, unknown> | null | undefined = hardware.gpu
  if (gpu === null || gpu === undefined || typeof gpu !== 'object') return null
  const name = [gpu.name, gpu.model, gpu.type].find((value) => typeof value === 'string')
  const vram = gpu.vram_gb ?? gpu.vram ?? gpu.memory
  return {
    count: Math.max(1, integerOf(gpu.count ?? 1)),
    type: typeof name === 'string' ? name : 'gpu',
    ...(vram === undefined ? {} : { vram_gb: integerOf(vram) }),
    shared: false
  }
}

function describe (hardware: HardwareAnswer): string {
  const drives = storageOf(hardware).map((drive) => `${drive.count} x ${drive.size_gb} GB ${drive.type}`).join(', ')
  return `${hardware.processor.type ?? hardware.processor.name}, ${integerOf(hardware.ram.raw)} GB ${hardware.ram.type ?? 'RAM'}${drives === '' ? '' : `, ${drives}`}`
}

/** SKU -> pods (released only) where OpenMetal has stock now. */
export function stockBySku (availability: ReadonlyArray<{ pod: Pod, inventory: Readonly<Record<string, { count: number }>> }>): Map<string, string[]> {
  const stock = new Map<string, string[]>()
  for (const { pod, inventory } of availability) {
    if (!pod.released) continue
    for (const [sku, entry] of Object.entries(inventory)) {
      if (entry.count <= 0) continue
      stock.set(sku, [...(stock.get(sku) ?? []), pod.id])
    }
  }
  return stock
}

export function serverModelsFromCatalog (hardware: Readonly<Record<string, HardwareAnswer>>, stock: ReadonlyMap<string, string[]>): ProviderServerModel[] {
  const models: ProviderServerModel[] = []
  for (const [sku, type] of Object.entries(hardware).sort(([a], [b]) => a.localeCompare(b))) {
    const product = baremetalProduct(type)
    if (product === undefined) continue
    const processor = type.processor
    const cpus = Math.max(1, integerOf(processor.cpuCount))
    const cores = integerOf(processor.raw_cores)
    models.push({
      name: product.name,
      description: describe(type),
      drivers: null,
      specs: {
        cpu: {
          count: cpus,
          cores: Math.round(cores / cpus),
          threads: cores === 0 ? null : Math.max(1, Math.round(integerOf(processor.raw_threads) / cores)),
          type: processor.name,
          shared: false,
          extra: { speed: processor.speed ?? '', description: processor.type ?? '' }
        },
        gpu: gpuOf(type),
        memory: { size_gb: integerOf(type.ram.raw), type: type.ram.type ?? '', extra: { speed: type.ram.speed ?? '' } },
        storage: storageOf(type),
        network: networkOf(type),
        features: { raid: null, hypervisor: true, extra: {} }
      },
      provider: {
        category: 'bare-metal',
        class: type.variant_label ?? null,
        model_id: sku,
        locations: stock.get(sku) ?? [],
        availability_zones: null
      },
      // OpenMetal bills in 30-day cycles; the hourly figure is for display
      pricing: { hourly: integerOf(product.hourly_cost_mils), monthly: integerOf(product['30_day_cost_mils']) },
      compatible: true
    })
  }
  return models
}
