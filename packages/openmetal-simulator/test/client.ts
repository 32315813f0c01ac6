/** Real HTTP calls against a simulator, for the simulator's own tests. */
import { request } from 'undici'
import type { Simulator } from '../src/index.ts'

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: unknown
}

export const API_KEY_A = 'Bearer sim-api-key'
export const API_KEY_B = 'Bearer sim-api-key-b'

export function basic (clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`
}

export async function call (sim: Simulator, method: string, path: string, body?: unknown, authorization: string | null = API_KEY_A): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (authorization !== null) headers.authorization = authorization
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await request(`${sim.url}${path}`, {
    method: method as 'GET',
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) as unknown }
}

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtTMYFhxSBKt5do8C2ynGRTcQFMHOJ/BFVsFmVBcSdn sim@test'

/** A valid baremetal order body, with overrides for its one item and its config options. */
export function orderBody (item: Record<string, unknown> = {}, options: Record<string, unknown> = { public_key: SSH_KEY }, label = 'test order'): Record<string, unknown> {
  return {
    label,
    fields: {
      items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { operating_system: { os_key: 'Ubuntu', version_key: '24.04 LTS' } }, ...item }],
      config_options: options
    }
  }
}

export function idOf (reply: Reply): string {
  const id = (reply.body as { id?: unknown } | undefined)?.id
  if (typeof id !== 'string') throw new Error(`no id in ${reply.status} ${JSON.stringify(reply.body)}`)
  return id
}

/** Polls GET /v1/orders/{id} until its cloud reaches `status`; answers the cloud ID. */
export async function untilStatus (sim: Simulator, orderId: string, status: string, authorization = API_KEY_A): Promise<string> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const order = await call(sim, 'GET', `/v1/orders/${orderId}`, undefined, authorization)
    const deployed = (order.body as { fields: { clouds_deployed: Array<{ id: string, provision_status: string }> } }).fields.clouds_deployed[0]
    if (deployed?.provision_status === status) return deployed.id
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`order ${orderId} never reached ${status}`)
}

/** Orders a server and pins it complete at once: a deployed cloud for tests of what comes after. */
export async function deployedCloud (sim: Simulator, authorization = API_KEY_A, item: Record<string, unknown> = {}): Promise<{ orderId: string, cloudId: string }> {
  const created = await call(sim, 'POST', '/v1/orders', orderBody(item), authorization)
  const orderId = idOf(created)
  sim.faults.setOrderStatus(orderId, 'complete')
  return { orderId, cloudId: await untilStatus(sim, orderId, 'complete', authorization) }
}
