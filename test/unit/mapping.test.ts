/**
 * Unit tests of the pure mapping modules (src/mapping/*): one top-level describe per module.
 * They live in one file because each test file costs a fork and ~0.3 s of imports, and the
 * whole unit suite must stay near 5 s on a two-core machine.
 */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { Value } from 'typebox/value'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec, serverIdCodec } from '../../src/mapping/identifiers.ts'
import type { IpRef, ServerRef } from '../../src/mapping/identifiers.ts'
import { contains, formatIpv4, freeAddresses, ipv4Assignment, parseCidr, parseIpv4 } from '../../src/mapping/cidr.ts'
import type { Ipv4Block } from '../../src/mapping/cidr.ts'
import { geographyOf, integerOf, locationsFromInventory, podsOf, serverModelsFromCatalog, stockBySku } from '../../src/mapping/catalog.ts'
import type { Pod } from '../../src/mapping/catalog.ts'
import { provisionStatus, ServerGone } from '../../src/mapping/provision-status.ts'
import { decodeHubConfig } from '../../src/mapping/hub-config.ts'
import { orderRequestFor } from '../../src/mapping/order.ts'
import type { ProvisionPlan } from '../../src/mapping/order.ts'
import { Location as CycleLocation, ProviderServerModel } from '../../src/generated/cycle-ial.ts'
import { OrderRequest } from '../../src/generated/openmetal.ts'
import type { Cloud, CloudStats, CloudStatsNode, GetOrder, HardwareProduct, HardwareType, Locations } from '../../src/generated/openmetal.ts'
import { fullUnicodeString } from '../helpers/arbitraries.ts'
import { AvailabilityAnswer, CloudStatsAnswer, PodsAnswer, podMapIn, stockIn } from '../../src/openmetal/answers.ts'
import { readAnswer } from '../../src/openmetal/tolerant-reader.ts'

/** A locations answer as the client reads it (wrapped or bare, unreadable pods skipped). */
function pods (body: unknown): PodsAnswer {
  return readAnswer(PodsAnswer, podMapIn(body), 'getLocations')
}

/**
 * The tokens Cycle stores for us: server_id, ip_id, ip_assignment_id and the Cycle tag on
 * orders. They must round-trip what we encode and refuse anything else without throwing.
 */
