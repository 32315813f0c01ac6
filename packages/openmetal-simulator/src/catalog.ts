/** The simulator's public catalog: pods, hardware, add-ons and stock, in the spec's shapes. */
import type { HardwareType, LocationDetails, ProductCatalog } from './generated/openmetal.ts'

export const PODS: Readonly<Record<string, Required<LocationDetails>>> = {
  pod_1: { label: 'US-East', displayName: 'Ashburn, VA', region: 'US', code: 'iad3', latitude: 39.0438, longitude: -77.4874, release_status: 'released' },
  pod_2: { label: 'US-West', displayName: 'Los Angeles, CA', region: 'US', code: 'lax3', latitude: 33.9425, longitude: -118.4081, release_status: 'released' },
  pod_3: { label: 'EU-West', displayName: 'Amsterdam, NL', region: 'EU', code: 'ams2', latitude: 52.3676, longitude: 4.9041, release_status: 'released' },
  pod_5: { label: 'AP-Southeast', displayName: 'Singapore, SG', region: 'APAC', code: 'sin1', latitude: 1.3521, longitude: 103.8198, release_status: 'pre-release' }
}

interface Sku {
  readonly id: number
  readonly cpu: string
  readonly cpuCount: number
  readonly cores: number
  readonly threads: number
  readonly speed: string
  /** GB, as the numeric string the real catalog uses */
  readonly ram: string
  readonly nvmeGb: number
  readonly nvmeDrives: number
  readonly hourlyMils: number
  readonly thirtyDayMils: number
  readonly gpu?: Record<string, unknown>
}

const SKUS: Readonly<Record<string, Sku>> = {
  medium_v4: { id: 17, cpu: 'Intel Xeon Silver 4510', cpuCount: 2, cores: 24, threads: 48, speed: '2.4/4.1Ghz', ram: '256', nvmeGb: 6400, nvmeDrives: 1, hourlyMils: 1380, thirtyDayMils: 792_000 },
  large_v4: { id: 18, cpu: 'Intel Xeon Gold 6526Y', cpuCount: 2, cores: 32, threads: 64, speed: '2.8/3.9Ghz', ram: '512', nvmeGb: 6400, nvmeDrives: 2, hourlyMils: 2160, thirtyDayMils: 1_101_600 },
  xl_v4: { id: 19, cpu: 'Intel Xeon Gold 6530', cpuCount: 2, cores: 64, threads: 128, speed: '2.1/4.0Ghz', ram: '1024', nvmeGb: 6400, nvmeDrives: 4, hourlyMils: 3400, thirtyDayMils: 1_958_400 },
  xxl_v4: { id: 20, cpu: 'Intel Xeon Gold 6530', cpuCount: 2, cores: 64, threads: 128, speed: '2.1/4.0Ghz', ram: '2048', nvmeGb: 6400, nvmeDrives: 6, hourlyMils: 4850, thirtyDayMils: 2_793_600 },
  xl_v4_gpu: { id: 21, cpu: 'Intel Xeon Gold 6530', cpuCount: 2, cores: 64, threads: 128, speed: '2.1/4.0Ghz', ram: '1024', nvmeGb: 3840, nvmeDrives: 2, hourlyMils: 6900, thirtyDayMils: 3_974_400, gpu: { name: 'NVIDIA H100 PCIe', count: 2, vram_gb: 80 } }
}

export function isKnownSku (sku: string): boolean {
  return Object.hasOwn(SKUS, sku)
}

export function isKnownPod (pod: string): boolean {
  return Object.hasOwn(PODS, pod)
}

/** What a node of this SKU reports about itself in cloud stats. */
export function nodeHardware (sku: string): { cpu: number, memory: string } | undefined {
  const spec = Object.hasOwn(SKUS, sku) ? SKUS[sku] : undefined
  return spec === undefined ? undefined : { cpu: spec.threads, memory: `${spec.ram} GB` }
}

