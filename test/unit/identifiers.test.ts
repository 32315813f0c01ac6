import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec, serverIdCodec } from '../../src/mapping/identifiers.ts'

const resourceId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)
const pod = fc.integer({ min: 0, max: 9999 }).map((n) => `pod_${n}`)
const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/)

describe('server_id', () => {
  test('round-trips every order, pod and optional cloud', () => {
    fc.assert(fc.property(resourceId, pod, fc.option(resourceId, { nil: undefined }), (orderId, podId, cloudId) => {
      const ref = cloudId === undefined ? { orderId, pod: podId } : { orderId, pod: podId, cloudId }
      expect(serverIdCodec.decode(serverIdCodec.encode(ref))).toEqual(ref)
    }))
  })

  test('is URL-safe and versioned', () => {
    fc.assert(fc.property(resourceId, pod, (orderId, podId) => {
      const token = serverIdCodec.encode({ orderId, pod: podId })
      expect(token.startsWith('om1.')).toBe(true)
      expect(encodeURIComponent(token)).toBe(token)
    }))
  })

  test('arbitrary strings never throw and are refused unless well-formed', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
      const ref = serverIdCodec.decode(text)
      if (ref !== undefined) expect(serverIdCodec.encode(ref)).toBe(text)
    }))
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (text) => {
      expect(() => serverIdCodec.decode(text)).not.toThrow()
    }))
  })

  test.each([
    'om1..pod_1', 'om1.abc', 'om2.abc.pod_1', 'om1.abc.pod_x', 'om1.abc.pod_1.x.y', 'om1.a/b.pod_1', 'om1.abc.pod_1./..',
    'om1.%2F.pod_1', 'om1.abc?.pod_1', 'om1.abc#.pod_1', 'om1.a b.pod_1', `om1.${'a'.repeat(65)}.pod_1`, 'omip1.abc.1', '', 'OM1.abc.pod_1'
  ])('refuses %j', (token) => {
    expect(serverIdCodec.decode(token)).toBeUndefined()
  })

  test('refuses to encode what it could not decode', () => {
    expect(() => serverIdCodec.encode({ orderId: '../x', pod: 'pod_1' })).toThrow()
    expect(() => serverIdCodec.encode({ orderId: 'abc', pod: 'pod_1', cloudId: 'a.b' })).toThrow()
  })
})

describe('ip_id and ip_assignment_id', () => {
  test('round-trip prefix and IP IDs', () => {
    fc.assert(fc.property(resourceId, fc.integer({ min: 0, max: 999_999_999_999 }), (prefixId, ipId) => {
      expect(ipIdCodec.decode(ipIdCodec.encode({ prefixId, ipId }))).toEqual({ prefixId, ipId })
      expect(ipAssignmentIdCodec.decode(ipAssignmentIdCodec.encode({ prefixId, ipId }))).toEqual({ prefixId, ipId })
    }))
  })

  test('one kind of token is not accepted as another', () => {
    const ip = ipIdCodec.encode({ prefixId: 'pfx', ipId: 7 })
    expect(ipAssignmentIdCodec.decode(ip)).toBeUndefined()
    expect(serverIdCodec.decode(ip)).toBeUndefined()
    expect(ipIdCodec.decode(serverIdCodec.encode({ orderId: 'o', pod: 'pod_1' }))).toBeUndefined()
  })

  test.each(['omip1.pfx.-1', 'omip1.pfx.1.5', 'omip1.pfx.x', 'omip1..1', 'omip1.a/b.1', 'omip1.pfx.1e3'])('refuses %j', (token) => {
    expect(ipIdCodec.decode(token)).toBeUndefined()
  })
})

describe('the Cycle tag on orders and IPs', () => {
  test('names the hub and the Cycle server, for servers and for IPs', () => {
    fc.assert(fc.property(hex24, hex24, fc.option(hex24, { nil: null }), fc.stringMatching(/^[0-9a-f]{12}$/), (hub, server, pool, nonce) => {
      expect(cycleTag.parse(cycleTag.forServer(hub, server))).toEqual({ hubId: hub, serverId: server })
      expect(cycleTag.parse(cycleTag.forIp(hub, server, pool, nonce))).toEqual({ hubId: hub, serverId: server })
    }))
  })

  test('labels that are not ours parse to nothing', () => {
    for (const label of [undefined, '', 'Baremetal Medium V4', 'cycle:', 'cycle::x', 'cycle:hub']) expect(cycleTag.parse(label)).toBeUndefined()
  })
})