describe('src/mapping/identifiers.ts', () => {
  const RESOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/
  const resourceId = fc.stringMatching(RESOURCE_ID)
  const pod = fc.nat({ max: 9999 }).map((n) => `pod_${n}`)
  const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/)
  const serverRef: fc.Arbitrary<ServerRef> = fc.record({ orderId: resourceId, pod, cloudId: resourceId }, { requiredKeys: ['orderId', 'pod'] })
  const ipRef: fc.Arbitrary<IpRef> = fc.record({ prefixId: resourceId, ipId: fc.nat({ max: 999_999_999_999 }) })
  /** every string a client could send: ASCII, full Unicode (lone surrogates included), graphemes */
  const anyText = fc.oneof(
    fc.string({ maxLength: 300 }),
    fullUnicodeString(300),
    fc.string({ unit: 'grapheme', maxLength: 80 }),
    fc.string({ unit: fc.constantFrom('o', 'm', 'i', 'p', 'a', '1', '.', '_', 'd', '0', '/', '%'), maxLength: 40 })
  )

  function isValidServerRef (ref: ServerRef): boolean {
    return RESOURCE_ID.test(ref.orderId) && /^pod_[0-9]{1,4}$/.test(ref.pod) && (ref.cloudId === undefined || RESOURCE_ID.test(ref.cloudId))
  }

  describe('server_id codec', () => {
    test('decode(encode(ref)) is ref for every order ID, pod and optional cloud ID', () => {
      fc.assert(fc.property(serverRef, (ref) => {
        expect(serverIdCodec.decode(serverIdCodec.encode(ref))).toEqual(ref)
      }), { numRuns: 300 })
    })

    test('a token learns the cloud ID later without losing the order or the pod', () => {
      fc.assert(fc.property(resourceId, pod, resourceId, (orderId, podId, cloudId) => {
        const before = serverIdCodec.decode(serverIdCodec.encode({ orderId, pod: podId }))
        const after = serverIdCodec.decode(serverIdCodec.encode({ orderId, pod: podId, cloudId }))
        expect(before).toEqual({ orderId, pod: podId })
        expect(after).toEqual({ orderId, pod: podId, cloudId })
      }))
    })

    test('tokens are URL-safe: nothing in them needs percent-encoding', () => {
      fc.assert(fc.property(serverRef, (ref) => {
        const token = serverIdCodec.encode(ref)
        expect(encodeURIComponent(token)).toBe(token)
        expect(token).toMatch(/^om1\.[A-Za-z0-9_.-]+$/)
      }))
    })

    test('arbitrary strings never throw and decode only when they are a well-formed token', () => {
      fc.assert(fc.property(anyText, (text) => {
        const ref = serverIdCodec.decode(text)
        if (ref === undefined) return
        // whatever is accepted is canonical: it is exactly what we would have issued
        expect(isValidServerRef(ref)).toBe(true)
        expect(serverIdCodec.encode(ref)).toBe(text)
      }), { numRuns: 500 })
    })

    test.each([
      ['path traversal', 'om1.../..'],
      ['traversal in the order', 'om1.../...pod_1'],
      ['dot-dot as the order', 'om1....pod_1'],
      ['a slash in the order', 'om1.a/b.pod_1'],
      ['a slash in the cloud', 'om1.abc.pod_1.c/d'],
      ['a percent-encoded slash', 'om1.a%2Fb.pod_1'],
      ['a percent-encoded dot-dot', 'om1.%2E%2E.pod_1'],
      ['a query string', 'om1.abc.pod_1?x=1'],
      ['a fragment', 'om1.abc.pod_1#frag'],
      ['a space', 'om1.abc .pod_1'],
      ['a leading space', ' om1.abc.pod_1'],
      ['a trailing newline', 'om1.abc.pod_1\n'],
      ['a NUL byte', 'om1.abc\u0000.pod_1'],
      ['a Unicode letter', 'om1.abcé.pod_1'],
      ['a backslash', 'om1.a\\b.pod_1'],
      ['an empty order', 'om1..pod_1'],
      ['an empty cloud', 'om1.abc.pod_1.'],
      ['no pod', 'om1.abc'],
      ['a pod that is not pod_N', 'om1.abc.pod1'],
      ['a pod number too long', 'om1.abc.pod_12345'],
      ['too many parts', 'om1.abc.pod_1.cl.extra'],
      ['another version', 'om2.abc.pod_1'],
      ['the version in capitals', 'OM1.abc.pod_1'],
      ['an order ID of 65 characters', `om1.${'a'.repeat(65)}.pod_1`],
      ['a cloud ID of 65 characters', `om1.abc.pod_1.${'c'.repeat(65)}`],
      ['the empty string', '']
    ])('refuses %s (%j)', (_name, token) => {
      expect(serverIdCodec.decode(token)).toBeUndefined()
    })

    test('very long tokens are refused before they are split', () => {
      expect(serverIdCodec.decode(`om1.abc.pod_1.${'x'.repeat(10_000)}`)).toBeUndefined()
      expect(serverIdCodec.decode('om1.'.repeat(100_000))).toBeUndefined()
      expect(serverIdCodec.decode('.'.repeat(1_000_000))).toBeUndefined()
    })

    test('the longest legal token (64-character order and cloud IDs) is accepted', () => {
      const ref = { orderId: 'o'.repeat(64), pod: 'pod_9999', cloudId: 'c'.repeat(64) }
      expect(serverIdCodec.decode(serverIdCodec.encode(ref))).toEqual(ref)
    })

    test.each([
      { orderId: '../etc', pod: 'pod_1' },
      { orderId: '', pod: 'pod_1' },
      { orderId: 'a.b', pod: 'pod_1' },
      { orderId: 'abc', pod: 'pod_x' },
      { orderId: 'abc', pod: 'pod_1', cloudId: '' },
      { orderId: 'abc', pod: 'pod_1', cloudId: 'x/y' },
      { orderId: 'o'.repeat(65), pod: 'pod_1' }
    ])('refuses to encode %j, which it could not decode again', (ref) => {
      expect(() => serverIdCodec.encode(ref)).toThrow()
    })
  })

  describe('ip_id and ip_assignment_id codecs', () => {
    test.each([['ip_id', ipIdCodec, 'omip1.'], ['ip_assignment_id', ipAssignmentIdCodec, 'omipa1.']] as const)('%s round-trips prefix and IP IDs', (_name, codec, prefix) => {
      fc.assert(fc.property(ipRef, (ref) => {
        const token = codec.encode(ref)
        expect(token.startsWith(prefix)).toBe(true)
        expect(encodeURIComponent(token)).toBe(token)
        expect(codec.decode(token)).toEqual(ref)
      }), { numRuns: 300 })
    })

    test('every ID that encode accepts decodes again (safe integers of 13+ digits)', () => {
      fc.assert(fc.property(resourceId, fc.integer({ min: 10 ** 12, max: Number.MAX_SAFE_INTEGER }), (prefixId, ipId) => {
        expect(ipIdCodec.decode(ipIdCodec.encode({ prefixId, ipId }))).toEqual({ prefixId, ipId })
      }))
    })

    test.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('refuses to encode the IP ID %d', (ipId) => {
      expect(() => ipIdCodec.encode({ prefixId: 'pfx', ipId })).toThrow()
    })

    test('refuses to encode a prefix ID that could reach a URL unchecked', () => {
      expect(() => ipIdCodec.encode({ prefixId: '../x', ipId: 1 })).toThrow()
      expect(() => ipAssignmentIdCodec.encode({ prefixId: 'a b', ipId: 1 })).toThrow()
    })

    test('server_id and tag say beforehand which pods and Cycle IDs they carry, exactly those encode and forServer accept', () => {
      const accepts = (encode: () => unknown): boolean => { try { encode(); return true } catch { return false } }
      fc.assert(fc.property(fc.oneof(fc.constantFrom('pod_1', 'pod_9999', 'pod_12345', 'ams-2b', ''), fc.string({ maxLength: 12 })), (pod) => {
        expect(serverIdCodec.carriesPod(pod)).toBe(accepts(() => serverIdCodec.encode({ orderId: 'ord1', pod })))
      }))
      fc.assert(fc.property(fc.oneof(resourceId, fc.constantFrom('', 'aa:bb', 'a b'), fc.string({ maxLength: 70 })), (cycleId) => {
        expect(cycleTag.carries(cycleId)).toBe(accepts(() => cycleTag.forServer(cycleId, 'b'.repeat(24))))
        if (cycleTag.carries(cycleId)) expect(cycleTag.parse(cycleTag.forServer(cycleId, cycleId))).toEqual({ hubId: cycleId, serverId: cycleId })
      }))
    })

    test('says beforehand which blocks it can carry, exactly those encode accepts', () => {
      fc.assert(fc.property(fc.oneof(resourceId, fc.string({ maxLength: 70 })), (prefixId) => {
        const encodes = (() => { try { ipIdCodec.encode({ prefixId, ipId: 1 }); return true } catch { return false } })()
        expect(ipIdCodec.carriesPrefix(prefixId)).toBe(encodes)
      }))
    })

    test('arbitrary strings never throw; what decodes is a valid, re-encodable reference', () => {
      fc.assert(fc.property(anyText, (text) => {
        for (const codec of [ipIdCodec, ipAssignmentIdCodec]) {
          const ref = codec.decode(text)
          if (ref === undefined) continue
          expect(ref.prefixId).toMatch(RESOURCE_ID)
          expect(Number.isSafeInteger(ref.ipId) && ref.ipId >= 0).toBe(true)
          expect(codec.decode(codec.encode(ref))).toEqual(ref)
        }
      }), { numRuns: 500 })
    })

    test.each([
      'omip1.pfx', 'omip1.pfx.1.2', 'omip1..1', 'omip1.pfx.', 'omip1.pfx.-1', 'omip1.pfx.+1', 'omip1.pfx.1e3', 'omip1.pfx.0x10',
      'omip1.pfx. 1', 'omip1.pfx.1 ', 'omip1.p/x.1', 'omip1.%2F.1', 'omip1.pfx.1?x', 'omip1.pfx.1#x', 'omip1.../..', 'omip1.pfx.007', 'omip1.pfx.12345678901234567',
      'OMIP1.pfx.1', 'omip2.pfx.1', `omip1.${'p'.repeat(65)}.1`, `omip1.pfx.${'1'.repeat(300)}`, ''
    ])('ip_id refuses %j', (token) => {
      expect(ipIdCodec.decode(token)).toBeUndefined()
    })

    test('the three kinds of token are never mistaken for one another', () => {
      fc.assert(fc.property(serverRef, ipRef, (server, ip) => {
        const serverToken = serverIdCodec.encode(server)
        const ipToken = ipIdCodec.encode(ip)
        const assignmentToken = ipAssignmentIdCodec.encode(ip)
        expect(ipIdCodec.decode(serverToken)).toBeUndefined()
        expect(ipAssignmentIdCodec.decode(serverToken)).toBeUndefined()
        expect(serverIdCodec.decode(ipToken)).toBeUndefined()
        expect(serverIdCodec.decode(assignmentToken)).toBeUndefined()
        expect(ipAssignmentIdCodec.decode(ipToken)).toBeUndefined()
        expect(ipIdCodec.decode(assignmentToken)).toBeUndefined()
      }))
    })
  })

  describe('the Cycle tag', () => {
    test('forServer labels parse back to the hub and the Cycle server (24-hex object IDs)', () => {
      fc.assert(fc.property(hex24, hex24, (hubId, serverId) => {
        const label = cycleTag.forServer(hubId, serverId)
        expect(cycleTag.parse(label)).toEqual({ hubId, serverId })
      }))
    })

    test('forIp labels parse to the same hub and server, whatever the pool and nonce', () => {
      fc.assert(fc.property(hex24, hex24, fc.option(hex24), fc.stringMatching(/^[0-9a-f]{8,32}$/), (hubId, serverId, poolId, nonce) => {
        const label = cycleTag.forIp(hubId, serverId, poolId, nonce)
        expect(cycleTag.parse(label)).toEqual(cycleTag.parse(cycleTag.forServer(hubId, serverId)))
        expect(label.startsWith(cycleTag.forServer(hubId, serverId))).toBe(true)
      }))
    })

    test('IP labels of one server differ by nonce, so a lost allocation can be told apart', () => {
      const hub = '651586fca6078e98982dbd90'
      const server = '651586fca6078e98982dbd91'
      expect(cycleTag.forIp(hub, server, undefined, 'n1')).not.toBe(cycleTag.forIp(hub, server, undefined, 'n2'))
      expect(cycleTag.forIp(hub, server, null, 'n1')).toBe(`cycle:${hub}:${server}:ip:none:n1`)
    })

    test('tags of different hubs or servers are told apart', () => {
      fc.assert(fc.property(hex24, hex24, hex24, (a, b, c) => {
        fc.pre(b !== c)
        expect(cycleTag.parse(cycleTag.forServer(a, b))).not.toEqual(cycleTag.parse(cycleTag.forServer(a, c)))
        expect(cycleTag.parse(cycleTag.forServer(b, a))).not.toEqual(cycleTag.parse(cycleTag.forServer(c, a)))
      }))
    })

    test.each([undefined, '', 'cycle', 'cycle:', 'cycle:hub', 'cycle::server', 'cycle:hub:', 'Cycle:hub:server', 'xcycle:hub:server', 'Baremetal order 12'])('a label that is not ours (%j) parses to nothing', (label) => {
      expect(cycleTag.parse(label)).toBeUndefined()
    })

    test('arbitrary labels never throw', () => {
      fc.assert(fc.property(fc.option(anyText, { nil: undefined }), (label) => {
        const parsed = cycleTag.parse(label)
        if (parsed !== undefined) expect(label?.startsWith(`cycle:${parsed.hubId}:${parsed.serverId}`)).toBe(true)
      }))
    })
  })
})

