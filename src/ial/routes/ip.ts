import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { allocateSchema, releaseSchema } from '../schemas.ts'
import { ialCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'
import { ipv4Assignment, parseCidr, parseIpv4 } from '../../mapping/cidr.ts'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec } from '../../mapping/identifiers.ts'
import { OpenMetalTransportError } from '../../openmetal/transport.ts'
import { Errors } from '../../errors.ts'

/** 9-10. IPv4 addresses from the routed blocks that came with the server's cloud. */
export const ipRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client, servers }) => {
  app.post('/v1/infrastructure/ip/allocate', { schema: allocateSchema }, async (request) => {
    const { auth, request: body } = request.body
    if (body.kind === 'ipv6') throw Errors.notCompatible({ detail: 'OpenMetal offers IPv4 addresses only', source: '/request/kind' })
    const call = ialCall(request, auth)
    const server = await servers.owned(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id })
    if (server.cloudId === undefined) throw Errors.notReady({ detail: 'the server is still being provisioned', retryAfter: 60 })
    const blocks = (await client.listPrefixes(call, { cloudId: server.cloudId }))
      // a block whose ID an ip_id cannot carry would give an address Cycle can never release: not used
      .filter((prefix) => prefix.fields.prefix_type === 'routed' && prefix.fields.pod_location === server.ref.pod && ipIdCodec.carriesPrefix(prefix.id))
      .flatMap((prefix) => {
        const block = parseCidr(prefix.fields.cidr ?? '')
        return block === undefined ? [] : [{ prefix, block }]
      })
    const label = cycleTag.forIp(call.hubId ?? '', body.cycle.server_id, body.cycle.pool_id, randomBytes(6).toString('hex'))
    for (const { prefix, block } of blocks) {
      const ip = await client.createIp(prefix.id, { label }, call)
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
