/** Unit tests of src/mapping/identifiers.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { cycleTag, ipAssignmentIdCodec, ipIdCodec, serverIdCodec } from '../../../src/mapping/identifiers.ts'
import type { IpRef, ServerRef } from '../../../src/mapping/identifiers.ts'
import { fullUnicodeString } from '../../helpers/arbitraries.ts'

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

    test('owns: the one ownership check; a label is owned by its hub (and server), never by a missing hub', () => {
      const hub = '651586fca6078e98982dbd90'
      const server = '651586fca6078e98982dbd91'
      const labels = [cycleTag.forServer(hub, server), cycleTag.forIp(hub, server, null, 'ab12'), cycleTag.forBlock(hub, server, 1)]
      for (const label of labels) {
        expect(cycleTag.owns(label, hub, server)).toBe(true)
        expect(cycleTag.owns(label, hub)).toBe(true)
        expect(cycleTag.owns(label, hub, `${server.slice(0, -1)}2`)).toBe(false)
        expect(cycleTag.owns(label, `${hub.slice(0, -1)}1`, server)).toBe(false)
        expect(cycleTag.owns(label, undefined, server)).toBe(false)
        expect(cycleTag.owns(label, '', server)).toBe(false)
      }
      expect(cycleTag.owns(undefined, hub)).toBe(false)
      expect(cycleTag.owns(`${hub}:${server}`, hub)).toBe(false)
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
