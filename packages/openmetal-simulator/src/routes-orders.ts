/** Orders, the clouds they deploy, and node power. */
import { OrderRequest, PowerStateRequest, type PowerStateResponse } from './generated/openmetal.ts'
import { notFound, ok, validator, type Route } from './http.ts'
import { cloudView, createOrder, deleteCloud, orderListView, orderView, setPower, statsView } from './provisioning.ts'
import type { SimCloud, SimulatorState } from './state.ts'
import { checkOrder } from './validation.ts'

const orderRequest = validator(OrderRequest)
const powerRequest = validator(PowerStateRequest)

export function orderRoutes (state: SimulatorState, powerLockMs: () => number): Route[] {
  const cloudOf = (org: string, id: string | undefined): SimCloud => {
    const cloud = state.cloud(org, id ?? '')
    if (cloud === undefined) throw notFound(`Cloud ${id ?? ''}`)
    return cloud
  }
  return [
    { method: 'GET', path: '/v1/orders', handle: ({ org }) => ok(state.listOf(state.orders, org).map((order) => orderListView(state, order))) },
    {
      method: 'POST',
      path: '/v1/orders',
      handle: ({ org, body }) => {
        const request = orderRequest(body)
        checkOrder(state, org, request)
        return ok(orderView(state, createOrder(state, org, request)))
      }
    },
    {
      method: 'GET',
      path: '/v1/orders/:orderId',
      handle: ({ org, params }) => {
        const order = state.order(org, params.orderId ?? '')
        if (order === undefined) throw notFound(`Order ${params.orderId ?? ''}`)
        return ok(orderView(state, order))
      }
    },
    { method: 'GET', path: '/v1/clouds', handle: ({ org }) => ok(state.listOf(state.clouds, org).map((cloud) => cloudView(state, cloud))) },
    { method: 'GET', path: '/v1/clouds/:cloudId', handle: ({ org, params }) => ok(cloudView(state, cloudOf(org, params.cloudId))) },
    {
      method: 'DELETE',
      path: '/v1/clouds/:cloudId',
      handle: ({ org, params }) => {
        deleteCloud(state, cloudOf(org, params.cloudId))
        return ok()
      }
    },
    { method: 'GET', path: '/v1/clouds/:cloudId/stats', handle: ({ org, params }) => ok(statsView(state, cloudOf(org, params.cloudId))) },
    {
      method: 'POST',
      path: '/v1/deployment/cloud/:cloudId/node/:nodeUuid/power',
      handle: ({ org, params, body }) => {
        const cloud = cloudOf(org, params.cloudId)
        const node = cloud.nodes.find((candidate) => candidate.uuid === params.nodeUuid)
        if (node === undefined) throw notFound(`Node ${params.nodeUuid ?? ''} of cloud ${cloud.id}`)
        const request = powerRequest(body)
        const powerState = setPower(state, cloud, node, request.power_state, powerLockMs())
        return ok({ result: 'success', power_state: powerState, node_uuid: node.uuid } satisfies PowerStateResponse)
      }
    }
  ]
}
