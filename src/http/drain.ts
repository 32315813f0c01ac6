/**
 * Draining on close: a draining replica tells every client to reconnect elsewhere
 * (Connection: close), so keep-alive connections do not hold the close open after their
 * request in flight has been answered; connections that never carried a request (a load
 * balancer's pre-opened ones) are closed right away.
 */
import type { Socket } from 'node:net'
import fp from 'fastify-plugin'

export const drain = fp<{ tls: boolean }>(async (app, { tls }) => {
  let closing = false
  const unused = new Set<Socket>()
  app.server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    unused.add(socket)
    socket.once('close', () => unused.delete(socket))
  })
  app.server.on('request', (request: { socket: Socket }) => { unused.delete(request.socket) })
  app.addHook('preClose', async () => {
    closing = true
    // a request already on its way gets a moment to arrive (and its answer); silence does not
    setTimeout(() => { for (const socket of unused) socket.destroy() }, 100).unref()
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'drain', fastify: '5.x' })
