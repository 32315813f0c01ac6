/** The simulator's public catalog: pods, hardware and stock, in the shapes of the spec. */
import type { HardwareType, LocationDetails } from '../generated/openmetal.ts'

export const PODS: Record<string, Required<LocationDetails>> = {
  pod_1: { label: 'US-East', displayName: 'Ashburn, VA', region: 'US', code: 'iad3', latitude: 39.0438, longitude: -77.4874, release_status: 'released' },
  pod_2: { label: 'US-West', displayName: 'Los Angeles, CA', region: 'US', code: 'lax3', latitude: 33.9425, longitude: -118.4081, release_status: 'released' },
  pod_3: { label: 'EU-West', displayName: 'Amsterdam, NL', region: 'EU', code: 'ams2', latitude: 52.3676, longitude: 4.9041, release_status: 'released' },
  pod_5: { label: 'AP-Southeast', displayName: 'Singapore, SG', region: 'APAC', code: 'sin1', latitude: 1.3521, longitude: 103.8198, release_status: 'pre-release' }
}

interface Sku { id: number, cores: number, threads: number, cpus: number, cpu: string, ram: string, nvme: string, nvmeCount: number, hourly: number, monthly: number, gpu?: Record<string, unknown> }

const SKUS: Record<string, Sku> = {
  medium_v4: { id: 17, cores: 24, threads: 48, cpus: 2, cpu: 'Intel Xeon Silver 4510', ram: '256', nvme: '6400', nvmeCount: 1, hourly: 1380, monthly: 792000 },
  large_v4: { id: 18, cores: 32, threads: 64, cpus: 2, cpu: 'Intel Xeon Gold 6526Y', ram: '512', nvme: '6400', nvmeCount: 2, hourly: 2160, monthly: 1101600 },
  xl_v4: { id: 19, cores: 64, threads: 128, cpus: 2, cpu: 'Intel Xeon Gold 6530', ram: '1024', nvme: '6400', nvmeCount: 4, hourly: 3400, monthly: 1958400 },
  xxl_v4: { id: 20, cores: 64, threads: 128, cpus: 2, cpu: 'Intel Xeon Gold 6530', ram: '2048', nvme: '6400', nvmeCount: 6, hourly: 4850, monthly: 2793600 },
  xl_v4_gpu: { id: 21, cores: 64, threads: 128, cpus: 2, cpu: 'Intel Xeon Gold 6530', ram: '1024', nvme: '3840', nvmeCount: 2, hourly: 6900, monthly: 3974400, gpu: { name: 'NVIDIA H100 PCIe', count: 2, vram_gb: 80 } }
}

export function hardware (): Record<string, HardwareType> {
  return Object.fromEntries(Object.entries(SKUS).map(([name, sku]) => [name, {
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
      nvme_ssd: { id: sku.id * 10, name: 'nvme_ssd', model: null, raw: String(Number(sku.nvme) * sku.nvmeCount), type: 'nvme_ssd', drives: [{ id: sku.id * 10 + 1, raw: sku.nvme, count: sku.nvmeCount }] },
      boot: { id: sku.id * 10 + 2, name: 'boot', model: null, raw: '960', type: null, drives: [{ id: sku.id * 10 + 3, raw: '480', count: 2 }] }
    },
    locations: Object.fromEntries(Object.entries(PODS).map(([pod, details]) => [pod, details])),
    processor: { id: sku.id, raw_cores: sku.cores, compute_cores: sku.cores, raw_threads: sku.threads, type: `${sku.cpus} x ${sku.cpu}`, name: sku.cpu, speed: '2.4/4.1Ghz', cpuCount: sku.cpus },
    ram: { id: sku.id, raw: sku.ram, compute: sku.ram, type: 'DDR5', speed: '4400MHz' },
    gpu: sku.gpu ?? null,
    products: [{
      name: `Baremetal - ${name.replace(/_/g, ' ')}`,
      add_on_code: `baremetal_${name}`,
      hourly_cost: sku.hourly / 1000,
      hourly_cost_ltu: null,
      '30_day_cost': sku.monthly / 1000,
      hourly_cost_mils: sku.hourly,
      hourly_cost_ltu_mils: null,
      '30_day_cost_mils': sku.monthly,
      bandwidth: { id: 44, egress_allotment: 500, allotment_unit: 'Mbps' },
      type: 'server'
    }]
  } satisfies HardwareType]))
}

/** Initial stock: xxl_v4 is sold out everywhere; xl_v4_gpu only in pod_2. */
export function initialStock (): Record<string, Record<string, number>> {
  return {
    pod_1: { medium_v4: 500, large_v4: 200, xl_v4: 40, xxl_v4: 0, xl_v4_gpu: 0 },
    pod_2: { medium_v4: 300, large_v4: 100, xl_v4: 0, xxl_v4: 0, xl_v4_gpu: 4 },
    pod_3: { medium_v4: 200, large_v4: 50, xl_v4: 10, xxl_v4: 0, xl_v4_gpu: 0 },
    pod_5: { medium_v4: 20, large_v4: 0, xl_v4: 0, xxl_v4: 0, xl_v4_gpu: 0 }
  }
}
