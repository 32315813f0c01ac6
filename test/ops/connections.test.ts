/**
 * Connection caps an attacker cannot turn against Cycle, over real sockets from several
 * loopback addresses (Linux routes all of 127/8 to lo): idle connections held up to the caps
 * make room for Cycle's, a connection answering a request is never the one closed, and a
 * connection that sends nothing is dropped after SILENT_CONNECTION_TIMEOUT_MS.
 */
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect as connectTcp, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import { describe, expect, test } from 'vitest'
import { listBody, verifyBody } from '@cycle-ial-openmetal/ial-check/cycle-requests'
import { tenantA, withEnv, type Harness } from '../helpers/harness.ts'
import { routesOtherLoopbacks } from './support.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

const otherLoopbacks = await routesOtherLoopbacks()

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

/** One client connection, as an attacker or Cycle holds it. */
interface Client {
  readonly socket: Socket
  /** every answer's status so far */
  statuses (): number[]
  /** whether the server has closed it */
  closed (): boolean
  /** resolves when it closes, with the ms from its opening */
  readonly closing: Promise<number>
  /** write `raw` and wait for the next answer's status (undefined: closed instead) */
  send (raw: string): Promise<number | undefined>
}

async function open (port: number, localAddress: string, secure = false): Promise<Client> {
  const tcp = connectTcp({ port, host: '127.0.0.1', localAddress })
  const socket = secure ? connectTls({ socket: tcp, rejectUnauthorized: false }) : tcp
  tcp.on('error', () => undefined)
  socket.on('error', () => undefined)
  let text = ''
  let closed = false
  const opened = performance.now()
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  // not events.once: it would reject on the socket's 'error'
  const closing = new Promise<number>((resolve) => socket.once('close', () => {
    closed = true
    resolve(performance.now() - opened)
  }))
  const statuses = (): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]))
  // a connection the server closes at once fails its handshake: that is an answer too
  await Promise.race([once(socket, secure ? 'secureConnect' : 'connect').catch(() => undefined), closing])
  return {
    socket,
    statuses,
    closed: () => closed,
    closing,
    async send (raw) {
      const before = statuses().length
      const answered = new Promise<void>((resolve) => {
        const check = (): void => {
          // the whole answer: the headers and the body its Content-Length names
          const at = text.lastIndexOf('HTTP/1.1 ')
          const end = text.indexOf('\r\n\r\n', at)
          const length = Number(/content-length: (\d+)/i.exec(text.slice(at, end))?.[1] ?? 0)
          if (statuses().length > before && end !== -1 && Buffer.byteLength(text.slice(end + 4), 'latin1') >= length) {
            socket.off('data', check)
            resolve()
          }
        }
        socket.on('data', check)
      })
      if (!closed) socket.write(raw)
      await Promise.race([answered, closing])
      return statuses().length > before ? statuses().at(-1) : undefined
    }
  }
}

const HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: adapter\r\n\r\n'

/** A keep-alive connection the server has answered once, then left idle. */
async function idleConnection (port: number, localAddress: string, secure = false): Promise<Client> {
  const client = await open(port, localAddress, secure)
  const status = await client.send(HEALTHZ)
  if (status !== 200) throw new Error(`a connection from ${localAddress} was refused`)
  return client
}

