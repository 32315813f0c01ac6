import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { IpAddress } from '../../generated/openmetal.ts'
import { allocateSchema, releaseSchema } from '../schemas.ts'
import { ialCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'
import { ipv4Assignment, parseCidr, parseIpv4 } from '../../mapping/cidr.ts'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec } from '../../mapping/identifiers.ts'
import { OpenMetalHttpError, OpenMetalTransportError } from '../../openmetal/transport.ts'
import type { OpenMetalClient } from '../../openmetal/client.ts'
import type { IalCall } from '../context.ts'
import { Errors } from '../../errors.ts'

/** 9-10. IPv4 addresses from the routed blocks that came with the server's cloud. */
/**
 * Creates an address; when the answer is lost, the unique label finds it again instead of
 * leaving a billable address nobody knows about.
 */
async function createLabelledIp (client: OpenMetalClient, prefixId: string, label: string, call: IalCall, timeoutMs: number): Promise<IpAddress | undefined> {
  try {
    return await client.createIp(prefixId, { label }, call)
  } catch (error) {
    const ambiguous = (error instanceof OpenMetalTransportError && error.ambiguous) || (error instanceof OpenMetalHttpError && error.status >= 500)
    if (!ambiguous) throw error
    const prefix = await client.getPrefixAddresses(prefixId, { ...call, signal: AbortSignal.timeout(timeoutMs) })
    const created = prefix?.ip_addrs?.find((ip) => ip.label === label)
    if (created === undefined) throw error
    return created
  }
}

export const ipRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client, servers, config }) => {
  app.post('/v1/infrastructure/ip/allocate', { schema: allocateSchema }, async (request) => {
    const { auth, request: body } = request.body
    if (body.kind === 'ipv6') throw Errors.notCompatible({ detail: 'OpenMetal offers IPv4 addresses only', source: '/request/kind' })
    const call = ialCall(request, auth)
    const server = await servers.owned(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id })
    if (server.cloudId === undefined) throw Errors.notReady({ detail: 'the server is still being provisioned', retryAfter: 60 })
    const blocks = (await client.listPrefixes(call))
      .filter((prefix) => prefix.fields.cloud_id === server.cloudId && prefix.fields.prefix_type === 'routed' && prefix.fields.pod_location === server.ref.pod)
      .flatMap((prefix) => {
        const block = parseCidr(prefix.fields.cidr ?? '')
        return block === undefined ? [] : [{ prefix, block }]
      })
    const label = cycleTag.forIp(call.hubId ?? '', body.cycle.server_id, body.cycle.pool_id, randomBytes(6).toString('hex'))
    for (const { prefix, block } of blocks) {
      const ip = await createLabelledIp(client, prefix.id, label, call, config.upstreamTimeoutMs)
      if (ip === undefined) continue
      const address = parseIpv4(ip.ip ?? '')
      if (ip.id === undefined || address === undefined) throw new OpenMetalTransportError('createIpAddress', 'malformed')
      const ref = { prefixId: prefix.id, ipId: ip.id }
      return { data: { ip_id: ipIdCodec.encode(ref), ip_assignment_id: ipAssignmentIdCodec.encode(ref), ...ipv4Assignment(block, address), nat_private_ip: null } }
    }
    // buying another block costs the customer money: never done behind their back
    throw Errors.notCompatible({ detail: `no free IPv4 address is left in the ${blocks.length} routed block(s) of this server; add an IP block to the cloud at OpenMetal` })
  })

  app.post('/v1/infrastructure/ip/release', { schema: releaseSchema }, async (request) => {
    const { auth, request: body } = request.body
    const ref = ipIdCodec.decode(body.ip_id) ?? ipAssignmentIdCodec.decode(body.ip_assignment_id)
    if (ref === undefined) throw Errors.invalidArgument({ detail: 'ip_id was not issued by this adapter', source: '/request/ip_id' })
    const call = ialCall(request, auth)
    const server = await servers.ownedOrGone(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id })
    if (server === undefined) return { data: true }
    const prefix = await client.getPrefixAddresses(ref.prefixId, call)
    const ip = prefix?.ip_addrs?.find((candidate) => candidate.id === ref.ipId)
    if (ip === undefined) return { data: true }
    const tag = cycleTag.parse(ip.label)
    if (tag === undefined || tag.hubId !== call.hubId || tag.serverId !== body.cycle.server_id) {
      throw Errors.serverNotFound({ detail: 'this IP was not allocated to this server by this hub', source: '/request/ip_id' })
    }
    await client.deleteIp(ref.prefixId, ref.ipId, call)
    return { data: true }
  })
}
