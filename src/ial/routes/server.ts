import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { CloudAnswer, OrderAnswer } from '../../openmetal/answers.ts'
import { decommissionSchema, provisionSchema, provisionStatusSchema, restartSchema } from '../schemas.ts'
import { ialCall, type IalCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'
import { requireConfiguration } from '../deployment-configuration.ts'
import { cloudOfOrder } from '../servers.ts'
import { podsOf, storageGbOf } from '../../mapping/catalog.ts'
import { unhonourableOption } from '../../mapping/provision-options.ts'
import { provisioningSettings } from '../../mapping/hub-config.ts'
import { cycleTag, serverIdCodec } from '../../mapping/identifiers.ts'
import { orderRequestFor } from '../../mapping/order.ts'
import { deployedCloud, provisionStatus, ServerGone } from '../../mapping/provision-status.ts'
import { OpenMetalHttpError } from '../../openmetal/errors.ts'
import { Errors } from '../../errors.ts'

/** The hub and Cycle server a new order is tagged with; both must read back from the tag. */
function taggableIds (call: IalCall, cycleServerId: string): { hubId: string, cycleServerId: string } {
  if (call.hubId === undefined || call.hubId === '') throw Errors.missingArgument({ detail: 'auth.cycle.hub_id is required to tell whose server this is', source: '/auth/cycle/hub_id' })
  if (!cycleTag.carries(call.hubId)) throw Errors.invalidArgument({ detail: 'auth.cycle.hub_id must be a Cycle ID (letters, digits, - and _)', source: '/auth/cycle/hub_id' })
  if (!cycleTag.carries(cycleServerId)) throw Errors.invalidArgument({ detail: 'request.cycle.server_id must be a Cycle ID (letters, digits, - and _)', source: '/request/cycle/server_id' })
  return { hubId: call.hubId, cycleServerId }
}

export const serverRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client, writes, servers, purchases, config, now }) => {
  /**
   * The pod to order in: the SKU and the pod must exist, the pod must be on general sale, and
   * the provision options must be ones an order can honour.
   */
  async function orderablePod (sku: string, podId: string, options: Readonly<Record<string, unknown>> | null | undefined, call: IalCall): Promise<string> {
    const [catalog, pods] = await Promise.all([client.products(call), client.locations(call).then(podsOf)])
    // own SKUs only: `constructor` or `__proto__` is no hardware OpenMetal sells
    const hardware = Object.hasOwn(catalog.hardware, sku) ? catalog.hardware[sku] : undefined
    if (hardware === undefined) throw Errors.modelNotFound({ detail: `OpenMetal sells no hardware "${sku.slice(0, 64)}"`, source: '/request/model_id' })
    const refused = unhonourableOption(options, storageGbOf(hardware))
    if (refused !== undefined) throw Errors.notCompatible({ detail: `provision_options.${refused.option}: ${refused.reason}; nothing was bought`, source: `/request/provision_options/${refused.option}` })
    const pod = pods.find((known) => known.id === podId)
    if (pod === undefined) throw Errors.locationNotFound({ detail: `OpenMetal has no location "${podId.slice(0, 64)}"`, source: '/request/location_id' })
    if (!pod.released) throw Errors.notCompatible({ detail: `${pod.id} is a pre-release OpenMetal location`, source: '/request/location_id' })
    // the pod travels in the server_id: one it cannot carry must stop us before buying, not after
    if (!serverIdCodec.carriesPod(pod.id)) throw Errors.notCompatible({ detail: `this adapter cannot provision in the OpenMetal location "${pod.id.slice(0, 64)}" (pods are named pod_<number>)`, source: '/request/location_id' })
    return pod.id
  }

  /**
   * 5. provision: one baremetal order per Cycle server. Find it by its tag; when there is none,
   * check the deployment configuration, then buy under the server's lease (labelled-writes.ts),
   * which looks again before buying and keeps the lease while a purchase's outcome is unknown.
   */
  app.post('/v1/infrastructure/server/provision', { schema: provisionSchema }, async (request) => {
    const { auth, request: body } = request.body
    const call = ialCall(request, auth)
    const owner = taggableIds(call, body.cycle.server_id)
    const pod = await orderablePod(body.model_id, body.location_id, body.provision_options, call)
    const settings = provisioningSettings(call.hubConfig, config)
    if ('missing' in settings) throw Errors.missingArgument({ detail: settings.missing, source: '/auth/config' })

    const tag = cycleTag.forServer(owner.hubId, owner.cycleServerId)
    let order = await writes.findOrder(tag, call)
    if (order === undefined) {
      await requireConfiguration(client, call, settings.deploymentConfiguration, settings.deploymentConfigurationSetting)
      order = await writes.buyOrder(orderRequestFor({ tag, hostname: body.hostname, hubName: auth?.cycle?.hub_name, sku: body.model_id, pod, ...settings }), owner, call)
    }
    const cloudId = order.fields.clouds_deployed?.[0]?.id
    return {
      data: {
        // the pod checked and ordered in, never OpenMetal's spelling of it: the server_id must always be encodable
        server_id: serverIdCodec.encode({ orderId: order.id, pod, cloudId }),
        extra: { order_id: order.id, pod, ...(cloudId === undefined ? {} : { cloud_id: cloudId }) },
        // Cycle's Go type has it without omitempty: a provision never changes the location
        location_modified: false
      }
    }
  })

  /** 6. provision-status: order -> cloud -> stats; GET with a JSON body (Cycle's way) or POST. */
  const statusOptions = {
    exposeHeadRoute: false,
    preValidation: async (request: FastifyRequest) => {
      if (request.body === undefined || request.body === null) {
        throw Errors.missingArgument({ detail: 'provision-status needs the {auth, request} wrapper as a JSON body (GET with a body, or POST): without it there are no credentials to ask OpenMetal with', source: '/' })
      }
    }
  }
  // Cycle's IAL documentation names the route provision-check; its Go types and spec, provision-status: both answer the same
  for (const [method, url] of [['GET', 'provision-status'], ['POST', 'provision-status'], ['GET', 'provision-check'], ['POST', 'provision-check']] as const) {
    app.route({
      method,
      url: `/v1/infrastructure/server/${url}`,
      ...statusOptions,
      schema: { ...provisionStatusSchema, operationId: `${method.toLowerCase()}ProvisionServer${url === 'provision-status' ? 'Status' : 'Check'}` },
      handler: async (request) => {
        const { auth, request: body } = request.body
        const call = ialCall(request, auth)
        const server = await servers.owned(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id, extra: body.extra, withCloud: true })
        let status
        try {
          status = provisionStatus({ order: server.order, cloud: server.cloud, stats: server.stats, now: now() })
        } catch (error) {
          if (error instanceof ServerGone) throw Errors.serverNotFound({ detail: error.message, source: '/request/server_id' })
          throw error
        }
        return { data: { server_id: body.server_id, provisioned: status.provisioned, auth: status.auth, extra: { ...status.extra, pod: server.ref.pod } } }
      }
    })
  }

  /**
   * 7. decommission: delete the cloud of every order carrying the server's tag: the one Cycle
   * knows first, then any duplicate (bought behind the adapter's back, or before replicas were
   * coordinated), each checked for hub and server. Already gone or pending delete is done; an
   * order still being built answers "not yet", so Cycle's retry deletes it once it has a cloud.
   */
  app.post('/v1/infrastructure/server/decommission', { schema: decommissionSchema }, async (request) => {
    const { auth, request: body } = request.body
    const call = ialCall(request, auth)
    const cycleServerId = body.cycle.server_id
    const server = await servers.ownedOrGone(call, { serverId: body.server_id, cycleServerId, extra: body.extra })
    const building: string[] = []
    const removeAll = async (orders: ReadonlyArray<{ order: OrderAnswer, cloudId: string | undefined }>): Promise<void> => {
      for (const { order, cloudId } of orders) {
        if (cloudId !== undefined) await removeCloud(order, cloudId, call, cycleServerId, request)
        // an order that is no longer active and never deployed a cloud will not bill: done
        else if (order.is_active) building.push(order.id)
      }
    }
    if (server !== undefined) await removeAll([server])
    // without a hub that can be in a tag nothing else can be proven to be this server's
    if (call.hubId !== undefined && cycleTag.carries(call.hubId) && cycleTag.carries(cycleServerId)) {
      const tagged = await writes.ordersTagged(cycleTag.forServer(call.hubId, cycleServerId), call)
      // the tag names this hub and server: every order carrying it is this server's
      const duplicates = tagged.filter((order) => order.id !== server?.order.id)
      if (duplicates.length > 0) request.log.warn({ orders: duplicates.map((order) => order.id) }, 'decommissioning orders that duplicate this Cycle server')
      await removeAll(duplicates.map((order) => ({ order, cloudId: deployedCloud(order)?.id })))
    }
    if (building.length > 0) {
      throw Errors.notReady({ detail: `OpenMetal has not deployed the cloud of order${building.length > 1 ? 's' : ''} ${building.join(', ')} for this server yet, so there is nothing to delete; decommission again in a few minutes`, retryAfter: 60 })
    }
    return { data: true }
  })

  /**
   * Deletes one of the server's clouds and the IP blocks bought for the server on it (they
   * bill apart from the cloud): whatever happens to the blocks, the cloud is deleted, and a
   * failure there makes Cycle's retry give them back.
   */
  async function removeCloud (order: OrderAnswer, cloudId: string, call: IalCall, cycleServerId: string, request: FastifyRequest): Promise<void> {
    const [read, cloudBlocks] = await Promise.all([client.getCloud(cloudId, call), client.listPrefixes(call, { cloudId, fresh: true })])
    // a cloud whose own record names another order may be someone else's: neither it nor its blocks are touched
    const cloud = cloudOfOrder(order, read)
    const blocksGiven = purchases.releaseAll(call, cloudBlocks, call.hubId ?? '', cycleServerId).then((leftBehind) => ({ leftBehind }), (error: unknown) => ({ error }))
    if (cloud !== undefined && cloud.fields?.pending_delete !== true) await deleteCloudOf(order, cloudId, cloud, call)
    const given = await blocksGiven
    if ('error' in given) throw given.error
    for (const { prefixId, reason } of given.leftBehind) request.log.warn({ prefixId, reason }, 'a bought IP block could not be given back; ial-inventory lists it until it is removed at OpenMetal')
  }

  /** Deletes the server's cloud; a 403 while it is being built is "not now", not "never". */
  async function deleteCloudOf (order: OrderAnswer, cloudId: string, cloud: CloudAnswer, call: IalCall): Promise<void> {
    try {
      await client.deleteCloud(cloudId, call)
    } catch (error) {
      const building = (cloud.fields?.provision_status ?? deployedCloud(order)?.status) !== 'complete'
      if (error instanceof OpenMetalHttpError && error.status === 403 && building) {
        throw Errors.notReady({ detail: `OpenMetal refused to delete the cloud while it is being built${error.upstreamMessage === undefined ? '' : ` (${error.upstreamMessage})`}; decommission again in a few minutes`, retryAfter: 120, cause: error })
      }
      throw error
    }
  }

  /**
   * 8. restart: reboot the cloud's node: the order (whose server it is) and the power action
   * when this replica knows the node, else the cloud's stats first (a node locked by another
   * power action is a retryable 409, see errors.ts).
   */
  app.post('/v1/infrastructure/server/restart', { schema: restartSchema }, async (request) => {
    const { auth, request: body } = request.body
    const call = ialCall(request, auth)
    const server = await servers.owned(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id, extra: body.extra })
    const stillProvisioning = Errors.notReady({ detail: 'the server is still being provisioned; restart it once it is provisioned', retryAfter: 60 })
    const { cloudId } = server
    if (cloudId === undefined) throw stillProvisioning
    const known = servers.knownNode(cloudId)
    if (known !== undefined) {
      try {
        await client.setPower(cloudId, known, 'rebooting', call)
        return { data: true }
      } catch (error) {
        // a node that left the cloud: ask the cloud which one it has now
        if (!(error instanceof OpenMetalHttpError && error.status === 404 && error.operation === 'setPowerState')) throw error
      }
    }
    const node = (await client.getCloudStats(cloudId, call))?.nodes?.[0]?.uuid
    if (node === undefined) throw stillProvisioning
    servers.rememberNode(cloudId, node)
    await client.setPower(cloudId, node, 'rebooting', call)
    return { data: true }
  })
}