/** Cycle's locations call, as it writes it: a GET with the wrapper as its body. */
function locationsCall (): string {
  const body = JSON.stringify(listBody(tenantA()))
  return `GET /v1/infrastructure/provider/locations HTTP/1.1\r\nHost: adapter\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/** A connection with a request the adapter is working on (OpenMetal is slow to answer it). */
async function working (port: number, localAddress: string, secure = false): Promise<{ client: Client, answer: Promise<number | undefined> }> {
  const client = await open(port, localAddress, secure)
  return { client, answer: client.send(locationsCall()) }
}

/** A connection whose request body trickles in: it has sent the headers of a verify call and half its body. */
async function slowBody (port: number, localAddress: string): Promise<Client> {
  const client = await open(port, localAddress)
  const body = JSON.stringify(verifyBody(tenantA()))
  client.socket.write(`POST /v1/auth/verify HTTP/1.1\r\nHost: adapter\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`)
  return client
}

/** A connection that asks for large answers (the docs page's script, 1.7 MB, ten times over) and does not read them. */
async function slowReader (port: number, localAddress: string): Promise<Socket> {
  const socket = connectTcp({ port, host: '127.0.0.1', localAddress })
  socket.on('error', () => undefined)
  await once(socket, 'connect')
  // no 'data' listener: once its buffer is full the socket stops reading, and the window closes;
  // more than loopback's buffers take, so the answers are still being delivered
  socket.write('GET /docs/static/swagger-ui-bundle.js HTTP/1.1\r\nHost: adapter\r\n\r\n'.repeat(10))
  return socket
}

/** Whether a new connection from `localAddress` is closed by the server without an answer. */
async function refused (port: number, localAddress: string, secure = false): Promise<boolean> {
  const client = await open(port, localAddress, secure)
  const status = await Promise.race([client.send(HEALTHZ), sleep(2000).then(() => 'still open' as const)])
  client.socket.destroy()
  return status === undefined
}

async function serverConnections (h: Harness): Promise<number> {
  return await new Promise((resolve) => h.app.server.getConnections((_error, count) => resolve(count)))
}

/** A metric's value in the adapter's own Prometheus text (what /metrics serves), 0 when absent. */
async function metric (h: Harness, series: string): Promise<number> {
  const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

function portOf (h: Harness): number {
  return (h.app.server.address() as { port: number }).port
}

const ATTACKERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']

describe.skipIf(!otherLoopbacks)('connection caps an attacker cannot turn against Cycle (needs 127.0.0.2-7, as Linux routes them)', () => {
  test('attackers from four addresses hold idle keep-alive connections up to both caps: Cycle\'s calls, on new connections, are still answered, and the total holds', async () => {
    await withEnv({ MAX_CONNECTIONS: '40', MAX_CONNECTIONS_PER_ADDRESS: '10' }, async (h) => {
      const port = portOf(h)
      const attackers: Client[] = []
      try {
        for (const address of ATTACKERS) for (let i = 0; i < 10; i++) attackers.push(await idleConnection(port, address))
        expect(await serverConnections(h)).toBe(40)
        expect(await metric(h, 'ial_connections_open')).toBe(40)
        // an attacker cannot open more from an address at its cap
        expect(await refused(port, ATTACKERS[0] ?? '')).toBe(true)
        expect(await metric(h, 'ial_connections_closed_total{reason="per-address"}')).toBe(1)

        // Cycle: five calls at once (five new connections), then more on the same connections
        const calls = await Promise.all([
          ...Array.from({ length: 3 }, async () => await h.call('POST', '/v1/auth/verify', verifyBody(tenantA()))),
          ...Array.from({ length: 2 }, async () => await h.call('GET', '/v1/infrastructure/provider/locations', listBody(tenantA())))
        ])
        expect(calls.map((call) => call.status)).toEqual([200, 200, 200, 200, 200])
        for (let i = 0; i < 3; i++) expect((await h.call('POST', '/v1/auth/verify', verifyBody(tenantA()))).status).toBe(200)

        // the room was made from the attackers' idle connections, never over the total
        expect(await serverConnections(h)).toBeLessThanOrEqual(40)
        const reclaimed = attackers.filter((client) => client.closed()).length
        expect(reclaimed).toBeGreaterThanOrEqual(1)
        expect(reclaimed).toBeLessThanOrEqual(5)
        // each counted once, by why it was closed
        expect(await metric(h, 'ial_connections_closed_total{reason="reclaimed"}')).toBe(reclaimed)
        expect(await metric(h, 'ial_connections_closed_total{reason="total"}')).toBe(0)
        // the attackers' other connections are still served
        const survivor = attackers.find((client) => !client.closed())
        expect(await survivor?.send(HEALTHZ)).toBe(200)
      } finally {
        for (const client of attackers) client.socket.destroy()
      }
    })
  })

  test('attackers opening more at the total cap recycle their own idle connections: Cycle\'s idle keep-alive connection stays open and serves its next call', async () => {
    await withEnv({ MAX_CONNECTIONS: '40', MAX_CONNECTIONS_PER_ADDRESS: '20' }, async (h) => {
      const port = portOf(h)
      const attackers: Client[] = []
      // Cycle's connection is the longest idle of all
      const cycle = await idleConnection(port, '127.0.0.1')
      try {
        for (const address of ATTACKERS) for (let i = 0; i < 10; i++) attackers.push(await idleConnection(port, address))
        // idle a while (a connection idle for less than a second is spared when it can be)
        await sleep(1100)
        // 20 more, below the per-address cap: each takes the place of one of its own
        for (const address of ATTACKERS) for (let i = 0; i < 5; i++) attackers.push(await idleConnection(port, address))
        expect(await serverConnections(h)).toBe(40)
        await expect.poll(() => attackers.filter((client) => client.closed()).length).toBe(21)
        expect(cycle.closed()).toBe(false)
        expect(await cycle.send(`POST /v1/auth/verify HTTP/1.1\r\nHost: adapter\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(JSON.stringify(verifyBody(tenantA())))}\r\n\r\n${JSON.stringify(verifyBody(tenantA()))}`)).toBe(200)
        // a new connection of Cycle's displaces an attacker's, not another of Cycle's
        const second = await idleConnection(port, '127.0.0.1')
        expect(cycle.closed()).toBe(false)
        second.socket.destroy()
      } finally {
        cycle.socket.destroy()
        for (const client of attackers) client.socket.destroy()
      }
    })
  })

  const inFlight = async (secure: boolean, env: Record<string, string> = {}): Promise<void> => {
    await withEnv({ MAX_CONNECTIONS: '6', MAX_CONNECTIONS_PER_ADDRESS: '6', CATALOG_TTL_MS: '0', OPENMETAL_TIMEOUT_MS: '5000', ...env }, async (h) => {
      const port = portOf(h)
      h.sim.faults.add({ method: 'GET', path: '/v2/inventory/locations', delayMs: 1500, times: 20 })
      const clients: Client[] = []
      try {
        // the oldest five have requests the adapter is working on; the youngest is idle
        const requests = []
        for (let i = 0; i < 5; i++) requests.push(await working(port, '127.0.0.2', secure))
        const idle = await idleConnection(port, '127.0.0.3', secure)
        clients.push(idle, ...requests.map((request) => request.client))
        // a newcomer takes the idle one's place
        const newcomer = await working(port, '127.0.0.4', secure)
        clients.push(newcomer.client)
        await expect.poll(() => clients.some((client) => client.closed())).toBe(true)
        expect(idle.closed()).toBe(true)
        for (const request of requests) expect(request.client.closed()).toBe(false)
        // every connection has a request the adapter is working on: the next newcomer is the one closed
        expect(await refused(port, '127.0.0.5', secure)).toBe(true)
        expect(await metric(h, 'ial_connections_closed_total{reason="total"}')).toBe(1)
        expect(await metric(h, 'ial_connections_closed_total{reason="reclaimed"}')).toBe(1)
        // and the requests in flight all along are answered
        for (const request of [...requests, newcomer]) expect(await request.answer).toBe(200)
      } finally {
        for (const client of clients) client.socket.destroy()
      }
    })
  }

  test('a connection whose request the adapter is working on is never the one closed: at the total cap a newcomer replaces an idle connection, and is closed itself only when none is idle', async () => {
    await inFlight(false)
  })

  test.skipIf(!hasOpenssl)('the same over native TLS, where requests arrive on the TLS socket, not the TCP connection the caps count (needs openssl)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ial-tls-'))
    try {
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
      expect(made.status).toBe(0)
      await inFlight(true, { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.each([
    ['sending a request body slowly', async (port: number, address: string) => (await slowBody(port, address)).socket],
    ['not reading a large answer', slowReader]
  ])('attackers holding connections by %s, from four addresses up to both caps, do not lock Cycle out either', async (_name, hold) => {
    await withEnv({ MAX_CONNECTIONS: '40', MAX_CONNECTIONS_PER_ADDRESS: '10' }, async (h) => {
      const port = portOf(h)
      const held: Socket[] = []
      try {
        for (const address of ATTACKERS) for (let i = 0; i < 10; i++) held.push(await hold(port, address))
        await expect.poll(async () => await serverConnections(h)).toBe(40)
        const calls = await Promise.all(Array.from({ length: 4 }, async () => await h.call('POST', '/v1/auth/verify', verifyBody(tenantA()))))
        expect(calls.map((call) => call.status)).toEqual([200, 200, 200, 200])
        expect(await serverConnections(h)).toBeLessThanOrEqual(40)
        // the oldest of them made the room (a reader that does not read learns it once it does)
        for (const socket of held.slice(0, 4)) socket.resume()
        await expect.poll(() => held.slice(0, 4).every((socket) => socket.destroyed)).toBe(true)
        expect(held.slice(4).some((socket) => socket.destroyed)).toBe(false)
      } finally {
        for (const socket of held) socket.destroy()
      }
    })
  })

  test('a connection that sends nothing is closed after SILENT_CONNECTION_TIMEOUT_MS (2 s by default), not held until HEADERS_TIMEOUT_MS (10 s); one that has started a request is not', async () => {
    await withEnv({}, async (h) => {
      const port = portOf(h)
      const silent = await open(port, '127.0.0.2')
      const started = await open(port, '127.0.0.3')
      try {
        started.socket.write('GET /heal')
        const closedAfterMs = await Promise.race([silent.closing, sleep(4000).then(() => undefined)])
        expect(closedAfterMs).toBeGreaterThanOrEqual(1900)
        expect(closedAfterMs).toBeLessThan(3000)
        // closed without a word: it asked nothing
        expect(silent.statuses()).toEqual([])
        expect(await metric(h, 'ial_connections_closed_total{reason="silent"}')).toBe(1)
        expect(started.closed()).toBe(false)
        expect(await started.send('thz HTTP/1.1\r\nHost: adapter\r\n\r\n')).toBe(200)
      } finally {
        silent.socket.destroy()
        started.socket.destroy()
      }
    })
  })

  test('behind a proxy TRUST_PROXY names: its silent connections (opened ahead of use) are left to HEADERS_TIMEOUT_MS, a direct client\'s are not; its idle ones count towards no per-address cap', async () => {
    await withEnv({ TRUST_PROXY: '127.0.0.1', SILENT_CONNECTION_TIMEOUT_MS: '500', HEADERS_TIMEOUT_MS: '2000', MAX_CONNECTIONS: '8', MAX_CONNECTIONS_PER_ADDRESS: '2' }, async (h) => {
      const port = portOf(h)
      const proxy = await open(port, '127.0.0.1')
      const direct = await open(port, '127.0.0.2')
      const pool: Client[] = []
      try {
        const directClosedAfterMs = await direct.closing
        expect(directClosedAfterMs).toBeGreaterThanOrEqual(450)
        expect(directClosedAfterMs).toBeLessThan(1500)
        expect(proxy.closed()).toBe(false)
        // the proxy's pool is over the per-address cap, within the total
        for (let i = 0; i < 5; i++) pool.push(await idleConnection(port, '127.0.0.1'))
        // HEADERS_TIMEOUT_MS closes the proxy's silent connection, in Cycle's envelope
        const proxyClosedAfterMs = await proxy.closing
        expect(proxyClosedAfterMs).toBeGreaterThanOrEqual(1900)
        expect(proxy.statuses()).toEqual([408])
      } finally {
        proxy.socket.destroy()
        direct.socket.destroy()
        for (const client of pool) client.socket.destroy()
      }
    })
  })
})
