/**
 * Caps on open connections that a greedy client cannot turn against Cycle.
 *
 * - MAX_CONNECTIONS_PER_ADDRESS per client address (an IPv6 client is its /64): a connection
 *   over it is closed as soon as it is accepted.
 * - MAX_CONNECTIONS in all: a connection over it takes the place of one that waits on its
 *   client: an idle one (no request in flight, or not yet a whole request's headers), longest
 *   idle first; else one whose request body is still arriving or whose answer its client is not
 *   reading. Connections held open from many addresses, however slowly, cannot lock Cycle
 *   out; the newcomer is closed only when every connection has a request the adapter is
 *   working on.
 * - SILENT_CONNECTION_TIMEOUT_MS: a connection that sends nothing at all is closed after it,
 *   long before HEADERS_TIMEOUT_MS would.
 *
 * A proxy TRUST_PROXY names carries many clients' connections from one address and may open
 * them ahead of use, so neither the per-address cap nor the silence applies to it.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'

export interface ConnectionCaps {
  readonly total: number
  readonly perAddress: number
  /** how long a new connection may send nothing before it is closed */
  readonly silentMs: number
  /** whether a peer is a proxy TRUST_PROXY names */
  readonly isProxy: (address: string) => boolean
  /** told of every connection the caps close (for metrics) */
  readonly observer?: ConnectionObserver
}

/**
 * Why the caps closed a connection: a newcomer over its address's cap ('per-address') or over
 * the total with no connection to make room ('total'); one closed to make room for a newcomer
 * ('reclaimed'); one that sent nothing in time ('silent').
 */
export type ConnectionClosure = 'per-address' | 'total' | 'reclaimed' | 'silent'

export interface ConnectionObserver {
  closed (reason: ConnectionClosure): void
}

/** What the caps hold now: every open connection, all addresses together. */
export interface ConnectionCount {
  readonly open: number
}

/**
 * The address a cap counts a peer under: an IPv6 peer is its /64 (a host usually has a whole
 * /64 to pick addresses from), a mapped IPv4 its IPv4. The same text as @fastify/rate-limit's
 * normalizeIP gives the rate limits (a test holds them together), at a sixth of its cost:
 * a flood of connections pays it on every one.
 */
export function addressGroup (peer: string): string {
  if (!peer.includes(':')) return peer
  const zone = peer.indexOf('%')
  const hextets = hextetsOf((zone === -1 ? peer : peer.slice(0, zone)).toLowerCase())
  // not what a socket reports: counted as it is
  if (hextets === undefined) return peer
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0] = hextets
  if ((a | b | c | d | e) === 0 && f === 0xffff) return `${g >> 8}.${g & 0xff}.${h >> 8}.${h & 0xff}`
  const prefix = [a, b, c, d]
  // the zeros that end the /64 join the interface half's in one "::"
  while (prefix.at(-1) === 0) prefix.pop()
  return `${prefix.map((hextet) => hextet.toString(16)).join(':')}::`
}

/** The eight 16-bit groups of a textual IPv6 address, or undefined when it is not one. */
function hextetsOf (text: string): number[] | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (half: string): number[] | undefined => {
    if (half === '') return []
    const out: number[] = []
    for (const piece of half.split(':')) {
      if (/^[0-9a-f]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16))
        continue
      }
      // an embedded IPv4 (::ffff:192.0.2.1) fills the last two groups
      const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(piece)?.slice(1).map(Number)
      if (quad === undefined || quad.some((octet) => octet > 255)) return undefined
      const [w = 0, x = 0, y = 0, z = 0] = quad
      out.push((w << 8) | x, (y << 8) | z)
    }
    return out
  }
  const head = groups(halves[0] ?? '')
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  return [...head, ...new Array<number>(missing).fill(0), ...tail]
}

interface Address {
  readonly key: string
  open: number
  /** its connections without a request in flight, longest idle first (a Set keeps insertion order) */
  readonly idle: Set<Connection>
}

interface Connection {
  readonly socket: Socket
  readonly address: Address
  /** the answers to requests received and not yet answered, in order (more than one when pipelined) */
  readonly answers: ServerResponse[]
  /** the latest request */
  latest: IncomingMessage | undefined
  /** performance.now() when its last answer was sent, or when it was accepted */
  idleSince: number
  closed: boolean
}

/**
 * How long an idle connection is spared while another waits on its client: a client sends its
 * request within a round trip of connecting, and a burst of newcomers must not close each other.
 */
const IDLE_GRACE_MS = 1000

/**
 * Whether a connection with a request in flight waits on its client: for the rest of the body,
 * or to read an answer already started (Cycle's answers are written whole, at once, so only a
 * client that does not read stays there).
 */
function waitsOnClient (connection: Connection): boolean {
  return connection.latest?.complete === false || connection.answers[0]?.headersSent === true
}

