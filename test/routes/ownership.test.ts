/**
 * Ownership before destruction: a server_id replayed by another hub sharing the same
 * OpenMetal organisation, or by the same hub for another Cycle server, is not found on
 * every endpoint that acts on a server, and OpenMetal sees no write from it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { objectId, startHarness, tenantA, type Harness, type Tenant } from '../helpers/harness.ts'
import { allocateBody, releaseBody, serverActionBody, statusBody, type AllocatedIp, type CycleServer } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { provisioned } from '../helpers/lifecycle.ts'

let h: Harness
const owner = tenantA()
let server: CycleServer
let serverId: string
let extra: Record<string, unknown>
let ip: AllocatedIp

beforeAll(async () => {
  h = await startHarness()
  ;({ server, serverId, extra } = await provisioned(h, owner))
  const allocated = await h.call('POST', '/v1/infrastructure/ip/allocate', allocateBody(owner, server, serverId))
  expect(allocated.status).toBe(200)
  ip = allocated.body.data as AllocatedIp
})
afterAll(async () => { await h.close() })

/** same OpenMetal credentials, another Cycle hub */
const otherHub = (): Tenant => ({ ...owner, cycle: { hub_id: objectId(), hub_name: 'other-hub' } })

const endpoints: Array<[string, (auth: Tenant, as: CycleServer) => [('GET' | 'POST'), string, unknown]]> = [
  ['provision-status', (auth, as) => ['GET', '/v1/infrastructure/server/provision-status', statusBody(auth, as, serverId, extra)]],
  ['restart', (auth, as) => ['POST', '/v1/infrastructure/server/restart', serverActionBody(auth, as, serverId, extra)]],
  ['decommission', (auth, as) => ['POST', '/v1/infrastructure/server/decommission', serverActionBody(auth, as, serverId, extra)]],
  ['allocate', (auth, as) => ['POST', '/v1/infrastructure/ip/allocate', allocateBody(auth, as, serverId)]],
  ['release', (auth, as) => ['POST', '/v1/infrastructure/ip/release', releaseBody(auth, as, serverId, ip)]]
]

const writes = (from: number): string[] => h.sim.state.requests.slice(from).filter((entry) => entry.method !== 'GET').map((entry) => `${entry.method} ${entry.path}`)

describe.each([
  ['another hub of the same organisation', () => ({ auth: otherHub(), as: server })],
  ['the same hub, for another Cycle server', () => ({ auth: owner, as: { ...server, cycleServerId: objectId() } })]
])('a server_id replayed by %s', (_who, caller) => {
  test.each(endpoints)('%s: 404.infrastructure.server, and OpenMetal sees no write', async (_name, body) => {
    const { auth, as } = caller()
    const from = h.sim.state.requests.length
    const [method, path, payload] = body(auth, as)
    const answer = await h.call(method, path, payload)
    expect(answer.status).toBe(404)
    expect(answer.body.error).toMatchObject({ code: '404.infrastructure.server' })
    expect(writes(from)).toEqual([])
  })
})

test('the owner still has its server, its address and its cloud afterwards', async () => {
  const status = await h.call('GET', '/v1/infrastructure/server/provision-status', statusBody(owner, server, serverId, extra))
  expect(status.body.data).toMatchObject({ provisioned: true })
  const cloud = (await h.openMetal('GET', `/v1/clouds/${String(extra.cloud_id)}`)).body as { fields: { pending_delete: boolean } }
  expect(cloud.fields.pending_delete).toBe(false)
  const released = await h.call('POST', '/v1/infrastructure/ip/release', releaseBody(owner, server, serverId, ip))
  expect(released.body.data).toBe(true)
})
