/**
 * IP blocks bought for a server whose cloud's own are full. Opt-in (each costs the customer
 * money: OPENMETAL_IP_BLOCK_PURCHASE, or `ip_block_purchase` in a hub's config), capped per
 * server, put on the cloud's Provider VLAN (where its addresses route), and given back as
 * soon as it is empty or the server is decommissioned. A bought block's label names the hub,
 * the Cycle server and a number, `cycle:<hub>:<server>:block:<n>`: the block a need calls for
 * has the same label in every replica, and is bought under the server's block lease
 * (labelled-writes.ts), so it is found again instead of bought twice, and no replica can buy
 * past the cap: each number up to it is bought at most once.
 */
import type { Config } from '../config.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import { labelOf, type LabelledWrites } from '../openmetal/labelled-writes.ts'
import type { PrefixAnswer, VlanAnswer } from '../openmetal/answers.ts'
import type { Listing } from '../openmetal/pagination.ts'
import { freeAddresses, parseCidr } from '../mapping/cidr.ts'
import { blockPurchaseAllowed } from '../mapping/hub-config.ts'
import { cycleTag } from '../mapping/identifiers.ts'
import { isRefusal } from '../openmetal/errors.ts'
import { Errors } from '../errors.ts'
import type { IalCall } from './context.ts'

/** The OpenMetal add-on of a routed /28. */
export const IP_BLOCK_ADDON = 'ipv4_block_28'

export interface ServerPlace {
  readonly hubId: string
  readonly cycleServerId: string
  readonly cloudId: string
  readonly pod: string
}

export class IpBlockPurchases {
  private readonly client: OpenMetalClient
  private readonly writes: LabelledWrites
  private readonly config: Config

  constructor (client: OpenMetalClient, writes: LabelledWrites, config: Config) {
    this.client = client
    this.writes = writes
    this.config = config
  }

  /** The blocks among a cloud's that were bought for this server. */
  static boughtFor (blocks: readonly PrefixAnswer[], hubId: string, cycleServerId: string): Array<{ block: PrefixAnswer, number: number }> {
    return blocks.flatMap((block) => {
      const number = cycleTag.blockNumber(block.label, hubId, cycleServerId)
      return number === undefined ? [] : [{ block, number }]
    })
  }

  /** Whether this hub's servers may have blocks bought for them (the hub's say, else the operator's). */
  allowed (call: IalCall): boolean {
    return blockPurchaseAllowed(call.hubConfig, this.config)
  }

  /**
   * A bought block for the server, on the Provider VLAN, ready for an address: the one a
   * crash left unassigned, or a new one. Refuses (and buys nothing) without the opt-in, at the
   * cap, on a list that may be incomplete, or without a single Provider VLAN.
   */
  async blockFor (call: IalCall, server: ServerPlace, cloudBlocks: Listing<PrefixAnswer>): Promise<PrefixAnswer> {
    if (!this.allowed(call)) throw Errors.notCompatible({ detail: 'buying IP blocks is off (OPENMETAL_IP_BLOCK_PURCHASE, or ip_block_purchase in auth.config)' })
    if (cloudBlocks.incomplete !== undefined) {
      throw Errors.notReady({ detail: `OpenMetal's list of IP blocks may be incomplete (${cloudBlocks.incomplete}); nothing is bought on a list that may be incomplete`, retryAfter: 60 })
    }
    const bought = IpBlockPurchases.boughtFor(cloudBlocks.items, server.hubId, server.cycleServerId)
    const unassigned = bought.find(({ block }) => block.fields.central_vlan_id === undefined)
    const assigned = bought.length - (unassigned === undefined ? 0 : 1)
    const max = this.config.ipBlocksPerServerMax
    if (unassigned === undefined && assigned >= max) {
      throw Errors.notCompatible({ detail: `no free IPv4 address is left, and this server already has ${assigned} bought IP block(s), the most allowed (OPENMETAL_IP_BLOCKS_PER_SERVER_MAX=${max})` })
    }
    const taken = new Set(bought.map(({ number }) => number))
    let number = unassigned?.number ?? 1
    if (unassigned === undefined) while (taken.has(number)) number++
    const vlan = await this.providerVlan(call, server)
    const label = cycleTag.forBlock(server.hubId, server.cycleServerId, number)
    const block = await this.writes.buyBlock({
      label,
      description: `IP block for Cycle server ${server.cycleServerId}`,
      fields: { prefix_type: 'routed', product_addon: IP_BLOCK_ADDON, cloud_id: server.cloudId, pod_location: server.pod, central_vlan_id: vlan.id }
    }, server, call)
    if (block.fields.central_vlan_id !== undefined) return block
    await this.client.assignBlock(vlan.id, block.id, call)
    return { ...block, fields: { ...block.fields, central_vlan_id: vlan.id } }
  }

