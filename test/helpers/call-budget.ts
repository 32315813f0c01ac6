/**
 * OpenMetal calls per Cycle call over one server's whole life, counted in the simulator's
 * request log. Provisioning is held in `in_progress` for `polls` status polls (what Cycle
 * does every 5-10 s for the 15-30 minutes a bare-metal server takes), then let finish.
 * Shared by the route test (test/routes/call-budget.test.ts) and the benchmark.
 */
import type { Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { allocateBody, cycleServer, provisionBody, releaseBody, serverActionBody, statusBody, type AllocatedIp, type Tenant } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { serverIdCodec } from '../../src/mapping/identifiers.ts'

/** What a status poll may cost while a server provisions, averaged over its provisioning; and a restart, once this replica knows the server. */
export const CALL_TARGETS: Readonly<Record<string, number>> = { 'provision-status': 1.2, restart: 2 }

export interface StepCalls {
  readonly step: string
  readonly cycleCalls: number
  readonly openMetalCalls: number
  readonly perCall: number
  readonly target: number | undefined
  readonly met: boolean
}

type Call = (method: 'GET' | 'POST', path: string, body: unknown) => Promise<{ status: number, data: unknown }>

export async function measureCallBudget (input: { sim: Simulator, call: Call, tenant: Tenant, modelId: string, locationId: string, polls: number }): Promise<StepCalls[]> {
  const { sim, call, tenant } = input
  const steps: StepCalls[] = []
  async function counted<T> (step: string, run: () => Promise<{ cycleCalls: number, result: T }>): Promise<T> {
    const before = sim.state.requests.length
    const { cycleCalls, result } = await run()
    const openMetalCalls = sim.state.requests.length - before
    const perCall = Math.round((openMetalCalls / cycleCalls) * 100) / 100
    const target = CALL_TARGETS[step]
    steps.push({ step, cycleCalls, openMetalCalls, perCall, target, met: target === undefined || perCall <= target })
    return result
  }
  async function ok (method: 'GET' | 'POST', path: string, body: unknown): Promise<Record<string, unknown>> {
    const answer = await call(method, path, body)
    if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}: ${JSON.stringify(answer.data)}`)
    return answer.data as Record<string, unknown>
  }
  const once = async <T>(result: Promise<T>): Promise<{ cycleCalls: number, result: T }> => ({ cycleCalls: 1, result: await result })

  await counted('verify', () => once(ok('POST', '/v1/auth/verify', { auth: tenant, request: null })))
  const server = cycleServer(input.modelId, input.locationId)
  const provisioned = await counted('provision', () => once(ok('POST', '/v1/infrastructure/server/provision', provisionBody(tenant, server))))
  const serverId = String(provisioned.server_id)
  const orderId = serverIdCodec.decode(serverId)?.orderId ?? ''
  let extra = provisioned.extra as Record<string, unknown> | null
  await counted('provision-status', async () => {
    let polls = 0
    const poll = async (): Promise<boolean> => {
      polls++
      const status = await ok('GET', '/v1/infrastructure/server/provision-status', statusBody(tenant, server, serverId, extra))
      extra = status.extra as Record<string, unknown> | null
      return status.provisioned === true
    }
    // the cloud stays in progress for most of the polls, then finishes
    sim.faults.setOrderStatus(orderId, 'in_progress')
    while (!(await poll())) {
      if (polls === input.polls) sim.faults.setOrderStatus(orderId, null)
      if (polls > input.polls + 200) throw new Error('never provisioned')
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    return { cycleCalls: polls, result: undefined }
  })
  await counted('restart', () => once(ok('POST', '/v1/infrastructure/server/restart', serverActionBody(tenant, server, serverId, extra))))
  const ip = await counted('allocate', () => once(ok('POST', '/v1/infrastructure/ip/allocate', allocateBody(tenant, server, serverId)))) as unknown as AllocatedIp
  await counted('release', () => once(ok('POST', '/v1/infrastructure/ip/release', releaseBody(tenant, server, serverId, ip))))
  await counted('decommission', () => once(ok('POST', '/v1/infrastructure/server/decommission', serverActionBody(tenant, server, serverId, extra))))
  return steps
}
