/**
 * IPv4 arithmetic for the simulator's routed blocks. Kept separate from the adapter's own
 * CIDR code on purpose: the simulator is the adapter's test oracle and must not share its bugs.
 */

export function parseIpv4 (text: string): number | undefined {
  const parts = text.split('.')
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

/**
 * Where routed /28 blocks come from, in order. The three documentation ranges come first so
 * addresses look public (not RFC 1918) in demos and logs; the benchmarking range behind them
 * only exists so long benchmark runs never run out.
 */
const RANGES: ReadonlyArray<{ readonly start: string, readonly blocks: number }> = [
  { start: '203.0.113.0', blocks: 16 }, // TEST-NET-3, RFC 5737
  { start: '198.51.100.0', blocks: 16 }, // TEST-NET-2, RFC 5737
  { start: '192.0.2.0', blocks: 16 }, // TEST-NET-1, RFC 5737
  { start: '198.18.0.0', blocks: 8192 } // 198.18.0.0/15, RFC 2544
]

export const BLOCK_SIZE = 16
export const BLOCK_LENGTH = 28

/** The network address of the n-th /28 block, or undefined once every range is used up. */
export function blockAt (index: number): number | undefined {
  let remaining = index
  for (const range of RANGES) {
    if (remaining < range.blocks) return (parseIpv4(range.start) ?? 0) + remaining * BLOCK_SIZE
    remaining -= range.blocks
  }
  return undefined
}

/**
 * Offsets inside a routed /28 that OpenMetal keeps: network (0), VRRP gateway (1), the two
 * switch addresses (2, 3) and broadcast (15). That leaves 4..14, eleven usable addresses.
 */
export const FIRST_USABLE = 4
export const LAST_USABLE = 14
