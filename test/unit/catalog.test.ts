import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { geographyOf, integerOf, locationsFromInventory, podsOf, serverModelsFromCatalog, stockBySku } from '../../src/mapping/catalog.ts'
import { hardware, PODS } from '../../src/simulator/catalog.ts'
import type { HardwareType, InventoryAvailability } from '../../src/generated/openmetal.ts'

const inventory = { locations: { pod_10: { displayName: 'Dallas, TX', region: 'US', code: 'dfw1', latitude: 32.7, longitude: -96.8, release_status: 'released' }, ...PODS } }

describe('locations', () => {
  test('one location per pod, in pod order, with geography and provider fields', () => {
    const locations = locationsFromInventory(inventory)
    expect(locations.map((location) => location.provider?.location_id)).toEqual(['pod_1', 'pod_2', 'pod_3', 'pod_5', 'pod_10'])
    expect(locations[0]).toMatchObject({
      name: 'Ashburn, VA',
      abbreviation: 'IAD3',
      geographic: { latitude: 39.0438, longitude: -77.4874, city: 'Ashburn', state: 'VA', country: 'US', region: 'US' },
      provider: { location_id: 'pod_1', code: 'iad3', availability_zones: [] },
      compatible: true
    })
  })

  test('pre-release pods are listed but not compatible', () => {
    expect(locationsFromInventory(inventory).find((location) => location.provider?.location_id === 'pod_5')?.compatible).toBe(false)
    expect(podsOf(inventory).find((pod) => pod.id === 'pod_5')?.released).toBe(false)
  })

  test.each([
    ['Ashburn, VA', 'US', { city: 'Ashburn', state: 'VA', country: 'US' }],
    ['Amsterdam, NL', 'EU', { city: 'Amsterdam', state: '', country: 'NL' }],
    ['Singapore', 'APAC', { city: 'Singapore', state: '', country: 'APAC' }],
    [undefined, undefined, { city: '', state: '', country: '' }]
  ])('geography of %j in %j', (name, region, expected) => {
    expect(geographyOf(name, region)).toEqual(expected)
  })

  test('a pod without coordinates has no geographic block', () => {
    expect(locationsFromInventory({ locations: { pod_9: { displayName: 'Nowhere' } } })[0]?.geographic).toBeNull()
  })
})

describe('server models', () => {
  const catalog = hardware()
  const availability = (pod: string, counts: Record<string, number>): { pod: { id: string, released: boolean }, inventory: InventoryAvailability } => ({
    pod: { id: pod, released: pod !== 'pod_5' },
    inventory: { ...Object.fromEntries(Object.entries(counts).map(([sku, count]) => [sku, { count, max_size: count }])), timestamp: '2026-01-01T00:00:00Z', pod_location: pod }
  })

  test('SKU = model ID; integer specs and prices; locations = released pods with stock', () => {
    const stock = stockBySku([availability('pod_1', { medium_v4: 3, large_v4: 0 }), availability('pod_2', { medium_v4: 1 }), availability('pod_5', { large_v4: 9 })])
    const models = serverModelsFromCatalog(catalog, stock)
    const medium = models.find((model) => model.provider.model_id === 'medium_v4')
    expect(medium).toMatchObject({
      pricing: { hourly: 1380, monthly: 792000 },
      specs: { cpu: { count: 2, cores: 12, threads: 2 }, memory: { size_gb: 256, type: 'DDR5' }, storage: [{ count: 1, size_gb: 6400 }, { count: 2, size_gb: 480 }] },
      provider: { category: 'bare-metal', locations: ['pod_1', 'pod_2'] }
    })
    expect(models.find((model) => model.provider.model_id === 'large_v4')?.provider.locations).toEqual([])
  })

  test('GPU hardware gets a GPU block with integer count and VRAM', () => {
    const gpu = serverModelsFromCatalog(catalog, new Map()).find((model) => model.provider.model_id === 'xl_v4_gpu')
    expect(gpu?.specs.gpu).toMatchObject({ count: 2, vram_gb: 80, type: 'NVIDIA H100 PCIe' })
  })

  test('hardware without a product is skipped', () => {
    const medium = catalog.medium_v4 as HardwareType
    expect(serverModelsFromCatalog({ bare: { ...medium, products: [] } }, new Map())).toEqual([])
  })

  test('every field Cycle decodes as a Go integer is an integer, whatever the catalog says', () => {
    const numeric = fc.oneof(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.integer({ min: 0, max: 1e7 }), fc.double({ min: 0, max: 1e5, noNaN: true }).map(String), fc.constant('x'))
    fc.assert(fc.property(numeric, numeric, numeric, numeric, numeric, numeric, (cores, threads, ram, drive, hourly, monthly) => {
      const medium = catalog.medium_v4 as HardwareType
      const odd = {
        ...medium,
        processor: { ...medium.processor, raw_cores: Number(cores) || 0, raw_threads: Number(threads) || 0 },
        ram: { ...medium.ram, raw: String(ram) },
        storage: { nvme_ssd: { id: 1, name: 'nvme_ssd', raw: String(drive), type: 'nvme', drives: [{ id: 1, raw: String(drive), count: Number(cores) || 0 }] } },
        products: [{ ...medium.products[0]!, hourly_cost_mils: Number(hourly) || 0, '30_day_cost_mils': Number(monthly) || 0 }]
      } as HardwareType
      const [model] = serverModelsFromCatalog({ odd }, new Map())
      const integers = [model!.pricing.hourly, model!.pricing.monthly, model!.specs.cpu.count, model!.specs.cpu.cores, model!.specs.cpu.threads ?? 0, model!.specs.memory.size_gb, ...(model!.specs.storage ?? []).flatMap((s) => [s.count, s.size_gb])]
      for (const value of integers) expect(Number.isInteger(value)).toBe(true)
    }))
  })

  test.each([[256, 256], ['256', 256], ['6400', 6400], [1.5, 2], ['3.84', 4], ['x', 0], [null, 0], [-3, 0]])('integerOf(%j) = %j', (input, expected) => {
    expect(integerOf(input)).toBe(expected)
  })
})
