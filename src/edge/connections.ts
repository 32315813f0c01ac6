/**
 * Caps on open connections, so one greedy client cannot hold every connection a replica
 * has: MAX_CONNECTIONS in all (Node closes a connection over it as soon as it is accepted)
 * and MAX_CONNECTIONS_PER_ADDRESS per client address (closed the same way). A proxy that
 * TRUST_PROXY names carries many clients' connections from one address, so only the total
 * applies to it.
 */
import type { Server, Socket } from 'node:net'
import { normalizeIP } from '@fastify/rate-limit'

export interface ConnectionCaps {
  readonly total: number
  readonly perAddress: number
  /** whether a peer is a proxy TRUST_PROXY names */
  readonly isProxy: (address: string) => boolean
}

export function capConnections (server: Server, caps: ConnectionCaps): void {
  server.maxConnections = caps.total
  const open = new Map<string, number>()
  // the raw TCP connection, before any TLS handshake or request
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress
    if (peer === undefined || caps.isProxy(peer)) return
    // the same grouping as the rate limits: an IPv6 client is its /64, a mapped IPv4 its IPv4
    const address = normalizeIP(peer)
    const count = (open.get(address) ?? 0) + 1
    if (count > caps.perAddress) {
      socket.destroy()
      return
    }
    open.set(address, count)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left === 0) open.delete(address)
      else open.set(address, left)
    })
  })
}
