/**
 * A loopback TCP relay in front of a PostgreSQL server that counts what clients send it: the
 * connections opened, and every frontend message of the wire protocol by its type byte. A
 * statement run is one Query ('Q', the simple protocol) or one Execute ('E', the extended
 * protocol pg uses for parameterised queries: Parse, Bind, Describe, Execute, Sync). It also
 * adds up the time the server had work outstanding (from a client's message to the server's
 * ReadyForQuery, 'Z'), which tells the database's share of a measured latency from the
 * client's. Bytes are passed on unchanged; the relay only reads a copy. The bench puts it
 * between the adapter and PGlite to count exactly what reached the coordinator's database.
 */
import { createServer, connect, type Socket } from 'node:net'

/** the untyped messages that may open a connection: SSLRequest, GSSENCRequest, CancelRequest */
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

export interface WireCounts {
  connections: number
  /** frontend messages of every kind (a startup message counts as one) */
  messages: number
  /** Query + Execute messages: statements the server was asked to run */
  statements: number
  /** messages by type byte ('startup' for the untyped first message, 'negotiation' for SSL/GSS/cancel requests) */
  byType: Record<string, number>
  /** time with a request outstanding at the server (relay to server and back included), summed over connections */
  serverMs: number
}

export interface WireCounter {
  readonly port: number
  counts (): WireCounts
  close (): Promise<void>
}

/** Splits a byte stream into typed messages (Byte1 type, Int32 length counting itself), calling `message` with each type. */
function framer (message: (type: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0)
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 5) {
      const length = 1 + pending.readInt32BE(1)
      if (pending.length < length) break
      message(String.fromCharCode(pending[0] ?? 0))
      pending = pending.subarray(length)
    }
  }
}

export async function startWireCounter (target: { host: string, port: number }): Promise<WireCounter> {
  const counts: WireCounts = { connections: 0, messages: 0, statements: 0, byType: {}, serverMs: 0 }
  const count = (type: string): void => {
    counts.messages++
    counts.byType[type] = (counts.byType[type] ?? 0) + 1
    if (type === 'Q' || type === 'E') counts.statements++
  }
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    counts.connections++
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.setNoDelay(true)
      socket.on('close', () => sockets.delete(socket))
      // either side going away ends the other
      socket.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())

    // requests awaiting the server's ReadyForQuery: each Sync and each simple Query gets one
    let outstanding = 0
    let since = 0
    const typed = framer((type) => {
      count(type)
      if (type === 'S' || type === 'Q') {
        if (outstanding === 0) since = performance.now()
        outstanding++
      }
    })
    const answered = framer((type) => {
      if (type !== 'Z' || outstanding === 0) return
      outstanding--
      if (outstanding === 0) counts.serverMs += performance.now() - since
    })
    // before the startup message, untyped messages; an SSL or GSS request is answered with one untyped byte
    let started = false
    let untypedAnswers = 0
    let opening: Buffer = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      if (started) {
        typed(chunk)
      } else {
        opening = opening.length === 0 ? chunk : Buffer.concat([opening, chunk])
        while (!started && opening.length >= 8 && opening.length >= opening.readInt32BE(0)) {
          const length = opening.readInt32BE(0)
          const code = opening.readInt32BE(4)
          const negotiation = code === SSL_REQUEST || code === GSSENC_REQUEST || code === CANCEL_REQUEST
          count(negotiation ? 'negotiation' : 'startup')
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) untypedAnswers++
          opening = opening.subarray(length)
          if (!negotiation) {
            started = true
            // the startup message is answered up to a ReadyForQuery too
            since = performance.now()
            outstanding++
            if (opening.length > 0) typed(opening)
          }
        }
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      let rest = chunk
      while (untypedAnswers > 0 && rest.length > 0) {
        untypedAnswers--
        rest = rest.subarray(1)
      }
      if (rest.length > 0) answered(rest)
      client.write(chunk)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    port,
    counts: () => ({ ...counts, byType: { ...counts.byType } }),
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
