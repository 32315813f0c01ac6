import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { allocateSchema, releaseSchema } from '../schemas.ts'
import { ialCall, type IalCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'
import { contains, freeAddresses, ipv4Assignment, parseCidr, parseIpv4, type Ipv4Block } from '../../mapping/cidr.ts'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec } from '../../mapping/identifiers.ts'
import type { CreatedAddress } from '../../openmetal/client.ts'
import type { OpenMetalHttpError } from '../../openmetal/transport.ts'
import type { AllocateIPResponse } from '../../generated/cycle-ial.ts'
import { Errors } from '../../errors.ts'

/** 9-10. IPv4 addresses from the routed blocks of the server's cloud (and, when allowed, blocks bought for it). */
export const ipRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client, writes, servers, purchases }) => {
  /** What Cycle gets for an address made in a block; one OpenMetal made outside its block is given back at once. */
  async function handedOut (call: IalCall, prefixId: string, block: Ipv4Block, ip: CreatedAddress): Promise<AllocateIPResponse> {
    const address = parseIpv4(ip.ip)
    if (address === undefined || !contains(block, address)) {
      await client.deleteIp(prefixId, ip.id, call)
      throw Errors.upstreamMalformed({ detail: `OpenMetal createIpAddress answered an address outside its block ${ip.ip.slice(0, 64)}; it was released again`, retryAfter: 60 })
    }
    const ref = { prefixId, ipId: ip.id }
    return { ip_id: ipIdCodec.encode(ref), ip_assignment_id: ipAssignmentIdCodec.encode(ref), ...ipv4Assignment(block, address), nat_private_ip: null }
  }

  app.post('/v1/infrastructure/ip/allocate', { schema: allocateSchema }, async (request) => {
    const { auth, request: body } = request.body
    if (body.kind === 'ipv6') throw Errors.notCompatible({ detail: 'OpenMetal offers IPv4 addresses only', source: '/request/kind' })
    const call = ialCall(request, auth)
    const query = { serverId: body.server_id, cycleServerId: body.cycle.server_id }
    // the cloud's blocks are read alongside the order when the cloud is known; nothing is written before the order says whose it is
    const hint = servers.cloudHint(query)
    const [server, early] = await Promise.all([servers.owned(call, query), hint === undefined ? undefined : client.listPrefixes(call, { cloudId: hint })])
    const { cloudId } = server
    if (cloudId === undefined) throw Errors.notReady({ detail: 'the server is still being provisioned', retryAfter: 60 })
    const listing = hint === cloudId && early !== undefined ? early : await client.listPrefixes(call, { cloudId })
    const hubId = call.hubId ?? ''
    const blocks = listing.items
      // a block whose ID an ip_id cannot carry would give an address Cycle can never release: not used;
      // nor a block bought for this server that is on no VLAN yet (it does not route: the purchase below puts it on one)
      .filter((prefix) => prefix.fields.prefix_type === 'routed' && prefix.fields.pod_location === server.ref.pod && ipIdCodec.carriesPrefix(prefix.id) &&
        !(cycleTag.blockNumber(prefix.label, hubId, body.cycle.server_id) !== undefined && prefix.fields.central_vlan_id === undefined))
      .flatMap((prefix) => {
        const block = parseCidr(prefix.fields.cidr ?? '')
        return block === undefined ? [] : [{ prefixId: prefix.id, block }]
      })
    const label = cycleTag.forIp(hubId, body.cycle.server_id, body.cycle.pool_id, randomBytes(6).toString('hex'))
    // every block of the cloud, in turn: room is read from the blocks' own address lists (all at
    // once), and a refused create only means "not this block, not now"
    const addresses = await Promise.all(blocks.map(({ prefixId }) => client.getPrefixAddresses(prefixId, call)))
    let refusal: OpenMetalHttpError | undefined
    for (const [index, { prefixId, block }] of blocks.entries()) {
      const listed = addresses[index]
      if (listed === undefined || freeAddresses(block, (listed.ip_addrs ?? []).map((ip) => ip.ip)) === 0) continue
      const attempt = await writes.createAddress(prefixId, { label }, call)
      if ('created' in attempt) return { data: await handedOut(call, prefixId, block, attempt.created) }
      refusal = attempt.refused
    }
    // blocks with room that OpenMetal would not use: its reason, not "full"
    if (refusal !== undefined) throw refusal
    if (!purchases.allowed(call)) {
      const partial = listing.incomplete === undefined ? '' : ` (OpenMetal's list of IP blocks may be incomplete: ${listing.incomplete})`
      throw Errors.notCompatible({ detail: `no free IPv4 address is left in the ${blocks.length} routed block(s) of this server${partial}; add an IP block to the cloud at OpenMetal, or let the adapter buy one (OPENMETAL_IP_BLOCK_PURCHASE, or ip_block_purchase in auth.config)` })
    }
    // every block is full: one more, bought for this server (found again, never bought twice)
    const bought = await purchases.blockFor(call, { hubId, cycleServerId: body.cycle.server_id, cloudId, pod: server.ref.pod }, listing)
    const block = parseCidr(bought.fields.cidr ?? '')
    if (block === undefined || !ipIdCodec.carriesPrefix(bought.id)) throw Errors.upstreamMalformed({ detail: 'OpenMetal answered the bought IP block without a usable CIDR or ID', retryAfter: 60 })
    const attempt = await writes.createAddress(bought.id, { label }, call)
    if ('refused' in attempt) throw attempt.refused
    return { data: await handedOut(call, bought.id, block, attempt.created) }
  })

  app.post('/v1/infrastructure/ip/release', { schema: releaseSchema }, async (request) => {
    const { auth, request: body } = request.body
    const ref = ipIdCodec.decode(body.ip_id) ?? ipAssignmentIdCodec.decode(body.ip_assignment_id)
    if (ref === undefined) throw Errors.invalidArgument({ detail: 'ip_id was not issued by this adapter', source: '/request/ip_id' })
    const call = ialCall(request, auth)
    const server = await servers.ownedOrGone(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id })
    if (server === undefined) return { data: true }
    // the block must be one of the server's own cloud before anything in it is deleted
    const [blocks, prefix] = await Promise.all([
      server.cloudId === undefined ? undefined : client.listPrefixes(call, { cloudId: server.cloudId }),
      client.getPrefixAddresses(ref.prefixId, call)
    ])
    if (prefix === undefined) return { data: true }
    if (blocks === undefined || !blocks.items.some((block) => block.id === ref.prefixId)) {
      if (blocks?.incomplete !== undefined) throw Errors.notReady({ detail: `cannot tell whether this IP is in the server's IP blocks: OpenMetal's list of them may be incomplete (${blocks.incomplete})`, retryAfter: 60 })
      throw Errors.serverNotFound({ detail: 'this IP is not in an IP block of this server\'s cloud', source: '/request/ip_id' })
    }
    const ip = prefix.ip_addrs?.find((candidate) => candidate.id === ref.ipId)
    if (ip !== undefined) {
      if (!cycleTag.owns(ip.label, call.hubId, body.cycle.server_id)) {
        throw Errors.serverNotFound({ detail: 'this IP was not allocated to this server by this hub', source: '/request/ip_id' })
      }
      await client.deleteIp(ref.prefixId, ref.ipId, call)
    }
    // a block bought for this server whose last address this was stops billing
    const block = blocks?.items.find((candidate) => candidate.id === ref.prefixId)
    if (block !== undefined) {
      try {
        await purchases.releaseIfEmpty(call, block, call.hubId ?? '', body.cycle.server_id)
      } catch (error) {
        // the address is released; the empty block goes at the next release or the decommission (ial-inventory flags it meanwhile)
        request.log.warn({ prefixId: block.id, failure: error instanceof Error ? error.message : String(error) }, 'could not give back an empty bought IP block')
      }
    }
    return { data: true }
  })
}