/** IPv4 arithmetic behind ip/allocate: what Cycle writes into the server's network config. */
describe('src/mapping/cidr.ts', () => {
  const address = fc.nat({ max: 2 ** 32 - 1 })

  function block (cidr: string): Ipv4Block {
    const parsed = parseCidr(cidr)
    if (parsed === undefined) throw new Error(`test setup: ${cidr} is not a CIDR`)
    return parsed
  }

  function ip (text: string): number {
    const parsed = parseIpv4(text)
    if (parsed === undefined) throw new Error(`test setup: ${text} is not an IPv4 address`)
    return parsed
  }

  describe('parseIpv4 and formatIpv4', () => {
    test('round-trip every 32-bit address', () => {
      fc.assert(fc.property(address, (value) => {
        const text = formatIpv4(value)
        expect(text).toMatch(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/)
        expect(parseIpv4(text)).toBe(value)
      }), { numRuns: 500 })
    })

    test('dotted quads parse to their numeric value', () => {
      fc.assert(fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), ([a, b, c, d]) => {
        expect(parseIpv4(`${a}.${b}.${c}.${d}`)).toBe(((a * 256 + b) * 256 + c) * 256 + d)
        expect(formatIpv4(((a * 256 + b) * 256 + c) * 256 + d)).toBe(`${a}.${b}.${c}.${d}`)
      }))
    })

    test.each([['0.0.0.0', 0], ['255.255.255.255', 2 ** 32 - 1], ['198.51.100.115', 3325256819], ['10.0.0.1', 167772161]])('%s is %d', (text, value) => {
      expect(parseIpv4(text)).toBe(value)
      expect(formatIpv4(value)).toBe(text)
    })

    test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', '1.2.3.4a', 'a.b.c.d', '1..2.3', '1.2.3.1000', '0x1.2.3.4', '1.2.3.4/28', '::1', '1,2,3,4'])('refuses %j', (text) => {
      expect(parseIpv4(text)).toBeUndefined()
    })

    test('arbitrary strings never throw and only dotted quads parse', () => {
      fc.assert(fc.property(fc.string({ maxLength: 30 }), (text) => {
        const value = parseIpv4(text)
        if (value !== undefined) {
          expect(Number.isInteger(value) && value >= 0 && value < 2 ** 32).toBe(true)
          expect(text.trim()).toMatch(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/)
        }
      }))
    })
  })

  describe('parseCidr', () => {
    test('normalises host bits away, keeping the prefix length', () => {
      expect(parseCidr('198.51.100.115/28')).toEqual({ network: ip('198.51.100.112'), prefixLength: 28 })
      expect(parseCidr('10.1.2.3/8')).toEqual({ network: ip('10.0.0.0'), prefixLength: 8 })
      expect(parseCidr('10.1.2.3/32')).toEqual({ network: ip('10.1.2.3'), prefixLength: 32 })
      expect(parseCidr('10.1.2.3/0')).toEqual({ network: 0, prefixLength: 0 })
    })

    test('the network of any address and prefix length has no host bits and contains the address', () => {
      fc.assert(fc.property(address, fc.nat(32), (value, length) => {
        const parsed = block(`${formatIpv4(value)}/${length}`)
        expect(parsed.prefixLength).toBe(length)
        expect(parsed.network % 2 ** (32 - length)).toBe(0)
        expect(parsed.network).toBeLessThanOrEqual(value)
        expect(value - parsed.network).toBeLessThan(2 ** (32 - length))
        expect(contains(parsed, value)).toBe(true)
      }), { numRuns: 500 })
    })

    test.each(['1.2.3.4/33', '256.0.0.1/28', '1.2.3/28', 'a.b.c.d/28', '', '/28', '1.2.3.4', '1.2.3.4/', '1.2.3.4/28/1', '1.2.3.4/-1', '1.2.3.4/x', '1.2.3.4/100', '1.2.3.4/2.5'])('refuses %j', (cidr) => {
      expect(parseCidr(cidr)).toBeUndefined()
    })
  })

  describe('ipv4Assignment', () => {
    test('an address of an OpenMetal routed /28', () => {
      expect(ipv4Assignment(block('198.51.100.112/28'), ip('198.51.100.115'))).toEqual({
        cidr: '198.51.100.115/28',
        gateway: '198.51.100.113',
        netmask: '255.255.255.240',
        network: '198.51.100.112/28'
      })
    })

    test('a /28 written with host bits gives the same answer', () => {
      expect(ipv4Assignment(block('198.51.100.120/28'), ip('198.51.100.115'))).toEqual(ipv4Assignment(block('198.51.100.112/28'), ip('198.51.100.115')))
    })

    test('a /24', () => {
      expect(ipv4Assignment(block('203.0.113.0/24'), ip('203.0.113.77'))).toEqual({
        cidr: '203.0.113.77/24', gateway: '203.0.113.1', netmask: '255.255.255.0', network: '203.0.113.0/24'
      })
    })

    test('a /32', () => {
      expect(ipv4Assignment(block('203.0.113.9/32'), ip('203.0.113.9'))).toMatchObject({
        cidr: '203.0.113.9/32', netmask: '255.255.255.255', network: '203.0.113.9/32'
      })
    })

    test.each([['198.51.100.112/28', '198.51.100.128'], ['198.51.100.112/28', '198.51.100.111'], ['10.0.0.0/24', '10.0.1.0'], ['10.0.0.9/32', '10.0.0.10']])('refuses an address outside its block (%s, %s)', (cidr, outside) => {
      expect(() => ipv4Assignment(block(cidr), ip(outside))).toThrow()
    })

    test('for prefix lengths 1..30 the gateway is network + 1 and inside the block; every field is consistent', () => {
      fc.assert(fc.property(address, fc.integer({ min: 1, max: 30 }), (value, length) => {
        const parsed = block(`${formatIpv4(value)}/${length}`)
        const assignment = ipv4Assignment(parsed, value)
        const gateway = ip(assignment.gateway)
        expect(gateway).toBe(parsed.network + 1)
        expect(contains(parsed, gateway)).toBe(true)
        expect(assignment.cidr).toBe(`${formatIpv4(value)}/${length}`)
        expect(parseCidr(assignment.network)).toEqual(parsed)
        expect(parseCidr(assignment.cidr)).toEqual(parsed)
        // the netmask is `length` one bits followed by zero bits
        const mask = ip(assignment.netmask)
        expect(mask.toString(2).padStart(32, '0')).toBe('1'.repeat(length) + '0'.repeat(32 - length))
      }), { numRuns: 500 })
    })
  })

  describe('freeAddresses', () => {
    const BLOCK = '203.0.113.16/28'
    const at = (offset: number): string => formatIpv4(ip('203.0.113.16') + offset)

    test.each<[string, string, string[], number]>([
      ['an empty /28 has 11 (five reserved)', BLOCK, [], 11],
      ['the reserved addresses (network, gateway, the two core switches, broadcast) do not count', BLOCK, [at(0), at(1), at(2), at(3), at(15)], 11],
      ['addresses outside the block do not count', BLOCK, [at(-1), at(16), '10.0.0.20', '203.0.114.20'], 11],
      ['each address in use counts', BLOCK, [at(4), at(5), at(14)], 8],
      ['an address listed twice counts once', BLOCK, [at(4), at(4), ` ${at(4)} `], 10],
      ['garbage is ignored', BLOCK, ['', 'abc', '::1', '203.0.113.300', `${at(4)}/28`, '203.0.113', 'null'], 11],
      ['a full /28 has none', BLOCK, Array.from({ length: 16 }, (_, offset) => at(offset)), 0],
      ['a /28 written with host bits is the same block', '203.0.113.25/28', [at(4)], 10],
      ['a /29 has 3', '203.0.113.16/29', [], 3],
      ['a /27 has 27, one in use leaves 26', '203.0.113.0/27', ['203.0.113.4'], 26],
      ['a /24 has 251', '203.0.113.0/24', [], 251],
      ['a /30 has none', '203.0.113.16/30', [], 0],
      ['a /31 has none', '203.0.113.16/31', [], 0],
      ['a /32 has none', '203.0.113.16/32', ['203.0.113.16'], 0]
    ])('%s', (_name, cidr, inUse, free) => {
      expect(freeAddresses(block(cidr), inUse)).toBe(free)
    })

    test('is the usable range less the distinct usable addresses in use, for any block and any list', () => {
      fc.assert(fc.property(address, fc.integer({ min: 20, max: 32 }), fc.array(fc.integer({ min: -4, max: 4100 }), { maxLength: 40 }), (value, length, offsets) => {
        const parsed = block(`${formatIpv4(value)}/${length}`)
        const size = 2 ** (32 - length)
        const usable = Math.max(0, size - 5)
        const inUse = offsets.map((offset) => formatIpv4((parsed.network + offset + 2 ** 32) % 2 ** 32))
        const used = new Set(offsets.filter((offset) => offset >= 4 && offset <= size - 2))
        expect(freeAddresses(parsed, inUse)).toBe(usable - used.size)
      }), { numRuns: 300 })
    })
  })
})