  /**
   * Gives back a block bought for this server once no usable address in it is in use (it
   * stops billing). The cloud's own blocks are never touched.
   */
  async releaseIfEmpty (call: IalCall, block: PrefixAnswer, hubId: string, cycleServerId: string): Promise<boolean> {
    const cidr = parseCidr(block.fields.cidr ?? '')
    if (cycleTag.blockNumber(block.label, hubId, cycleServerId) === undefined || cidr === undefined) return false
    // every entry must be readable: one skipped could be an address in use
    const addresses = await this.client.addresses(block.id, call, { fresh: true, mustRead: () => true })
    if (addresses === undefined) return false
    const inUse = addresses.items.map((ip) => ip.ip)
    if (freeAddresses(cidr, inUse) < freeAddresses(cidr, [])) return false
    await this.client.releaseBlock(block, call)
    return true
  }

  /**
   * Decommission: the server's addresses in its bought blocks, then the blocks themselves, as
   * far as OpenMetal's list of blocks shows them (a block it does not show is left to
   * `ial-inventory`, which flags a bought block whose cloud is gone). A block OpenMetal
   * refuses to give back (its VLAN may be a system one only support can change) is left in
   * place and returned, for the log and `ial-inventory`; a failure that may pass is thrown,
   * so Cycle's retry gives the block back.
   */
  async releaseAll (call: IalCall, cloudBlocks: Listing<PrefixAnswer>, hubId: string, cycleServerId: string): Promise<Array<{ prefixId: string, reason: string }>> {
    const leftBehind: Array<{ prefixId: string, reason: string }> = []
    for (const { block } of IpBlockPurchases.boughtFor(cloudBlocks.items, hubId, cycleServerId)) {
      try {
        // an entry that may be one of this server's addresses must be readable, or it would stay allocated
        const addresses = await this.client.addresses(block.id, call, { fresh: true, mustRead: (item) => cycleTag.owns(labelOf(item), hubId, cycleServerId) })
        for (const ip of addresses?.items ?? []) {
          if (ip.id !== undefined && cycleTag.owns(ip.label, hubId, cycleServerId)) await this.client.deleteIp(block.id, ip.id, call)
        }
        await this.client.releaseBlock(block, call)
      } catch (error) {
        if (!isRefusal(error)) throw error
        leftBehind.push({ prefixId: block.id, reason: `OpenMetal answered ${error.status} to ${error.operation}${error.upstreamMessage === undefined ? '' : `: ${error.upstreamMessage}`}` })
      }
    }
    return leftBehind
  }

  /** The cloud's Provider VLAN: routed, of this cloud and pod, labelled Provider. */
  private async providerVlan (call: IalCall, server: ServerPlace): Promise<VlanAnswer> {
    const vlans = await this.client.listVlans(call)
    if (vlans.incomplete !== undefined) {
      throw Errors.notReady({ detail: `OpenMetal's list of VLANs may be incomplete (${vlans.incomplete}); no IP block is bought`, retryAfter: 60 })
    }
    const routed = vlans.items.filter((vlan) => vlan.fields.cloud_id === server.cloudId && vlan.fields.vlan_type === 'routed' && (vlan.fields.pod_location ?? server.pod) === server.pod)
    const provider = routed.filter((vlan) => /provider/i.test(vlan.label ?? ''))
    if (provider.length !== 1 || provider[0] === undefined) {
      throw Errors.notCompatible({ detail: `OpenMetal shows ${provider.length === 0 ? 'no' : 'more than one'} Provider VLAN for this server's cloud, so a bought IP block would have nowhere to route; nothing was bought` })
    }
    return provider[0]
  }
}
