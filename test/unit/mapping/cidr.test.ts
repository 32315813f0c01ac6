/** Unit tests of src/mapping/cidr.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { contains, formatIpv4, freeAddresses, ipv4Assignment, parseCidr, parseIpv4 } from '../../../src/mapping/cidr.ts'
import type { Ipv4Block } from '../../../src/mapping/cidr.ts'

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
