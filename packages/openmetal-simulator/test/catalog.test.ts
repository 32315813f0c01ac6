import { afterAll, beforeAll, expect, test } from 'vitest'
import { Value } from 'typebox/value'
import { InventoryAvailability, Locations, ProductCatalog } from '../src/generated/openmetal.ts'
import { startSimulator, type Simulator } from '../src/index.ts'
import { call } from './client.ts'

let sim: Simulator
beforeAll(async () => { sim = await startSimulator() })
afterAll(async () => { await sim.close() })

test('locations: a map of pods, one of them pre-release', async () => {
  const reply = await call(sim, 'GET', '/v2/inventory/locations', undefined, null)
  expect(Value.Check(Locations, reply.body)).toBe(true)
  const { locations } = reply.body as Required<Locations>
  expect(Object.keys(locations)).toEqual(['pod_1', 'pod_2', 'pod_3', 'pod_5'])
  expect(locations.pod_1).toMatchObject({ displayName: 'Ashburn, VA', code: 'iad3', region: 'US', release_status: 'released' })
  expect(locations.pod_2?.displayName).toBe('Los Angeles, CA')
  expect(locations.pod_3).toMatchObject({ displayName: 'Amsterdam, NL', region: 'EU' })
  expect(locations.pod_5?.release_status).toBe('pre-release')
})

test('products: hardware keyed by SKU with numeric-string sizes and integer mils, and the /28 add-on', async () => {
  const reply = await call(sim, 'GET', '/v1/products', undefined, null)
  expect(Value.Check(ProductCatalog, reply.body)).toBe(true)
  const catalog = reply.body as ProductCatalog
  expect(Object.keys(catalog.hardware)).toEqual(expect.arrayContaining(['medium_v4', 'large_v4', 'xl_v4', 'xxl_v4', 'xl_v4_gpu']))
  const medium = catalog.hardware.medium_v4
  expect(medium?.ram.raw).toMatch(/^\d+$/)
  expect(medium?.storage.nvme_ssd?.drives[0]?.raw).toMatch(/^\d+$/)
  expect(medium?.processor).toMatchObject({ cpuCount: 2, raw_cores: 24, raw_threads: 48 })
  expect(Number.isInteger(medium?.products[0]?.hourly_cost_mils)).toBe(true)
  expect(Number.isInteger(medium?.products[0]?.['30_day_cost_mils'])).toBe(true)
  expect(catalog.hardware.xl_v4_gpu?.gpu).not.toBeNull()
  expect(medium?.gpu).toBeNull()
  expect(catalog.addons.ip_block.map((addon) => addon.add_on_code)).toContain('ipv4_block_28')
})

test('availability: count and max_size per SKU; one SKU out of stock in a pod, one nowhere; 400 for an unknown pod', async () => {
  const counts: Record<string, Record<string, number>> = {}
  for (const pod of ['pod_1', 'pod_2', 'pod_3', 'pod_5']) {
    const reply = await call(sim, 'GET', `/v2/inventory/${pod}/availability`, undefined, null)
    expect(Value.Check(InventoryAvailability, reply.body)).toBe(true)
    expect(reply.body).toMatchObject({ pod_location: pod, timestamp: expect.any(String) })
    const { timestamp: _t, pod_location: _p, ...skus } = reply.body as Record<string, { count: number, max_size: number }>
    counts[pod] = Object.fromEntries(Object.entries(skus).map(([sku, entry]) => [sku, entry.count]))
    for (const entry of Object.values(skus)) expect(entry.max_size).toBeLessThanOrEqual(entry.count)
  }
  expect(counts.pod_1?.xl_v4).toBeGreaterThan(0)
  expect(counts.pod_2?.xl_v4).toBe(0)
  expect(Object.values(counts).every((pod) => pod.xxl_v4 === 0)).toBe(true)
  const unknown = await call(sim, 'GET', '/v2/inventory/pod_99/availability', undefined, null)
  expect(unknown.status).toBe(400)
})