/**
 * OpenMetal's public catalog -> Cycle's locations and server models. Cycle decodes the
 * answer into Go structs, so integers must be integers whatever the catalog says.
 */
describe('src/mapping/catalog.ts', () => {
  /** The live catalog sends numeric strings where the spec says number; the mapping must cope. */
  const loose = (value: number | string): number => value as unknown as number

  function product (overrides: Partial<HardwareProduct> = {}): HardwareProduct {
    return {
      name: 'Baremetal - medium v4',
      add_on_code: 'baremetal_medium_v4',
      hourly_cost: 1.38,
      hourly_cost_ltu: null,
      '30_day_cost': 792,
      hourly_cost_mils: 1380,
      hourly_cost_ltu_mils: null,
      '30_day_cost_mils': 792_000,
      bandwidth: { id: 44, egress_allotment: 500, allotment_unit: 'Mbps' },
      type: 'server',
      ...overrides
    }
  }

  /** A medium_v4 as the live /v1/products returns it: RAM and drive sizes are strings. */
  function mediumV4 (overrides: Partial<HardwareType> = {}): HardwareType {
    return {
      locations: {},
      id: 17,
      name: 'medium_v4',
      model: 'SYS-121C-TN10R',
      display_name: null,
      variant_label: 'v4',
      network: { id: 57, speed: 10, count: 2 },
      storage: {
        nvme_ssd: { id: 170, name: 'nvme_ssd', model: 'Micron 7450', raw: '6400', type: 'nvme_ssd', drives: [{ id: 171, raw: '6400', count: 1 }] },
        boot: { id: 172, name: 'boot', model: null, raw: '960', type: null, drives: [{ id: 173, raw: '480', count: 2 }] }
      },
      processor: { id: 17, raw_cores: 24, compute_cores: 24, raw_threads: 48, type: '2 x Intel Xeon Silver 4510', name: 'Intel Xeon Silver 4510', speed: '2.4/4.1Ghz', cpuCount: 2 },
      ram: { id: 17, raw: '256', compute: '256', type: 'DDR5', speed: '4800MHz' },
      gpu: null,
      products: [product()],
      ...overrides
    }
  }

  function gpuV4 (): HardwareType {
    const base = mediumV4()
    return {
      ...base,
      id: 21,
      name: 'xl_v4_gpu',
      processor: { ...base.processor, raw_cores: 64, compute_cores: 64, raw_threads: 128, name: 'Intel Xeon Gold 6530', type: '2 x Intel Xeon Gold 6530' },
      ram: { ...base.ram, raw: '1024', compute: '1024' },
      gpu: { name: 'NVIDIA A100', count: '2', vram_gb: '40' },
      products: [product({ name: 'Baremetal - xl v4 gpu', add_on_code: 'baremetal_xl_v4_gpu', hourly_cost_mils: 6900, '30_day_cost_mils': 3_974_400 })]
    }
  }

  function only<T> (items: readonly T[]): T {
    expect(items).toHaveLength(1)
    const [item] = items
    if (item === undefined) throw new Error('expected exactly one item')
    return item
  }

  describe('locationsFromInventory', () => {
    const inventory: Locations = {
      locations: {
        pod_10: { label: 'US-Central', displayName: 'Dallas, TX', region: 'US', code: 'dfw1', latitude: 32.7767, longitude: -96.797, release_status: 'released' },
        pod_2: { label: 'EU-West', displayName: 'Amsterdam, NL', region: 'EU', code: 'ams2', latitude: 52.3676, longitude: 4.9041, release_status: 'released' },
        pod_1: { label: 'US-East', displayName: 'Ashburn, VA', region: 'US', code: 'iad3', latitude: 39.0438, longitude: -77.4874, release_status: 'released' },
        pod_7: { label: 'AP-Southeast', displayName: 'Singapore, SG', region: 'APAC', code: 'sin1', latitude: 1.3521, longitude: 103.8198, release_status: 'pre-release' }
      }
    }
    const byPod = (pod: string) => only(locationsFromInventory(pods(inventory)).filter((location) => location.provider?.location_id === pod))

    test('one location per pod, sorted by pod number (pod_2 before pod_10)', () => {
      expect(locationsFromInventory(pods(inventory)).map((location) => location.provider?.location_id)).toEqual(['pod_1', 'pod_2', 'pod_7', 'pod_10'])
      expect(podsOf(pods(inventory)).map((pod) => pod.id)).toEqual(['pod_1', 'pod_2', 'pod_7', 'pod_10'])
    })

    test('the bare map pod_N -> details (how the mapping brief describes the answer) reads the same as the spec\'s wrapped one', () => {
      const bare = inventory.locations as unknown as Locations
      expect(locationsFromInventory(pods(bare))).toEqual(locationsFromInventory(pods(inventory)))
      expect(podsOf(pods(bare))).toEqual(podsOf(pods(inventory)))
      // a top-level key that is not a pod's details is not a pod
      expect(podsOf(pods({ ...bare, timestamp: 1764600000, meta: { count: 4 } })).map((pod) => pod.id)).toEqual(['pod_1', 'pod_2', 'pod_7', 'pod_10'])
      expect(podsOf(pods({}))).toEqual([])
    })

    test('a US pod: pod key, code, coordinates, city and state from "Ashburn, VA"', () => {
      expect(byPod('pod_1')).toMatchObject({
        name: 'Ashburn, VA',
        abbreviation: 'IAD3',
        provider: { location_id: 'pod_1', code: 'iad3', availability_zones: [] },
        geographic: { latitude: 39.0438, longitude: -77.4874, city: 'Ashburn', state: 'VA', country: 'US', region: 'US' },
        compatible: true
      })
    })

    test('a non-US pod takes its country from "Amsterdam, NL", not from the region "EU"', () => {
      expect(byPod('pod_2').geographic).toEqual({ latitude: 52.3676, longitude: 4.9041, city: 'Amsterdam', state: '', country: 'NL', region: 'EU' })
    })

    test('a pre-release pod is listed but not compatible', () => {
      expect(byPod('pod_7').compatible).toBe(false)
      expect(byPod('pod_10').compatible).toBe(true)
    })

    test.each([
      ['no release status', {}, true],
      ['released', { release_status: 'released' }, true],
      ['pre-release', { release_status: 'pre-release' }, false],
      ['a release status this adapter does not know', { release_status: 'limited-availability' }, false],
      ['a null release status (read as not given)', { release_status: null }, true]
    ])('%s -> compatible %s', (_name, details, compatible) => {
      const location = only(locationsFromInventory(pods({ locations: { pod_3: details } })))
      expect(location.compatible).toBe(compatible)
      // an unknown state is shown as OpenMetal said it, and never offered
      expect(podsOf(pods({ locations: { pod_3: details } }))[0]?.released).toBe(compatible)
    })

    test('a pod without coordinates has no geographic block, and its name falls back to the label, then the key', () => {
      expect(only(locationsFromInventory(pods({ locations: { pod_4: { label: 'Lab', latitude: 1 } } })))).toMatchObject({ name: 'Lab', geographic: null, provider: { location_id: 'pod_4', code: 'pod_4' } })
      expect(only(locationsFromInventory(pods({ locations: { pod_4: {} } }))).name).toBe('pod_4')
    })

    test('no locations at all is an empty list', () => {
      expect(locationsFromInventory(pods({}))).toEqual([])
      expect(locationsFromInventory(pods({ locations: {} }))).toEqual([])
    })

    test('every location matches Cycle\'s Location schema', () => {
      for (const location of locationsFromInventory(pods(inventory))) expect(Value.Check(CycleLocation, location)).toBe(true)
    })
  })

  describe('geographyOf', () => {
    test.each([
      ['Ashburn, VA', 'US', { city: 'Ashburn', state: 'VA', country: 'US' }],
      ['Los Angeles, CA', 'US', { city: 'Los Angeles', state: 'CA', country: 'US' }],
      ['Amsterdam, NL', 'EU', { city: 'Amsterdam', state: '', country: 'NL' }],
      ['Singapore', 'APAC', { city: 'Singapore', state: '', country: 'APAC' }],
      [undefined, undefined, { city: '', state: '', country: '' }]
    ])('%j in region %j', (displayName, region, expected) => {
      expect(geographyOf(displayName, region)).toEqual(expected)
    })
  })

  describe('integerOf', () => {
    test.each<[unknown, number]>([
      [256, 256], ['256', 256], ['6400', 6400], [1.5, 2], ['3.84', 4], ['1e3', 1000], [' 512 ', 512],
      ['x', 0], ['', 0], [null, 0], [undefined, 0], [{}, 0], [-3, 0], [Number.NaN, 0], [Number.POSITIVE_INFINITY, 0]
    ])('integerOf(%j) = %i', (input, expected) => {
      expect(integerOf(input)).toBe(expected)
    })
  })

  describe('stockBySku', () => {
    const pod = (id: string, released = true): Pod => ({ id, released, releaseStatus: released ? 'released' : 'pre-release' })
    const availability = (counts: Record<string, { count?: number, max_size?: number }>, podId: string) => stockIn(readAnswer(AvailabilityAnswer, { timestamp: '2026-11-22T12:00:00Z', pod_location: podId, ...counts }, 'getAvailability'))

    test('lists released pods with stock, in the order given; skips count 0 and pre-release pods', () => {
      const stock = stockBySku([
        { pod: pod('pod_1'), inventory: availability({ medium_v4: { count: 12, max_size: 10 }, large_v4: { count: 0, max_size: 0 } }, 'pod_1') },
        { pod: pod('pod_2'), inventory: availability({ medium_v4: { count: 1, max_size: 1 }, xl_v4: { count: 3, max_size: 3 } }, 'pod_2') },
        { pod: pod('pod_7', false), inventory: availability({ medium_v4: { count: 40, max_size: 10 }, large_v4: { count: 9, max_size: 9 } }, 'pod_7') }
      ])
      expect(stock.get('medium_v4')).toEqual(['pod_1', 'pod_2'])
      expect(stock.get('xl_v4')).toEqual(['pod_2'])
      expect(stock.has('large_v4')).toBe(false)
      // the timestamp and pod_location strings of the availability answer are not SKUs
      expect(stock.has('timestamp')).toBe(false)
      expect(stock.has('pod_location')).toBe(false)
    })

    test('an entry without a count is not stock', () => {
      expect(stockBySku([{ pod: pod('pod_1'), inventory: availability({ medium_v4: { max_size: 3 } }, 'pod_1') }]).size).toBe(0)
    })
  })

  describe('serverModelsFromCatalog', () => {
    test('a realistic medium_v4: numeric strings become integers, prices are the mils', () => {
      const model = only(serverModelsFromCatalog({ medium_v4: mediumV4() }, new Map([['medium_v4', ['pod_1', 'pod_2']]])))
      expect(model).toMatchObject({
        name: 'Baremetal - medium v4',
        pricing: { hourly: 1380, monthly: 792_000 },
        specs: {
          cpu: { count: 2, cores: 12, threads: 2, type: 'Intel Xeon Silver 4510' },
          gpu: null,
          memory: { size_gb: 256, type: 'DDR5' },
          storage: [{ count: 1, size_gb: 6400, type: 'nvme_ssd' }, { count: 2, size_gb: 480, type: 'boot' }],
          network: [{ scope: 'public', type: 'ethernet', throughput: '10Gbps' }, { scope: 'public', type: 'ethernet', throughput: '10Gbps' }]
        },
        provider: { model_id: 'medium_v4', category: 'bare-metal', locations: ['pod_1', 'pod_2'] },
        compatible: true
      })
      expect(model.description).toContain('256 GB')
      expect(Value.Check(ProviderServerModel, model)).toBe(true)
    })

    test('a float mils value is rounded to an integer', () => {
      const model = only(serverModelsFromCatalog({ medium_v4: mediumV4({ products: [product({ hourly_cost_mils: 1380.6, '30_day_cost_mils': 792_000.4 })] }) }, new Map()))
      expect(model.pricing).toEqual({ hourly: 1381, monthly: 792_000 })
    })

    test('numeric strings where the spec promises numbers still become integers', () => {
      const base = mediumV4()
      const model = only(serverModelsFromCatalog({
        medium_v4: {
          ...base,
          processor: { ...base.processor, cpuCount: loose('2'), raw_cores: loose('24'), raw_threads: loose('48') },
          products: [product({ hourly_cost_mils: loose('1380'), '30_day_cost_mils': loose('792000') })]
        }
      }, new Map()))
      expect(model.pricing).toEqual({ hourly: 1380, monthly: 792_000 })
      expect(model.specs.cpu).toMatchObject({ count: 2, cores: 12, threads: 2 })
    })

    test('a SKU with no stock anywhere is still listed, with no locations', () => {
      const inventory = stockIn(readAnswer(AvailabilityAnswer, { pod_location: 'pod_1', medium_v4: { count: 0, max_size: 0 } }, 'getAvailability'))
      const stock = stockBySku([{ pod: { id: 'pod_1', released: true, releaseStatus: 'released' }, inventory }])
      expect(only(serverModelsFromCatalog({ medium_v4: mediumV4() }, stock)).provider.locations).toEqual([])
    })

    test('GPU hardware gets a GPU block with integer count and VRAM', () => {
      const model = only(serverModelsFromCatalog({ xl_v4_gpu: gpuV4() }, new Map()))
      expect(model.specs.gpu).toEqual({ count: 2, type: 'NVIDIA A100', vram_gb: 40, shared: false })
      expect(Value.Check(ProviderServerModel, model)).toBe(true)
    })

    test('a hardware type with no products is skipped; the others remain', () => {
      const models = serverModelsFromCatalog({ medium_v4: mediumV4(), retired_v1: mediumV4({ name: 'retired_v1', products: [] }) }, new Map())
      expect(models.map((model) => model.provider.model_id)).toEqual(['medium_v4'])
    })

    test('the bare-metal product is preferred over other products of the same hardware', () => {
      const model = only(serverModelsFromCatalog({
        medium_v4: mediumV4({ products: [product({ name: 'Private Cloud Core - medium v4', add_on_code: 'pcc_medium_v4', hourly_cost_mils: 9999 }), product()] })
      }, new Map()))
      expect(model).toMatchObject({ name: 'Baremetal - medium v4', pricing: { hourly: 1380 } })
    })

    test('models are sorted by SKU', () => {
      const models = serverModelsFromCatalog({ xl_v4_gpu: gpuV4(), medium_v4: mediumV4(), large_v4: mediumV4({ name: 'large_v4' }) }, new Map())
      expect(models.map((model) => model.provider.model_id)).toEqual(['large_v4', 'medium_v4', 'xl_v4_gpu'])
    })

    test('every integer field Cycle decodes is a JSON integer, whatever numbers or numeric strings the catalog holds', () => {
      const finite = fc.oneof(
        fc.integer({ min: -1000, max: 1_000_000_000 }),
        fc.double({ min: -1000, max: 1e12, noNaN: true }),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1.5, 2.5)
      )
      const numeric = fc.oneof(
        finite,
        finite.map(String),
        fc.double({ min: 0, max: 1e6, noNaN: true }).map((value) => value.toFixed(2)),
        fc.constantFrom('', 'x', '256GB', ' 512 ', '1e3', '0x10')
      )
      const gpu = fc.option(fc.record({ name: fc.constant('NVIDIA A100'), count: numeric, vram_gb: numeric }), { nil: null })
      fc.assert(fc.property(
        fc.record({ cpuCount: numeric, cores: numeric, threads: numeric, ram: numeric, driveCount: numeric, driveSize: numeric, hourly: numeric, monthly: numeric, nicSpeed: numeric }),
        fc.nat(4),
        gpu,
        (values, nics, gpuSpec) => {
          const base = mediumV4()
          const hardware: HardwareType = {
            ...base,
            network: { id: 57, speed: loose(values.nicSpeed), count: nics },
            processor: { ...base.processor, cpuCount: loose(values.cpuCount), raw_cores: loose(values.cores), raw_threads: loose(values.threads) },
            ram: { ...base.ram, raw: String(values.ram) },
            storage: { nvme_ssd: { id: 1, name: 'nvme_ssd', raw: String(values.driveSize), type: 'nvme_ssd', drives: [{ id: 2, raw: String(values.driveSize), count: loose(values.driveCount) }] } },
            gpu: gpuSpec,
            products: [product({ hourly_cost_mils: loose(values.hourly), '30_day_cost_mils': loose(values.monthly) })]
          }
          const model = only(serverModelsFromCatalog({ odd_v1: hardware }, new Map()))
          const { cpu, gpu: gpuBlock, memory, storage } = model.specs
          const integers = [
            model.pricing.hourly, model.pricing.monthly,
            cpu.count, cpu.cores, cpu.threads,
            gpuBlock?.count, gpuBlock?.vram_gb,
            memory.size_gb,
            ...(storage ?? []).flatMap((drive) => [drive.count, drive.size_gb])
          ].filter((value) => value !== undefined && value !== null)
          for (const value of integers) {
            expect(Number.isInteger(value)).toBe(true)
            // what Go's encoding/json sees: digits only, no sign, fraction or exponent
            expect(JSON.stringify(value)).toMatch(/^\d+$/)
          }
          expect(cpu.count).toBeGreaterThanOrEqual(1)
          if (gpuSpec !== null) expect(gpuBlock?.count).toBeGreaterThanOrEqual(1)
          expect(model.specs.network).toHaveLength(nics)
          expect(Value.Check(ProviderServerModel, JSON.parse(JSON.stringify(model)))).toBe(true)
        }
      ), { numRuns: 300 })
    })
  })
})

