import { randomBytes } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { allocateSchema, releaseSchema } from '../schemas.ts'
import { ialCall, type IalCall } from '../context.ts'
import type { IalDeps } from '../deps.ts'
import { contains, freeAddresses, ipv4Assignment, parseCidr, parseIpv4, type Ipv4Block } from '../../mapping/cidr.ts'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec } from '../../mapping/identifiers.ts'
import { mayHold, type CreatedAddress } from '../../openmetal/client.ts'
import type { PrefixAnswer } from '../../openmetal/answers.ts'
import { type OpenMetalHttpError } from '../../openmetal/errors.ts'
import type { AllocateIPResponse } from '../../generated/cycle-ial.ts'
import { Errors } from '../../errors.ts'

/**
 * The blocks of the server's cloud an address may come from: routed, in its pod, with an ID an
 * ip_id can carry (else Cycle could never release the address), and not a block bought for
 * this server that is on no VLAN yet (it does not route: the purchase puts it on one).
 */
function usableBlocks (prefixes: readonly PrefixAnswer[], pod: string, hubId: string, cycleServerId: string): Array<{ prefixId: string, block: Ipv4Block }> {
  return prefixes
    .filter((prefix) => prefix.fields.prefix_type === 'routed' && prefix.fields.pod_location === pod && ipIdCodec.carriesPrefix(prefix.id) &&
      !(cycleTag.blockNumber(prefix.label, hubId, cycleServerId) !== undefined && prefix.fields.central_vlan_id === undefined))
    .flatMap((prefix) => {
      const block = parseCidr(prefix.fields.cidr ?? '')
      return block === undefined ? [] : [{ prefixId: prefix.id, block }]
    })
}

/** 9-10. IPv4 addresses from the routed blocks of the server's cloud (and, when allowed, blocks bought for it). */
export const ipRoutes: FastifyPluginAsyncTypebox<IalDeps> = async (app, { client, writes, servers, purchases, config }) => {
  /**
   * Whether a block OpenMetal refused an address in has no room now: other allocations (on this
   * replica or another) filled it since its addresses were read. Full is "the next block", not a failure.
   */
  async function filledUp (call: IalCall, prefixId: string, block: Ipv4Block): Promise<boolean> {
    const listed = await client.addresses(prefixId, call, { fresh: true })
    return listed !== undefined && freeAddresses(block, listed.items.map((ip) => ip.ip)) === 0
  }

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
    const hubId = call.hubId ?? ''
    const label = cycleTag.forIp(hubId, body.cycle.server_id, body.cycle.pool_id, randomBytes(6).toString('hex'))
    const place = { hubId, cycleServerId: body.cycle.server_id, cloudId, pod: server.ref.pod }
    // a block that others fill before this allocation gets its address means "the next block":
    // the blocks are read again, fresh, once per block the cap still allows to buy
    let listing = hint === cloudId && early !== undefined ? early : await client.listPrefixes(call, { cloudId })
    for (let round = 0; ; round++) {
      const blocks = usableBlocks(listing.items, server.ref.pod, hubId, body.cycle.server_id)
      const found = await addressIn(call, blocks, label, round > 0)
      if ('created' in found) return { data: found.created }
      // blocks with room that OpenMetal would not use: its reason, not "full"
      if ('refused' in found) throw found.refused
      if (!purchases.allowed(call)) {
        const partial = listing.incomplete === undefined ? '' : ` (OpenMetal's list of IP blocks may be incomplete: ${listing.incomplete})`
        throw Errors.notCompatible({ detail: `no free IPv4 address is left in the ${blocks.length} routed block(s) of this server${partial}; add an IP block to the cloud at OpenMetal, or let the adapter buy one (OPENMETAL_IP_BLOCK_PURCHASE, or ip_block_purchase in auth.config)` })
      }
      // every block is full: one more, bought for this server (found again, never bought twice, never past the cap)
      const bought = await purchases.blockFor(call, place, listing)
      const block = parseCidr(bought.fields.cidr ?? '')
      if (block === undefined || !ipIdCodec.carriesPrefix(bought.id)) throw Errors.upstreamMalformed({ detail: 'OpenMetal answered the bought IP block without a usable CIDR or ID', retryAfter: 60 })
      const attempt = await writes.createAddress(bought.id, { label }, call)
      if ('created' in attempt) return { data: await handedOut(call, bought.id, block, attempt.created) }
      if (round >= config.ipBlocksPerServerMax || !await filledUp(call, bought.id, block)) throw attempt.refused
      listing = await client.listPrefixes(call, { cloudId, fresh: true })
    }
  })

  /**
   * An address in the first of `blocks` with room: room is read from the blocks' own address
   * lists (all at once; `fresh` after others may have filled them), and a refused create only
   * means "not this block, not now" ('full' when every block is, or filled up meanwhile).
   */
  async function addressIn (call: IalCall, blocks: ReadonlyArray<{ prefixId: string, block: Ipv4Block }>, label: string, fresh: boolean): Promise<{ created: AllocateIPResponse } | { refused: OpenMetalHttpError } | { full: true }> {
    const addresses = await Promise.all(blocks.map(({ prefixId }) => client.addresses(prefixId, call, { fresh })))
    let refusal: OpenMetalHttpError | undefined
    for (const [index, { prefixId, block }] of blocks.entries()) {
      const listed = addresses[index]
      if (listed === undefined || freeAddresses(block, listed.items.map((ip) => ip.ip)) === 0) continue
      const attempt = await writes.createAddress(prefixId, { label }, call)
      if ('created' in attempt) return { created: await handedOut(call, prefixId, block, attempt.created) }
      if (!await filledUp(call, prefixId, block)) refusal = attempt.refused
    }
    return refusal === undefined ? { full: true } : { refused: refusal }
  }

  app.post('/v1/infrastructure/ip/release', { schema: releaseSchema }, async (request) => {
    const { auth, request: body } = request.body
    const ref = ipIdCodec.decode(body.ip_id) ?? ipAssignmentIdCodec.decode(body.ip_assignment_id)
    if (ref === undefined) throw Errors.invalidArgument({ detail: 'ip_id was not issued by this adapter', source: '/request/ip_id' })
    const call = ialCall(request, auth)
    const server = await servers.ownedOrGone(call, { serverId: body.server_id, cycleServerId: body.cycle.server_id })
    if (server === undefined) return { data: true }
    // the block must be one of the server's own cloud before anything in it is deleted; an entry
    // that may be this block or this address must be readable, or "not there" could be "not read"
    const [blocks, prefix] = await Promise.all([
      server.cloudId === undefined ? undefined : client.listPrefixes(call, { cloudId: server.cloudId, mustRead: mayHold('id', ref.prefixId) }),
      client.addresses(ref.prefixId, call, { fresh: true, mustRead: mayHold('id', ref.ipId) })
    ])
    if (prefix === undefined) return { data: true }
    if (blocks === undefined || !blocks.items.some((block) => block.id === ref.prefixId)) {
      if (blocks?.incomplete !== undefined) throw Errors.notReady({ detail: `cannot tell whether this IP is in the server's IP blocks: OpenMetal's list of them may be incomplete (${blocks.incomplete})`, retryAfter: 60 })
      throw Errors.serverNotFound({ detail: 'this IP is not in an IP block of this server\'s cloud', source: '/request/ip_id' })
    }
    const ip = prefix.items.find((candidate) => candidate.id === ref.ipId)
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
