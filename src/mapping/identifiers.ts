/**
 * The identifiers we hand to Cycle. They carry what we need to find the resource again,
 * so the adapter keeps no state: versioned, URL-safe, and checked strictly on the way
 * back in (a forged or foreign token is refused, and nothing from it reaches an upstream
 * URL unchecked).
 *
 *   server_id         om1.<orderId>.<pod>[.<cloudId>]
 *   ip_id             omip1.<prefixId>.<ipId>
 *   ip_assignment_id  omipa1.<prefixId>.<ipId>
 */

/** OpenMetal resource IDs are short alphanumeric strings (e.g. `PGZYNxBpg3`). */
const RESOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/
const POD = /^pod_[0-9]{1,4}$/
/**
 * What a Cycle ID in a tag may hold: Cycle's are 24 hex characters; anything with `:` or
 * nothing at all would make a tag that cannot be read back.
 */
const TAGGABLE_ID = RESOURCE_ID
/** a safe integer without leading zeros, so one IP has exactly one token */
const IP_NUMBER = /^(0|[1-9][0-9]{0,15})$/

export interface ServerRef {
  readonly orderId: string
  readonly pod: string
  readonly cloudId?: string | undefined
}

export interface IpRef {
  readonly prefixId: string
  readonly ipId: number
}

export const serverIdCodec = {
  /** whether a server in this pod can be handed to Cycle at all: asked before buying one */
  carriesPod (pod: string): boolean {
    return POD.test(pod)
  },

  encode (ref: ServerRef): string {
    if (!RESOURCE_ID.test(ref.orderId) || !POD.test(ref.pod) || (ref.cloudId !== undefined && !RESOURCE_ID.test(ref.cloudId))) {
      throw new Error('server reference has characters that cannot be encoded')
    }
    return ['om1', ref.orderId, ref.pod, ...(ref.cloudId === undefined ? [] : [ref.cloudId])].join('.')
  },

  /** undefined for anything this adapter did not issue */
  decode (token: string): ServerRef | undefined {
    if (token.length > 200) return undefined
    const parts = token.split('.')
    if (parts[0] !== 'om1' || parts.length < 3 || parts.length > 4) return undefined
    const [, orderId, pod, cloudId] = parts
    if (orderId === undefined || !RESOURCE_ID.test(orderId) || pod === undefined || !POD.test(pod)) return undefined
    if (cloudId !== undefined && !RESOURCE_ID.test(cloudId)) return undefined
    return cloudId === undefined ? { orderId, pod } : { orderId, pod, cloudId }
  }
}

function ipCodec (version: string) {
  return {
    /** whether addresses of this block can be handed to Cycle at all: asked before creating one */
    carriesPrefix (prefixId: string): boolean {
      return RESOURCE_ID.test(prefixId)
    },

    encode (ref: IpRef): string {
      if (!RESOURCE_ID.test(ref.prefixId) || !Number.isSafeInteger(ref.ipId) || ref.ipId < 0) {
        throw new Error('IP reference has characters that cannot be encoded')
      }
      return `${version}.${ref.prefixId}.${ref.ipId}`
    },

    decode (token: string): IpRef | undefined {
      if (token.length > 200) return undefined
      const parts = token.split('.')
      const [head, prefixId, ipId] = parts
      if (parts.length !== 3 || head !== version || prefixId === undefined || !RESOURCE_ID.test(prefixId) || ipId === undefined || !IP_NUMBER.test(ipId)) return undefined
      const number = Number(ipId)
      return Number.isSafeInteger(number) ? { prefixId, ipId: number } : undefined
    }
  }
}

export const ipIdCodec = ipCodec('omip1')
export const ipAssignmentIdCodec = ipCodec('omipa1')

/**
 * The tag that ties an OpenMetal order (and the IPs of its cloud) to one Cycle server of
 * one hub: it makes provision idempotent and is checked before anything is changed.
 */
export const cycleTag = {
  /** whether a tag holding this Cycle ID reads back: asked before buying anything tagged with it */
  carries (cycleId: string): boolean {
    return TAGGABLE_ID.test(cycleId)
  },

  forServer (hubId: string, serverId: string): string {
    if (!TAGGABLE_ID.test(hubId) || !TAGGABLE_ID.test(serverId)) throw new Error('a Cycle ID that cannot be read back from a tag')
    return `cycle:${hubId}:${serverId}`
  },

  /** `nonce` makes each allocation's label unique, so a lost answer can be found again. */
  forIp (hubId: string, serverId: string, poolId: string | null | undefined, nonce: string): string {
    return `cycle:${hubId}:${serverId}:ip:${poolId ?? 'none'}:${nonce}`
  },

  /**
   * An IP block bought for one server: numbered, so the block a need calls for has one
   * label in every replica (found again instead of bought twice).
   */
  forBlock (hubId: string, serverId: string, number: number): string {
    return `${cycleTag.forServer(hubId, serverId)}:block:${number}`
  },

  /** The number of a block bought for this hub's server, from its label. */
  blockNumber (label: string | undefined, hubId: string, serverId: string): number | undefined {
    const match = /^cycle:([^:]+):([^:]+):block:([1-9][0-9]{0,3})$/.exec(label ?? '')
    return match === null || match[1] !== hubId || match[2] !== serverId ? undefined : Number(match[3])
  },

  /**
   * Whether a label ties its resource to this hub and, when given, this Cycle server: the one
   * ownership check made before anything is read out or changed. Without a hub nothing can be
   * proven, so nothing is owned.
   */
  owns (label: string | undefined, hubId: string | undefined, serverId?: string): boolean {
    if (hubId === undefined || hubId === '') return false
    const tag = cycleTag.parse(label)
    return tag !== undefined && tag.hubId === hubId && (serverId === undefined || tag.serverId === serverId)
  },

  parse (label: string | undefined): { hubId: string, serverId: string } | undefined {
    const match = /^cycle:([^:]+):([^:]+)(?::|$)/.exec(label ?? '')
    return match === null || match[1] === undefined || match[2] === undefined ? undefined : { hubId: match[1], serverId: match[2] }
  }
}