/** order -> cloud -> stats ==> what Cycle's provision-status poll sees. */
describe('src/mapping/provision-status.ts', () => {
  const UPDATED_AT = '2026-11-22T11:00:00.000Z'
  const NOW = Date.parse(UPDATED_AT) + 95 * 60_000 + 30_000

  type Deployed = NonNullable<GetOrder['fields']['clouds_deployed']>[number]

  function order (deployed: Deployed[] | undefined, overrides: Partial<GetOrder> = {}): GetOrder {
    return {
      id: 'ORD7Qx2',
      type: 'order',
      label: 'cycle:651586fca6078e98982dbd90:651586fca6078e98982dbd91',
      description: 'Cycle server node-1',
      created_at: '2026-11-22T10:30:00.000Z',
      updated_at: UPDATED_AT,
      is_active: true,
      created_by: 'user_1',
      fields: {
        items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { deployment_configuration: 'CFG1' } }],
        config_options: { public_key_ids: ['KEY1'] },
        organization_id: 'ORG1',
        ...(deployed === undefined ? {} : { clouds_deployed: deployed })
      },
      access: { role: 'owner' },
      ...overrides
    }
  }

  const cloud = (fields: NonNullable<Cloud['fields']> = {}): Cloud => ({ id: 'CLD9', label: 'cloud', fields: { provision_status: 'complete', pending_delete: false, pod_location: 'pod_1', ...fields } })
  /** stats as the client reads them (a node without a uuid is not a node: skipped) */
  const stats = (nodes: CloudStatsNode[], cloudState = 'ACTIVE'): CloudStatsAnswer => readAnswer(CloudStatsAnswer, { cloud_state: cloudState, nodes } satisfies CloudStats, 'getCloudStats')
  const NODE: CloudStatsNode = {
    uuid: '3f2b8c1e-7d4a-4e0b-9a61-0c5d2e8f4b17',
    state: 'ACTIVE',
    power_state: 'power on',
    ipaddress: '198.51.100.116',
    networks: [{ mac_address: '0C:C4:7A:AB:CD:EF' }, { mac_address: '0C:C4:7A:AB:CD:F0' }]
  }
  const complete = (nodes: CloudStatsNode[], cloudFields: NonNullable<Cloud['fields']> = {}) =>
    provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'complete' }]), cloud: cloud(cloudFields), stats: stats(nodes), now: NOW })

  describe('before OpenMetal deploys a cloud', () => {
    test.each([['no clouds_deployed field', undefined], ['an empty clouds_deployed list', []]])('%s: ordered, not provisioned', (_name, deployed) => {
      const status = provisionStatus({ order: order(deployed), now: NOW })
      expect(status).toEqual({
        provisioned: false,
        state: 'ordered',
        cloudId: undefined,
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { order_id: 'ORD7Qx2', state: 'ordered' }
      })
    })

    test('an inactive order without a cloud is gone: Cycle must stop polling', () => {
      expect(() => provisionStatus({ order: order([], { is_active: false }), now: NOW })).toThrow(ServerGone)
      expect(() => provisionStatus({ order: order(undefined, { is_active: false }), now: NOW })).toThrow(/ORD7Qx2/)
    })
  })

  describe('while OpenMetal deploys', () => {
    test.each(['pending', 'in_progress', 'awaiting_setup'])('%s: not provisioned, the state in extra', (state) => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: state }]), now: NOW })
      expect(status).toEqual({
        provisioned: false,
        state,
        cloudId: 'CLD9',
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { order_id: 'ORD7Qx2', cloud_id: 'CLD9', state }
      })
    })

    test.each(['pending', 'in_progress', 'awaiting_setup', 'complete'])('the prose spelling provisioning_status=%s is read too', (state) => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provisioning_status: state }]), now: NOW })
      expect(status.state).toBe(state === 'complete' ? 'awaiting_node' : state)
      expect(status.provisioned).toBe(false)
    })

    test('a cloud entry without any status counts as pending', () => {
      expect(provisionStatus({ order: order([{ id: 'CLD9' }]), now: NOW }).state).toBe('pending')
    })

    test('an unknown future status is not provisioned and is passed on', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'quantum_entangling' }]), now: NOW })
      expect(status).toMatchObject({ provisioned: false, state: 'quantum_entangling', extra: { state: 'quantum_entangling' } })
    })

    test('the cloud\'s own status wins over the order\'s copy', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'complete' }]), cloud: cloud({ provision_status: 'in_progress' }), stats: stats([NODE]), now: NOW })
      expect(status).toMatchObject({ provisioned: false, state: 'in_progress' })
    })
  })

  describe('manual_setup', () => {
    test('is not provisioned and says why and for how many whole minutes, counted from the order\'s update', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'manual_setup' }]), now: NOW })
      expect(status).toMatchObject({
        provisioned: false,
        state: 'manual_setup',
        cloudId: 'CLD9',
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { state: 'manual_setup', manual_setup_since: UPDATED_AT, manual_setup_minutes: 95 }
      })
      expect(status.extra.reason).toEqual(expect.stringMatching(/OpenMetal staff/))
    })

    test('reported by the cloud rather than the order, too', () => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'in_progress' }]), cloud: cloud({ provision_status: 'manual_setup' }), now: NOW })
      expect(status.state).toBe('manual_setup')
    })

    test('minutes are never negative (clock skew) and null when the timestamp is unreadable', () => {
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'manual_setup' }]), now: Date.parse(UPDATED_AT) - 60_000 }).extra.manual_setup_minutes).toBe(0)
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'manual_setup' }], { updated_at: 'yesterday-ish' }), now: NOW }).extra.manual_setup_minutes).toBeNull()
    })
  })

  describe('complete', () => {
    test('with a node that has uuid, IP and MAC: provisioned, with what CycleOS needs to boot', () => {
      expect(complete([NODE])).toEqual({
        provisioned: true,
        state: 'complete',
        cloudId: 'CLD9',
        auth: { uuid: NODE.uuid, initial_ips: ['198.51.100.116'], mac_addr: '0c:c4:7a:ab:cd:ef' },
        extra: { order_id: 'ORD7Qx2', cloud_id: 'CLD9', state: 'complete', node_uuid: NODE.uuid }
      })
    })

    test('the first usable node and the first non-empty MAC are used', () => {
      const status = complete([{ uuid: 'u0', ipaddress: '' }, { ...NODE, networks: [{}, { mac_address: '' }, { mac_address: 'AA:BB:CC:DD:EE:FF' }] }])
      expect(status.auth).toEqual({ uuid: NODE.uuid, initial_ips: ['198.51.100.116'], mac_addr: 'aa:bb:cc:dd:ee:ff' })
    })

    test.each([
      ['no stats at all', undefined],
      ['no nodes yet', stats([])],
      ['a node without a uuid', stats([{ ...NODE, uuid: undefined }])],
      ['a node without an IP address', stats([{ ...NODE, ipaddress: undefined }])],
      ['a node with an empty IP address', stats([{ ...NODE, ipaddress: '' }])],
      ['a node without networks', stats([{ ...NODE, networks: undefined }])],
      ['a node without a MAC', stats([{ ...NODE, networks: [{}] }])],
      ['a node with an empty MAC', stats([{ ...NODE, networks: [{ mac_address: '' }] }])]
    ])('%s: not provisioned yet (awaiting_node)', (_name, theStats) => {
      const status = provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'complete' }]), cloud: cloud(), stats: theStats, now: NOW })
      expect(status).toEqual({
        provisioned: false,
        state: 'awaiting_node',
        cloudId: 'CLD9',
        auth: { uuid: null, initial_ips: null, mac_addr: null },
        extra: { order_id: 'ORD7Qx2', cloud_id: 'CLD9', state: 'awaiting_node' }
      })
    })
  })

  describe('deleted clouds end the poll', () => {
    test.each([
      ['the cloud is pending_delete', cloud({ pending_delete: true }), stats([NODE])],
      ['stats say PENDING-DELETE', cloud(), stats([NODE], 'PENDING-DELETE')],
      ['stats say DELETED', cloud(), stats([NODE], 'DELETED')],
      ['stats say DELETED and no cloud was fetched', undefined, stats([], 'DELETED')]
    ])('%s: ServerGone, whatever the deploy status', (_name, theCloud, theStats) => {
      for (const state of ['pending', 'in_progress', 'manual_setup', 'complete']) {
        expect(() => provisionStatus({ order: order([{ id: 'CLD9', provision_status: state }]), cloud: theCloud, stats: theStats, now: NOW })).toThrow(ServerGone)
      }
    })

    test('ServerGone names the cloud', () => {
      expect(() => complete([NODE], { pending_delete: true })).toThrow(/CLD9/)
    })

    test('a cloud OpenMetal no longer knows (404) after it started deploying is gone; while pending it may not be visible yet', () => {
      for (const state of ['in_progress', 'awaiting_setup', 'manual_setup', 'complete']) {
        expect(() => provisionStatus({ order: order([{ id: 'CLD9', provision_status: state }]), cloud: null, now: NOW })).toThrow(/CLD9 no longer exists/)
      }
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'pending' }]), cloud: null, now: NOW })).toMatchObject({ provisioned: false, state: 'pending' })
      // not asked is not missing
      expect(provisionStatus({ order: order([{ id: 'CLD9', provision_status: 'in_progress' }]), now: NOW })).toMatchObject({ provisioned: false, state: 'in_progress' })
    })
  })

  describe('invariants over arbitrary answers', () => {
    const text = fc.oneof(fc.constantFrom('pending', 'in_progress', 'awaiting_setup', 'manual_setup', 'complete', ''), fc.string({ maxLength: 12 }))
    const node: fc.Arbitrary<CloudStatsNode> = fc.record({
      uuid: fc.option(fc.uuid(), { nil: undefined }),
      ipaddress: fc.option(fc.constantFrom('198.51.100.116', '203.0.113.5', ''), { nil: undefined }),
      networks: fc.option(fc.array(fc.record({ mac_address: fc.option(fc.constantFrom('0C:C4:7A:AB:CD:EF', 'aa:bb:cc:dd:ee:ff', ''), { nil: undefined }) }), { maxLength: 3 }), { nil: undefined })
    })

    test('provisioned exactly when complete with a full node; auth is all set or all null', () => {
      fc.assert(fc.property(text, fc.option(text, { nil: undefined }), fc.array(node, { maxLength: 3 }), (orderState, cloudState, nodes) => {
        const status = provisionStatus({
          order: order([{ id: 'CLD9', provision_status: orderState }]),
          cloud: cloudState === undefined ? undefined : { id: 'CLD9', fields: { provision_status: cloudState } },
          stats: stats(nodes),
          now: NOW
        })
        expect(status.cloudId).toBe('CLD9')
        expect(status.extra.state).toBe(status.state)
        if (status.provisioned) {
          expect(cloudState ?? orderState).toBe('complete')
          expect(status.auth.uuid).toEqual(expect.any(String))
          expect(status.auth.initial_ips).toHaveLength(1)
          expect(status.auth.initial_ips?.[0]).not.toBe('')
          expect(status.auth.mac_addr).toBe(status.auth.mac_addr?.toLowerCase())
          expect(status.auth.mac_addr).not.toBe('')
        } else {
          expect(status.auth).toEqual({ uuid: null, initial_ips: null, mac_addr: null })
        }
      }), { numRuns: 300 })
    })
  })
})