function first<T> (set: Set<T>): T | undefined {
  return set.values().next().value
}

export function capConnections (server: HttpServer, caps: ConnectionCaps): ConnectionCount {
  const addresses = new Map<string, Address>()
  // every address's idle connections together, longest idle first
  const idle = new Set<Connection>()
  // the others, oldest request first
  const working = new Set<Connection>()
  let open = 0
  const bySocket = new WeakMap<Socket, Connection>()
  // with native TLS, requests arrive on a TLS socket: it is matched to its TCP connection by peer
  const tls = server instanceof TlsServer
  const handshaking = new Map<string, Connection>()
  const peerKey = (socket: Socket): string => `${socket.remoteAddress ?? ''} ${socket.remotePort ?? ''}`

  const rest = (connection: Connection): void => {
    working.delete(connection)
    connection.latest = undefined
    connection.idleSince = performance.now()
    idle.add(connection)
    connection.address.idle.add(connection)
  }
  const busy = (connection: Connection): void => {
    idle.delete(connection)
    connection.address.idle.delete(connection)
    working.add(connection)
  }
  // counted out at once, not on 'close': connections accepted in the same tick see the room
  const forget = (connection: Connection): void => {
    if (connection.closed) return
    connection.closed = true
    idle.delete(connection)
    connection.address.idle.delete(connection)
    working.delete(connection)
    connection.latest = undefined
    open--
    if (--connection.address.open === 0) addresses.delete(connection.address.key)
  }

  /**
   * Whose connection a newcomer from `address` replaces: the longest-idle one of its own
   * address when that address holds at least as many connections as the owner of the
   * longest-idle one overall, else that one (an attacker opening more recycles its own
   * connections, not Cycle's; Cycle's newcomer displaces the greediest). When neither has been
   * idle for IDLE_GRACE_MS: the oldest that waits on its client (the only case that walks the
   * list, and only at the cap), else that idle one after all.
   */
  const reclaimable = (address: Address): Connection | undefined => {
    const oldest = first(idle)
    if (oldest === undefined) return waiting()
    const own = first(address.idle)
    const greedier = own !== undefined && address.open >= oldest.address.open ? own : oldest
    const settled = performance.now() - IDLE_GRACE_MS
    if (greedier.idleSince <= settled) return greedier
    if (oldest.idleSince <= settled) return oldest
    return waiting() ?? greedier
  }
  const waiting = (): Connection | undefined => {
    for (const connection of working) if (waitsOnClient(connection)) return connection
    return undefined
  }

  // the raw TCP connection, before any TLS handshake or request
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress
    if (peer === undefined) return // already closed
    const proxy = caps.isProxy(peer)
    // a proxy's connections are counted apart from the clients that share its /64
    const key = proxy ? `proxy ${peer}` : addressGroup(peer)
    let address = addresses.get(key)
    if (address === undefined) {
      address = { key, open: 0, idle: new Set() }
      addresses.set(key, address)
    }
    const connection: Connection = { socket, address, answers: [], latest: undefined, idleSince: 0, closed: false }
    address.open++
    open++
    const drop = (reason: ConnectionClosure): void => {
      forget(connection)
      socket.destroy()
      caps.observer?.closed(reason)
    }
    if (!proxy && address.open > caps.perAddress) return drop('per-address')
    if (open > caps.total) {
      const victim = reclaimable(address)
      if (victim === undefined) return drop('total')
      forget(victim)
      victim.socket.destroy()
      caps.observer?.closed('reclaimed')
    }
    rest(connection)
    bySocket.set(socket, connection)
    const handshake = tls ? peerKey(socket) : undefined
    if (handshake !== undefined) handshaking.set(handshake, connection)
    // bytesRead counts what reached the socket, though the HTTP parser reads it natively
    const silence = proxy ? undefined : setTimeout(() => { if (socket.bytesRead === 0 && !connection.closed) drop('silent') }, caps.silentMs).unref()
    socket.once('close', () => {
      clearTimeout(silence)
      if (handshake !== undefined && handshaking.get(handshake) === connection) handshaking.delete(handshake)
      forget(connection)
    })
  })

  if (tls) {
    server.on('secureConnection', (socket: Socket) => {
      const handshake = peerKey(socket)
      const connection = handshaking.get(handshake)
      if (connection === undefined) return
      handshaking.delete(handshake)
      bySocket.set(socket, connection)
    })
  }

  // before the application's listener, so that an answer given at once is still seen to end
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    const connection = bySocket.get(request.socket)
    if (connection === undefined || connection.closed) return
    connection.answers.push(response)
    connection.latest = request
    busy(connection)
    response.once('close', () => {
      const answers = connection.answers
      const at = answers.indexOf(response)
      if (at !== -1) answers.splice(at, 1)
      if (answers.length === 0 && !connection.closed) rest(connection)
    })
  })
  return { get open () { return open } }
}
