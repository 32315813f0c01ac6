/** Unit tests of src/mapping/catalog.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { Value } from 'typebox/value'
import { abbreviationOf, geographyOf, integerOf, locationsFromInventory, podsOf, serverModelsFromCatalog, stockBySku } from '../../../src/mapping/catalog.ts'
import type { Pod } from '../../../src/mapping/catalog.ts'
import { Location as CycleLocation, ProviderServerModel } from '../../../src/generated/cycle-ial.ts'
import type { HardwareProduct, HardwareType, Locations } from '../../../src/generated/openmetal.ts'
import { AvailabilityAnswer, PodsAnswer, podMapIn, stockIn } from '../../../src/openmetal/answers.ts'
import { readAnswer } from '../../../src/openmetal/tolerant-reader.ts'

/** A locations answer as the client reads it (wrapped or bare, unreadable pods skipped). */
function pods (body: unknown): PodsAnswer {
  return readAnswer(PodsAnswer, podMapIn(body), 'getLocations')
}

/**
 * OpenMetal's public catalog -> Cycle's locations and server models. Cycle decodes the
 * answer into Go structs, so integers must be integers whatever the catalog says.
 */
describe('src/mapping/catalog.ts', () => {
  /** The live catalog sends numeric strings where the spec says number; the mapping must cope. */
  const loose = (value: number | string): number => value as unknown as number

  function product (overrides: Partial<HardwareProduct> = {}): HardwareProduct {
    return {
      name: 'Baremetal - medium v4',
      add_on_code: 'baremetal_medium_v4',
      hourly_cost: 1.38,
      hourly_cost_ltu: null,
      '30_day_cost': 792,
      hourly_cost_mils: 1380,
      hourly_cost_ltu_mils: null,
      '30_day_cost_mils': 792_000,
      bandwidth: { id: 44, egress_allotment: 500, allotment_unit: 'Mbps' },
      type: 'server',
      ...overrides
    }
  }

  /** A medium_v4 as the live /v1/products returns it: RAM and drive sizes are strings. */
  function mediumV4 (overrides: Partial<HardwareType> = {}): HardwareType {
    return {
      locations: {},
      id: 17,
      name: 'medium_v4',
      model: 'SYS-121C-TN10R',
      display_name: null,
      variant_label: 'v4',
      network: { id: 57, speed: 10, count: 2 },
      storage: {
        nvme_ssd: { id: 170, name: 'nvme_ssd', model: 'Micron 7450', raw: '6400', type: 'nvme_ssd', drives: [{ id: 171, raw: '6400', count: 1 }] },
        boot: { id: 172, name: 'boot', model: null, raw: '960', type: null, drives: [{ id: 173, raw: '480', count: 2 }] }
      },
      processor: { id: 17, raw_cores: 24, compute_cores: 24, raw_threads: 48, type: '2 x Intel Xeon Silver 4510', name: 'Intel Xeon Silver 4510', speed: '2.4/4.1Ghz', cpuCount: 2 },
      ram: { id: 17, raw: '256', compute: '256', type: 'DDR5', speed: '4800MHz' },
      gpu: null,
      products: [product()],
      ...overrides
    }
  }

  function gpuV4 (): HardwareType {
    const base = mediumV4()
    return {
      ...base,
      id: 21,
      name: 'xl_v4_gpu',
      processor: { ...base.processor, raw_cores: 64, compute_cores: 64, raw_threads: 128, name: 'Intel Xeon Gold 6530', type: '2 x Intel Xeon Gold 6530' },
      ram: { ...base.ram, raw: '1024', compute: '1024' },
      gpu: { name: 'NVIDIA A100', count: '2', vram_gb: '40' },
      products: [product({ name: 'Baremetal - xl v4 gpu', add_on_code: 'baremetal_xl_v4_gpu', hourly_cost_mils: 6900, '30_day_cost_mils': 3_974_400 })]
    }
  }

  function only<T> (items: readonly T[]): T {
    expect(items).toHaveLength(1)
    const [item] = items
    if (item === undefined) throw new Error('expected exactly one item')
    return item
  }

  describe('locationsFromInventory', () => {
    const inventory: Locations = {
      locations: {
        pod_10: { label: 'US-Central', displayName: 'Dallas, TX', region: 'US', code: 'dfw1', latitude: 32.7767, longitude: -96.797, release_status: 'released' },
        pod_2: { label: 'EU-West', displayName: 'Amsterdam, NL', region: 'EU', code: 'ams2', latitude: 52.3676, longitude: 4.9041, release_status: 'released' },
        pod_1: { label: 'US-East', displayName: 'Ashburn, VA', region: 'US', code: 'iad3', latitude: 39.0438, longitude: -77.4874, release_status: 'released' },
        pod_7: { label: 'AP-Southeast', displayName: 'Singapore, SG', region: 'APAC', code: 'sin1', latitude: 1.3521, longitude: 103.8198, release_status: 'pre-release' }
      }
    }
    const byPod = (pod: string) => only(locationsFromInventory(pods(inventory)).filter((location) => location.provider?.location_id === pod))

    test('one location per pod, sorted by pod number (pod_2 before pod_10)', () => {
      expect(locationsFromInventory(pods(inventory)).map((location) => location.provider?.location_id)).toEqual(['pod_1', 'pod_2', 'pod_7', 'pod_10'])
      expect(podsOf(pods(inventory)).map((pod) => pod.id)).toEqual(['pod_1', 'pod_2', 'pod_7', 'pod_10'])
    })

    test('the bare map pod_N -> details (how the mapping brief describes the answer) reads the same as the spec\'s wrapped one', () => {
      const bare = inventory.locations as unknown as Locations
      expect(locationsFromInventory(pods(bare))).toEqual(locationsFromInventory(pods(inventory)))
      expect(podsOf(pods(bare))).toEqual(podsOf(pods(inventory)))
      // a top-level key that is not a pod's details is not a pod
      expect(podsOf(pods({ ...bare, timestamp: 1764600000, meta: { count: 4 } })).map((pod) => pod.id)).toEqual(['pod_1', 'pod_2', 'pod_7', 'pod_10'])
      expect(podsOf(pods({}))).toEqual([])
    })

    test('a US pod: pod key, code, coordinates, city and state from "Ashburn, VA"', () => {
      expect(byPod('pod_1')).toMatchObject({
        name: 'Ashburn, VA',
        abbreviation: 'IAD3',
        provider: { location_id: 'pod_1', code: 'iad3', availability_zones: [] },
        geographic: { latitude: 39.0438, longitude: -77.4874, city: 'Ashburn', state: 'VA', country: 'US', region: 'US' },
        compatible: true
      })
    })

    test('a location always has an abbreviation (Cycle\'s platform requires one): the code, or failing that the pod key, the same every time', () => {
      const codeless = only(locationsFromInventory(pods({ locations: { pod_12: { displayName: 'Somewhere, XX' } } })))
      expect(codeless.abbreviation).toBe('POD12')
      expect(only(locationsFromInventory(pods({ locations: { pod_12: { displayName: 'Somewhere, XX', code: '  ' } } }))).abbreviation).toBe('POD12')
      expect(only(locationsFromInventory(pods({ locations: { pod_12: { code: 'lax1' } } }))).abbreviation).toBe('LAX1')
      expect(abbreviationOf('---', undefined)).toBe('POD')
    })

    test('a non-US pod takes its country from "Amsterdam, NL", not from the region "EU"', () => {
      expect(byPod('pod_2').geographic).toEqual({ latitude: 52.3676, longitude: 4.9041, city: 'Amsterdam', state: '', country: 'NL', region: 'EU' })
    })

    test('a pre-release pod is listed but not compatible', () => {
      expect(byPod('pod_7').compatible).toBe(false)
      expect(byPod('pod_10').compatible).toBe(true)
    })

    test.each([
      ['no release status', {}, true],
      ['released', { release_status: 'released' }, true],
      ['pre-release', { release_status: 'pre-release' }, false],
      ['a release status this adapter does not know', { release_status: 'limited-availability' }, false],
      ['a null release status (read as not given)', { release_status: null }, true]
    ])('%s -> compatible %s', (_name, details, compatible) => {
      const location = only(locationsFromInventory(pods({ locations: { pod_3: details } })))
      expect(location.compatible).toBe(compatible)
      // an unknown state is shown as OpenMetal said it, and never offered
      expect(podsOf(pods({ locations: { pod_3: details } }))[0]?.released).toBe(compatible)
    })

    test('a pod without coordinates has no geographic block, and its name falls back to the label, then the key', () => {
      expect(only(locationsFromInventory(pods({ locations: { pod_4: { label: 'Lab', latitude: 1 } } })))).toMatchObject({ name: 'Lab', geographic: null, provider: { location_id: 'pod_4', code: 'pod_4' } })
      expect(only(locationsFromInventory(pods({ locations: { pod_4: {} } }))).name).toBe('pod_4')
    })

    test('no locations at all is an empty list', () => {
      expect(locationsFromInventory(pods({}))).toEqual([])
      expect(locationsFromInventory(pods({ locations: {} }))).toEqual([])
    })

    test('every location matches Cycle\'s Location schema', () => {
      for (const location of locationsFromInventory(pods(inventory))) expect(Value.Check(CycleLocation, location)).toBe(true)
    })
  })

  describe('geographyOf', () => {
    test.each([
      ['Ashburn, VA', 'US', { city: 'Ashburn', state: 'VA', country: 'US' }],
      ['Los Angeles, CA', 'US', { city: 'Los Angeles', state: 'CA', country: 'US' }],
      ['Amsterdam, NL', 'EU', { city: 'Amsterdam', state: '', country: 'NL' }],
      ['Singapore', 'APAC', { city: 'Singapore', state: '', country: 'APAC' }],
      [undefined, undefined, { city: '', state: '', country: '' }]
    ])('%j in region %j', (displayName, region, expected) => {
      expect(geographyOf(displayName, region)).toEqual(expected)
    })
  })

  describe('integerOf', () => {
    test.each<[unknown, number]>([
      [256, 256], ['256', 256], ['6400', 6400], [1.5, 2], ['3.84', 4], ['1e3', 1000], [' 512 ', 512],
      ['x', 0], ['', 0], [null, 0], [undefined, 0], [{}, 0], [-3, 0], [Number.NaN, 0], [Number.POSITIVE_INFINITY, 0]
    ])('integerOf(%j) = %i', (input, expected) => {
      expect(integerOf(input)).toBe(expected)
    })
  })

  describe('stockBySku', () => {
    const pod = (id: string, released = true): Pod => ({ id, released, releaseStatus: released ? 'released' : 'pre-release' })
    const availability = (counts: Record<string, { count?: number, max_size?: number }>, podId: string) => stockIn(readAnswer(AvailabilityAnswer, { timestamp: '2026-11-22T12:00:00Z', pod_location: podId, ...counts }, 'getAvailability'))

    test('lists released pods with stock, in the order given; skips count 0 and pre-release pods', () => {
      const stock = stockBySku([
        { pod: pod('pod_1'), inventory: availability({ medium_v4: { count: 12, max_size: 10 }, large_v4: { count: 0, max_size: 0 } }, 'pod_1') },
        { pod: pod('pod_2'), inventory: availability({ medium_v4: { count: 1, max_size: 1 }, xl_v4: { count: 3, max_size: 3 } }, 'pod_2') },
        { pod: pod('pod_7', false), inventory: availability({ medium_v4: { count: 40, max_size: 10 }, large_v4: { count: 9, max_size: 9 } }, 'pod_7') }
      ])
      expect(stock.get('medium_v4')).toEqual(['pod_1', 'pod_2'])
      expect(stock.get('xl_v4')).toEqual(['pod_2'])
      expect(stock.has('large_v4')).toBe(false)
      // the timestamp and pod_location strings of the availability answer are not SKUs
      expect(stock.has('timestamp')).toBe(false)
      expect(stock.has('pod_location')).toBe(false)
    })

    test('an entry without a count is not stock', () => {
      expect(stockBySku([{ pod: pod('pod_1'), inventory: availability({ medium_v4: { max_size: 3 } }, 'pod_1') }]).size).toBe(0)
    })
  })

  describe('serverModelsFromCatalog', () => {
    test('a realistic medium_v4: numeric strings become integers, prices are the mils', () => {
      const model = only(serverModelsFromCatalog({ medium_v4: mediumV4() }, new Map([['medium_v4', ['pod_1', 'pod_2']]])))
      expect(model).toMatchObject({
        name: 'Baremetal - medium v4',
        pricing: { hourly: 1380, monthly: 792_000 },
        specs: {
          cpu: { count: 2, cores: 12, threads: 2, type: 'Intel Xeon Silver 4510' },
          gpu: null,
          memory: { size_gb: 256, type: 'DDR5' },
          storage: [{ count: 1, size_gb: 6400, type: 'nvme_ssd' }, { count: 2, size_gb: 480, type: 'boot' }],
          network: [{ scope: 'public', type: 'ethernet', throughput: '10Gbps' }, { scope: 'public', type: 'ethernet', throughput: '10Gbps' }]
        },
        provider: { model_id: 'medium_v4', category: 'bare-metal', locations: ['pod_1', 'pod_2'] },
        compatible: true
      })
      expect(model.description).toContain('256 GB')
      expect(Value.Check(ProviderServerModel, model)).toBe(true)
    })

    test('a float mils value is rounded to an integer', () => {
      const model = only(serverModelsFromCatalog({ medium_v4: mediumV4({ products: [product({ hourly_cost_mils: 1380.6, '30_day_cost_mils': 792_000.4 })] }) }, new Map()))
      expect(model.pricing).toEqual({ hourly: 1381, monthly: 792_000 })
    })

    test('numeric strings where the spec promises numbers still become integers', () => {
      const base = mediumV4()
      const model = only(serverModelsFromCatalog({
        medium_v4: {
          ...base,
          processor: { ...base.processor, cpuCount: loose('2'), raw_cores: loose('24'), raw_threads: loose('48') },
          products: [product({ hourly_cost_mils: loose('1380'), '30_day_cost_mils': loose('792000') })]
        }
      }, new Map()))
      expect(model.pricing).toEqual({ hourly: 1380, monthly: 792_000 })
      expect(model.specs.cpu).toMatchObject({ count: 2, cores: 12, threads: 2 })
    })

    test('a SKU with no stock anywhere is still listed, with no locations', () => {
      const inventory = stockIn(readAnswer(AvailabilityAnswer, { pod_location: 'pod_1', medium_v4: { count: 0, max_size: 0 } }, 'getAvailability'))
      const stock = stockBySku([{ pod: { id: 'pod_1', released: true, releaseStatus: 'released' }, inventory }])
      expect(only(serverModelsFromCatalog({ medium_v4: mediumV4() }, stock)).provider.locations).toEqual([])
    })

    test('GPU hardware gets a GPU block with integer count and VRAM', () => {
      const model = only(serverModelsFromCatalog({ xl_v4_gpu: gpuV4() }, new Map()))
      expect(model.specs.gpu).toEqual({ count: 2, type: 'NVIDIA A100', vram_gb: 40, shared: false })
      expect(Value.Check(ProviderServerModel, model)).toBe(true)
    })

    test('a hardware type with no products is skipped; the others remain', () => {
      const models = serverModelsFromCatalog({ medium_v4: mediumV4(), retired_v1: mediumV4({ name: 'retired_v1', products: [] }) }, new Map())
      expect(models.map((model) => model.provider.model_id)).toEqual(['medium_v4'])
    })

    test('the bare-metal product is preferred over other products of the same hardware', () => {
      const model = only(serverModelsFromCatalog({
        medium_v4: mediumV4({ products: [product({ name: 'Private Cloud Core - medium v4', add_on_code: 'pcc_medium_v4', hourly_cost_mils: 9999 }), product()] })
      }, new Map()))
      expect(model).toMatchObject({ name: 'Baremetal - medium v4', pricing: { hourly: 1380 } })
    })

    test('models are sorted by SKU', () => {
      const models = serverModelsFromCatalog({ xl_v4_gpu: gpuV4(), medium_v4: mediumV4(), large_v4: mediumV4({ name: 'large_v4' }) }, new Map())
      expect(models.map((model) => model.provider.model_id)).toEqual(['large_v4', 'medium_v4', 'xl_v4_gpu'])
    })

    test('every integer field Cycle decodes is a JSON integer, whatever numbers or numeric strings the catalog holds', () => {
      const finite = fc.oneof(
        fc.integer({ min: -1000, max: 1_000_000_000 }),
        fc.double({ min: -1000, max: 1e12, noNaN: true }),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1.5, 2.5)
      )
      const numeric = fc.oneof(
        finite,
        finite.map(String),
        fc.double({ min: 0, max: 1e6, noNaN: true }).map((value) => value.toFixed(2)),
        fc.constantFrom('', 'x', '256GB', ' 512 ', '1e3', '0x10')
      )
      const gpu = fc.option(fc.record({ name: fc.constant('NVIDIA A100'), count: numeric, vram_gb: numeric }), { nil: null })
      fc.assert(fc.property(
        fc.record({ cpuCount: numeric, cores: numeric, threads: numeric, ram: numeric, driveCount: numeric, driveSize: numeric, hourly: numeric, monthly: numeric, nicSpeed: numeric }),
        fc.nat(4),
        gpu,
        (values, nics, gpuSpec) => {
          const base = mediumV4()
          const hardware: HardwareType = {
            ...base,
            network: { id: 57, speed: loose(values.nicSpeed), count: nics },
            processor: { ...base.processor, cpuCount: loose(values.cpuCount), raw_cores: loose(values.cores), raw_threads: loose(values.threads) },
            ram: { ...base.ram, raw: String(values.ram) },
            storage: { nvme_ssd: { id: 1, name: 'nvme_ssd', raw: String(values.driveSize), type: 'nvme_ssd', drives: [{ id: 2, raw: String(values.driveSize), count: loose(values.driveCount) }] } },
            gpu: gpuSpec,
            products: [product({ hourly_cost_mils: loose(values.hourly), '30_day_cost_mils': loose(values.monthly) })]
          }
          const model = only(serverModelsFromCatalog({ odd_v1: hardware }, new Map()))
          const { cpu, gpu: gpuBlock, memory, storage } = model.specs
          const integers = [
            model.pricing.hourly, model.pricing.monthly,
            cpu.count, cpu.cores, cpu.threads,
            gpuBlock?.count, gpuBlock?.vram_gb,
            memory.size_gb,
            ...(storage ?? []).flatMap((drive) => [drive.count, drive.size_gb])
          ].filter((value) => value !== undefined && value !== null)
          for (const value of integers) {
            expect(Number.isInteger(value)).toBe(true)
            // what Go's encoding/json sees: digits only, no sign, fraction or exponent
            expect(JSON.stringify(value)).toMatch(/^\d+$/)
          }
          expect(cpu.count).toBeGreaterThanOrEqual(1)
          if (gpuSpec !== null) expect(gpuBlock?.count).toBeGreaterThanOrEqual(1)
          expect(model.specs.network).toHaveLength(nics)
          expect(Value.Check(ProviderServerModel, JSON.parse(JSON.stringify(model)))).toBe(true)
        }
      ), { numRuns: 300 })
    })
  })
})
