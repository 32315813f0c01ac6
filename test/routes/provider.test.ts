/** The provider's catalog, locations and server models (src/ial/routes/provider.ts), against the simulator. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startHarness, tenantA, type Harness } from '../helpers/harness.ts'

let h: Harness
beforeAll(async () => { h = await startHarness() })
afterAll(async () => { await h.close() })

interface Model { provider: { model_id: string, locations: string[] }, pricing: { hourly: number, monthly: number }, specs: { cpu: { count: number, cores: number }, memory: { size_gb: number }, storage: Array<{ count: number, size_gb: number }> } }
interface Location { name: string, compatible: boolean, provider: { location_id: string, code: string, availability_zones: unknown[] }, geographic: { latitude: number, longitude: number, city: string, state: string } | null }

describe('locations', () => {
  test('one Cycle location per OpenMetal pod, with geography from the display name', async () => {
    const answer = await h.call('GET', '/v1/infrastructure/provider/locations', { auth: tenantA(), request: null })
    expect(answer.status).toBe(200)
    const { locations, extra } = answer.body.data as { locations: Location[], extra: object }
    expect(extra).toEqual({})
    const inventory = (await h.openMetal('GET', '/v2/inventory/locations')).body as { locations: Record<string, { displayName: string, code: string, release_status: string }> }
    expect(locations.map((location) => location.provider.location_id).sort()).toEqual(Object.keys(inventory.locations).sort())
    const ashburn = locations.find((location) => location.name === 'Ashburn, VA')
    expect(ashburn?.geographic).toMatchObject({ city: 'Ashburn', state: 'VA' })
    expect(ashburn?.provider.availability_zones).toEqual([])
    for (const location of locations) {
      const pod = inventory.locations[location.provider.location_id]
      expect(location.provider.code).toBe(pod?.code)
      expect(location.compatible).toBe(pod?.release_status !== 'pre-release')
    }
  })

  test('also answers a GET without a body (the catalog needs no credentials)', async () => {
    const answer = await h.call('GET', '/v1/infrastructure/provider/locations')
    expect(answer.status).toBe(200)
  })

  test('an OpenMetal outage is a 503 envelope, not an empty list', async () => {
    const broken = await startHarness()
    broken.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', status: 500, times: Infinity })
    const answer = await broken.call('GET', '/v1/infrastructure/provider/locations')
    await broken.close()
    expect(answer.status).toBe(503)
    expect(answer.body).toMatchObject({ data: null, error: { status: 503, code: '503.not-ready' } })
  })
})

describe('server-models', () => {
  test('hardware SKUs with integer specs and prices, located where there is stock', async () => {
    const answer = await h.call('GET', '/v1/infrastructure/provider/server-models', { auth: tenantA(), request: null })
    expect(answer.status).toBe(200)
    const { models } = answer.body.data as { models: Model[] }
    expect(models.length).toBeGreaterThan(0)
    for (const model of models) {
      for (const value of [model.pricing.hourly, model.pricing.monthly, model.specs.cpu.count, model.specs.cpu.cores, model.specs.memory.size_gb, ...model.specs.storage.flatMap((drive) => [drive.count, drive.size_gb])]) {
        expect(Number.isInteger(value)).toBe(true)
      }
      for (const pod of model.provider.locations) {
        const stock = (await h.openMetal('GET', `/v2/inventory/${pod}/availability`)).body as Record<string, { count?: number }>
        expect(stock[model.provider.model_id]?.count).toBeGreaterThan(0)
      }
    }
    expect(models.some((model) => model.provider.locations.length === 0)).toBe(true)
    expect(models.some((model) => model.provider.locations.length > 0)).toBe(true)
  })

  test('fetches every pod\'s availability in parallel and caches the catalog', async () => {
    const fresh = await startHarness({ sim: { latencyMs: 100 } })
    const started = performance.now()
    const first = await fresh.call('GET', '/v1/infrastructure/provider/server-models')
    const cold = performance.now() - started
    const again = performance.now()
    await fresh.call('GET', '/v1/infrastructure/provider/server-models')
    const warm = performance.now() - again
    await fresh.close()
    expect(first.status).toBe(200)
    // products || locations, then all pods at once: two round trips, not one per pod
    expect(cold).toBeLessThan(350)
    expect(warm).toBeLessThan(50)
  })
})