/** auth.config: a hub's own provisioning settings, base64 JSON, validated like any input. */
describe('src/mapping/hub-config.ts', () => {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64')
  const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@example.com'
  const ALLOWED = ['deployment_configuration', 'ssh_public_key', 'ssh_key_ids']

  function reasonOf (encoded: string): string {
    const result = decodeHubConfig(encoded)
    if (result.ok) throw new Error(`expected ${encoded} to be refused`)
    return result.reason
  }

  describe('decodeHubConfig', () => {
    test.each([['undefined', undefined], ['empty', ''], ['blank', '   ']])('%s is no settings', (_name, encoded) => {
      expect(decodeHubConfig(encoded)).toEqual({ ok: true, value: {} })
    })

    test.each([
      ['deployment_configuration', { deployment_configuration: 'cfg_Cycle-OS1' }],
      ['ssh_public_key', { ssh_public_key: SSH_KEY }],
      ['ssh_key_ids', { ssh_key_ids: ['KEY1', 'key_2', 'k-3'] }],
      ['every key together', { deployment_configuration: 'CFG1', ssh_public_key: 'ecdsa-sha2-nistp256 AAAAE2VjZHNh ops', ssh_key_ids: ['KEY1'] }],
      ['an empty object', {}]
    ])('accepts %s', (_name, value) => {
      expect(decodeHubConfig(encode(value))).toEqual({ ok: true, value })
    })

    test('accepts base64url and surrounding whitespace as well as plain base64', () => {
      const value = { deployment_configuration: 'cfg_1', ssh_key_ids: ['a_b'] }
      const json = JSON.stringify(value)
      expect(decodeHubConfig(Buffer.from(json).toString('base64url'))).toEqual({ ok: true, value })
      expect(decodeHubConfig(`  ${Buffer.from(json).toString('base64')}\n`)).toEqual({ ok: true, value })
    })

    test.each([
      ['characters outside base64', 'not base64!', /^is not base64$/],
      ['a JSON text sent without base64', '{"ssh_key_ids":["k1"]}', /^is not base64$/],
      ['padding in the middle', 'ab=cd', /^is not base64$/],
      ['base64 of text that is not JSON', Buffer.from('deployment_configuration=cfg1').toString('base64'), /^is not base64 of a JSON object$/],
      ['base64 of truncated JSON', Buffer.from('{"ssh_key_ids":["k1"').toString('base64'), /^is not base64 of a JSON object$/],
      ['more than 64 KiB', 'A'.repeat(70_000), /64 KiB/]
    ])('refuses %s', (_name, encoded, reason) => {
      expect(reasonOf(encoded)).toMatch(reason)
    })

    test.each([
      ['a JSON array', [1], ''],
      ['JSON null', null, ''],
      ['a JSON string', 'cfg1', ''],
      ['a number as deployment_configuration', { deployment_configuration: 5 }, '/deployment_configuration'],
      ['an empty deployment_configuration', { deployment_configuration: '' }, '/deployment_configuration'],
      ['a deployment_configuration with a slash', { deployment_configuration: '../cfg' }, '/deployment_configuration'],
      ['a deployment_configuration of 65 characters', { deployment_configuration: 'c'.repeat(65) }, '/deployment_configuration'],
      ['ssh_key_ids as a string', { ssh_key_ids: 'k1' }, '/ssh_key_ids'],
      ['an empty ssh_key_ids list', { ssh_key_ids: [] }, '/ssh_key_ids'],
      ['33 ssh_key_ids', { ssh_key_ids: Array.from({ length: 33 }, (_, i) => `k${i}`) }, '/ssh_key_ids'],
      ['an ssh key ID with a slash', { ssh_key_ids: ['ok', 'a/b'] }, '/ssh_key_ids/1'],
      ['an ssh key ID with a space', { ssh_key_ids: ['a b'] }, '/ssh_key_ids/0'],
      ['a number as ssh key ID', { ssh_key_ids: [7] }, '/ssh_key_ids/0'],
      ['an ssh_public_key that is not a key', { ssh_public_key: 'garbage but long enough to pass' }, '/ssh_public_key'],
      ['an ssh_public_key spanning two lines', { ssh_public_key: 'ssh-ed25519 AAAA\nssh-rsa BBBB' }, '/ssh_public_key'],
    ])('refuses %s, saying where and listing the allowed keys', (_name, value, where) => {
      const reason = reasonOf(encode(value))
      expect(reason).toMatch(/^does not match the expected settings/)
      if (where !== '') expect(reason).toContain(` at ${where}:`)
      for (const key of ALLOWED) expect(reason).toContain(key)
    })

    test('an unknown key is named as such in words an operator understands', () => {
      const reason = reasonOf(encode({ region: 'pod_1' }))
      expect(reason).not.toContain('schema is false')
      expect(reason).toMatch(/unknown|not allowed|unexpected|not supported/i)
    })

    test('a reason never echoes the rejected value (a mistyped secret must not reach logs)', () => {
      const secret = 'hunter2-super-secret-password'
      for (const value of [{ ssh_public_key: secret }, { deployment_configuration: `${secret}/x` }, { ssh_key_ids: [`${secret} `] }, { password: secret }]) {
        expect(reasonOf(encode(value))).not.toContain(secret)
      }
    })

    test('arbitrary input never throws; every refusal has a readable reason', () => {
      const value = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/), fc.integer(), fc.constant(null), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }))
      const settings = fc.dictionary(fc.constantFrom(...ALLOWED, 'region', 'ssh_keys'), value, { maxKeys: 3 })
      const inputs = [
        fc.string({ maxLength: 200 }),
        fullUnicodeString(100),
        settings.map((object) => Buffer.from(JSON.stringify(object)).toString('base64'))
      ]
      for (const input of inputs) {
        fc.assert(fc.property(input, (encoded) => {
          const result = decodeHubConfig(encoded)
          if (result.ok) {
            expect(Object.keys(result.value).every((key) => ALLOWED.includes(key))).toBe(true)
          } else {
            expect(result.reason).toMatch(/^(is|does) [ -~]+$/)
          }
        }), { numRuns: 200 })
      }
    })
  })
})