function hardwareType (name: string, sku: Sku): HardwareType {
  return {
    id: sku.id,
    name,
    model: `SYS-${sku.id}`,
    display_name: null,
    variant_label: 'v4',
    createdAt: '2024-06-03T14:59:45.175Z',
    updatedAt: '2024-06-06T15:12:36.849Z',
    publishedAt: null,
    network: { id: 57, speed: 10, count: 2 },
    storage: {
      nvme_ssd: { id: sku.id * 10, name: 'nvme_ssd', model: null, raw: String(sku.nvmeGb * sku.nvmeDrives), type: 'nvme_ssd', drives: [{ id: sku.id * 10 + 1, raw: String(sku.nvmeGb), count: sku.nvmeDrives }] },
      boot: { id: sku.id * 10 + 2, name: 'boot', model: null, raw: '960', type: null, drives: [{ id: sku.id * 10 + 3, raw: '480', count: 2 }] }
    },
    locations: { ...PODS },
    processor: { id: sku.id, raw_cores: sku.cores, compute_cores: sku.cores, raw_threads: sku.threads, type: `${sku.cpuCount} x ${sku.cpu}`, name: sku.cpu, speed: sku.speed, cpuCount: sku.cpuCount },
    ram: { id: sku.id, raw: sku.ram, compute: sku.ram, type: 'DDR5', speed: '4800MHz' },
    gpu: sku.gpu ?? null,
    products: [{
      name: `Baremetal - ${name.replace(/_/g, ' ')}`,
      add_on_code: `baremetal_${name}`,
      hourly_cost: sku.hourlyMils / 1000,
      hourly_cost_ltu: null,
      '30_day_cost': sku.thirtyDayMils / 1000,
      hourly_cost_mils: sku.hourlyMils,
      hourly_cost_ltu_mils: null,
      '30_day_cost_mils': sku.thirtyDayMils,
      bandwidth: { id: 44, egress_allotment: 500, allotment_unit: 'Mbps' },
      type: 'server'
    }]
  }
}

/** The add-on code of the one billable routed block size the simulator sells. */
export const IP_BLOCK_ADDON = 'ipv4_block_28'

/** The hardware part of the catalog, keyed by SKU (unit tests of the catalog mapping use it). */
export function hardware (): Record<string, HardwareType> {
  return Object.fromEntries(Object.entries(SKUS).map(([name, sku]) => [name, hardwareType(name, sku)]))
}

export function productCatalog (): ProductCatalog {
  return {
    hardware: hardware(),
    addons: {
      memory: [],
      storage: [],
      ip_block: [{ name: 'IPv4 /28 Block', add_on_code: IP_BLOCK_ADDON, hourly_cost: 0.03, hourly_cost_ltu: null, '30_day_cost': 21.6, hourly_cost_mils: 30, hourly_cost_ltu_mils: null, '30_day_cost_mils': 21_600, type: 'ip_block' }],
      other: []
    }
  }
}

export type Stock = Record<string, Record<string, number>>

/** xxl_v4 is sold out everywhere, xl_v4 is out of stock in pod_2, xl_v4_gpu exists only in pod_2. */
export function initialStock (): Stock {
  return {
    pod_1: { medium_v4: 500, large_v4: 200, xl_v4: 40, xxl_v4: 0, xl_v4_gpu: 0 },
    pod_2: { medium_v4: 300, large_v4: 100, xl_v4: 0, xxl_v4: 0, xl_v4_gpu: 4 },
    pod_3: { medium_v4: 200, large_v4: 50, xl_v4: 10, xxl_v4: 0, xl_v4_gpu: 0 },
    pod_5: { medium_v4: 20, large_v4: 0, xl_v4: 0, xxl_v4: 0, xl_v4_gpu: 0 }
  }
}

/**
 * The largest order of one SKU a pod takes at once. Capped at 10 so every node of a cloud
 * gets its primary address in the cloud's inventory /28 (11 usable) with one to spare.
 */
export function maxOrderSize (count: number): number {
  return Math.max(0, Math.min(count, 10))
}
