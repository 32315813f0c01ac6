/**
 * The address the connection caps count a peer under. Only ::1 reaches a test over IPv6, so
 * the /64 grouping is checked here on the function itself, and against @fastify/rate-limit's
 * normalizeIP (which groups the rate limits' addresses, by /64 too).
 */
import { normalizeIP } from '@fastify/rate-limit'
import { describe, expect, test } from 'vitest'
import { addressGroup } from '../../../src/edge/connections.ts'

/** A seeded generator, so a failure is repeatable. */
function random (seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

/** An IPv6 address with runs of zeros, in the compressed form a socket reports, or in full. */
function anyIPv6 (next: () => number): string {
  const hextets = Array.from({ length: 8 }, () => next() < 0.4 ? 0 : Math.floor(next() * 0x10000))
  const full = hextets.map((hextet) => hextet.toString(16)).join(':')
  if (next() < 0.3) return full
  // compress the first run of two or more zeros, as inet_ntop does the longest
  return full.replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::')
}

describe('addressGroup', () => {
  test('an IPv6 peer counts as its /64: every address a host can pick from it is one client', () => {
    const group = addressGroup('2001:db8:1:2::1')
    for (const peer of ['2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2:a:b:c:d', '2001:DB8:1:2::BEEF', '2001:0db8:0001:0002:0000:0000:0000:0003']) {
      expect(addressGroup(peer), peer).toBe(group)
    }
    expect(group).toBe('2001:db8:1:2::')
  })

  test('another /64, even the next one, is another client', () => {
    const group = addressGroup('2001:db8:1:2::1')
    for (const peer of ['2001:db8:1:3::1', '2001:db8:1:1:ffff:ffff:ffff:ffff', '2001:db8:2:2::1', '2001:db9:1:2::1']) {
      expect(addressGroup(peer), peer).not.toBe(group)
    }
  })

  test('IPv4 is counted per address; an IPv4-mapped IPv6 peer (a dual-stack listener) as that IPv4', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7')
    expect(addressGroup('203.0.113.8')).not.toBe(addressGroup('203.0.113.7'))
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(addressGroup('::ffff:127.0.0.1')).toBe(addressGroup('127.0.0.1'))
  })

  test('loopback and link-local peers group like any other /64', () => {
    expect(addressGroup('::1')).toBe('::')
    expect(addressGroup('fe80::1%eth0')).toBe(addressGroup('fe80::2%eth0'))
  })

  test('the same groups as normalizeIP, for addresses of every shape', () => {
    const next = random(64)
    const peers = [
      ...Array.from({ length: 5000 }, () => anyIPv6(next)),
      ...Array.from({ length: 200 }, () => `::ffff:${[0, 0, 0, 0].map(() => Math.floor(next() * 256)).join('.')}`),
      ...Array.from({ length: 200 }, () => [0, 0, 0, 0].map(() => Math.floor(next() * 256)).join('.')),
      '::', '::1', '1::', '::ffff:0.0.0.0', '2001:db8::', '0:0:0:1::', '1:0:0:0:0:0:0:1', '2001:DB8:0:0:1::', 'fe80::1%eth0'
    ]
    for (const peer of peers) expect(addressGroup(peer), peer).toBe(normalizeIP(peer))
  })

  test('what no socket reports is counted as it is', () => {
    for (const text of ['1:2:3', '1::2::3', '1:2:3:4:5:6:7:8:9', '::g', '::ffff:300.1.1.1']) expect(addressGroup(text)).toBe(text)
  })
})