/** A Cycle provision -> the one OpenMetal order that buys it. */
describe('src/mapping/order.ts', () => {
  const TAG = 'cycle:651586fca6078e98982dbd90:651586fca6078e98982dbd91'
  const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@example.com'

  function plan (overrides: Partial<ProvisionPlan> = {}): ProvisionPlan {
    return {
      tag: TAG,
      hostname: 'node-ams-1',
      hubName: 'acme-prod',
      sku: 'medium_v4',
      pod: 'pod_1',
      deploymentConfiguration: 'CFGcycleos1',
      sshPublicKey: SSH_KEY,
      sshKeyIds: [],
      ...overrides
    }
  }

  describe('orderRequestFor', () => {
    test('one bare-metal server of the SKU in the pod, labelled with the Cycle tag, booting the deployment configuration', () => {
      expect(orderRequestFor(plan())).toEqual({
        label: TAG,
        description: 'Cycle server node-ams-1 (hub acme-prod)',
        fields: {
          items: [{ hardware_sku: 'medium_v4', location: 'pod_1', type: 'baremetal', quantity: 1, modifications: { deployment_configuration: 'CFGcycleos1' } }],
          config_options: { public_key: SSH_KEY }
        }
      })
    })

    test('saved key IDs are used when given, instead of the public key', () => {
      const request = orderRequestFor(plan({ sshKeyIds: ['KEY1', 'KEY2'] }))
      expect(request.fields.config_options).toEqual({ public_key_ids: ['KEY1', 'KEY2'] })
    })

    test('the key ID list in the request is a copy: later changes to the plan do not leak into it', () => {
      const ids = ['KEY1']
      const request = orderRequestFor(plan({ sshKeyIds: ids }))
      ids.push('KEY2')
      expect(request.fields.config_options?.public_key_ids).toEqual(['KEY1'])
    })

    test('without a hub name the description names only the server', () => {
      expect(orderRequestFor(plan({ hubName: undefined })).description).toBe('Cycle server node-ams-1')
    })

    test('very long hostnames and hub names are cut, not sent whole', () => {
      const request = orderRequestFor(plan({ hostname: 'h'.repeat(5000), hubName: 'n'.repeat(5000) }))
      expect(request.description?.length).toBeLessThanOrEqual('Cycle server  (hub )'.length + 300)
    })

    test('every plan yields a request that matches OpenMetal\'s OrderRequest schema', () => {
      const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)
      const arbitraryPlan: fc.Arbitrary<ProvisionPlan> = fc.record({
        tag: fc.string({ minLength: 1, maxLength: 120 }),
        hostname: fc.string({ maxLength: 300 }),
        hubName: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        sku: fc.stringMatching(/^[a-z0-9_]{1,32}$/),
        pod: fc.nat(9999).map((n) => `pod_${n}`),
        deploymentConfiguration: id,
        sshPublicKey: fc.option(fc.constant(SSH_KEY), { nil: undefined }),
        sshKeyIds: fc.array(id, { maxLength: 5 })
      })
      fc.assert(fc.property(arbitraryPlan, (input) => {
        // provision refuses a plan without any SSH key before it gets here
        fc.pre(input.sshPublicKey !== undefined || input.sshKeyIds.length > 0)
        const request = orderRequestFor(input)
        expect(Value.Check(OrderRequest, request)).toBe(true)
        expect(request.label).toBe(input.tag)
        expect(request.fields.items).toHaveLength(1)
        expect(request.fields.items[0]).toMatchObject({ quantity: 1, type: 'baremetal', hardware_sku: input.sku, location: input.pod, modifications: { deployment_configuration: input.deploymentConfiguration } })
        if (input.sshKeyIds.length > 0) {
          expect(request.fields.config_options).toEqual({ public_key_ids: input.sshKeyIds })
        } else {
          expect(request.fields.config_options).toEqual({ public_key: input.sshPublicKey })
        }
      }), { numRuns: 200 })
    })
  })
})
