import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { contains, formatIpv4, ipv4Assignment, parseCidr, parseIpv4 } from '../../src/mapping/cidr.ts'

describe('IPv4 arithmetic', () => {
  test('formats and parses every address', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (value) => {
      expect(parseIpv4(formatIpv4(value))).toBe(value)
    }))
  })

  test.each(['1.2.3.4/33', '256.0.0.1/28', '1.2.3/28', 'a.b.c.d/28', '', '1.2.3.4', '1.2.3.4/28/1', '1.2.3.4/-1'])('refuses %j', (cidr) => {
    expect(parseCidr(cidr)).toBeUndefined()
  })

  test('normalises host bits away', () => {
    expect(parseCidr('198.51.100.115/28')).toEqual({ network: parseIpv4('198.51.100.112'), prefixLength: 28 })
  })

  test('an address of an OpenMetal routed /28: gateway is network + 1', () => {
    const block = parseCidr('198.51.100.112/28')
    expect(block).toBeDefined()
    expect(ipv4Assignment(block!, parseIpv4('198.51.100.115')!)).toEqual({
      cidr: '198.51.100.115/28', gateway: '198.51.100.113', netmask: '255.255.255.240', network: '198.51.100.112/28'
    })
  })

  test('/24 and /32', () => {
    expect(ipv4Assignment(parseCidr('10.0.0.0/24')!, parseIpv4('10.0.0.9')!)).toMatchObject({ netmask: '255.255.255.0', network: '10.0.0.0/24', gateway: '10.0.0.1' })
    expect(ipv4Assignment(parseCidr('10.0.0.9/32')!, parseIpv4('10.0.0.9')!)).toMatchObject({ netmask: '255.255.255.255', network: '10.0.0.9/32' })
  })

  test('refuses an address outside its block', () => {
    expect(() => ipv4Assignment(parseCidr('198.51.100.112/28')!, parseIpv4('198.51.100.128')!)).toThrow()
  })

  test('the gateway is inside the block for every prefix length up to /30', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 30 }), (address, length) => {
      const block = parseCidr(`${formatIpv4(address)}/${length}`)!
      expect(contains(block, address)).toBe(true)
      const assignment = ipv4Assignment(block, address)
      expect(contains(block, parseIpv4(assignment.gateway)!)).toBe(true)
      expect(parseIpv4(assignment.gateway)).toBe(block.network + 1)
    }))
  })
})
