/** IPv4 arithmetic for routed OpenMetal blocks. */

export interface Ipv4Block {
  /** network address as an unsigned 32-bit number */
  readonly network: number
  readonly prefixLength: number
}

export function parseIpv4 (text: string): number | undefined {
  const parts = text.trim().split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined
    value = value * 256 + Number(part)
  }
  return value
}

export function formatIpv4 (value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.')
}

function maskOf (prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0
}

export function parseCidr (cidr: string): Ipv4Block | undefined {
  const [address, length, ...rest] = cidr.trim().split('/')
  if (address === undefined || length === undefined || rest.length > 0 || !/^\d{1,2}$/.test(length)) return undefined
  const prefixLength = Number(length)
  const value = parseIpv4(address)
  if (value === undefined || prefixLength > 32) return undefined
  return { network: (value & maskOf(prefixLength)) >>> 0, prefixLength }
}

export function contains (block: Ipv4Block, address: number): boolean {
  return ((address & maskOf(block.prefixLength)) >>> 0) === block.network
}

/**
 * What Cycle needs to configure an address of a routed block. OpenMetal's VRRP gateway is
 * the first address after the network address.
 */
export function ipv4Assignment (block: Ipv4Block, address: number): { cidr: string, gateway: string, netmask: string, network: string } {
  if (!contains(block, address)) throw new Error('address outside its block')
  const suffix = `/${block.prefixLength}`
  return {
    cidr: `${formatIpv4(address)}${suffix}`,
    gateway: formatIpv4(block.network + 1),
    netmask: formatIpv4(maskOf(block.prefixLength)),
    network: `${formatIpv4(block.network)}${suffix}`
  }
}

/**
 * Addresses of a routed OpenMetal block still free, from the block's own address list: a
 * routed block reserves five (network, VRRP gateway = network+1, the two core switches =
 * network+2 and +3, broadcast), so a /28 holds eleven. `inUse` may hold anything OpenMetal
 * listed; what is not an address of the usable range does not count.
 */
export function freeAddresses (block: Ipv4Block, inUse: readonly string[]): number {
  const size = 2 ** (32 - block.prefixLength)
  const first = block.network + 4
  const last = block.network + size - 2
  if (last < first) return 0
  const used = new Set(inUse.map(parseIpv4).filter((address): address is number => address !== undefined && address >= first && address <= last))
  return last - first + 1 - used.size
}
