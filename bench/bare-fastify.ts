/**
 * The benchmark's baselines, each in its own process like the adapter: a Fastify route
 * answering BENCH_JSON on port BENCH_PORT.
 *   bare     the bare route (the target's yardstick)
 *   wrapper  the same route doing what every IAL request needs before any adapter code
 *            runs: read and parse the JSON wrapper a GET carries, and a pino logger with a
 *            child per request (for the breakdown in BENCHMARKS.md)
 * Prints "up" once it listens.
 */
import Fastify from 'fastify'

const mode = process.argv[2] === 'wrapper' ? 'wrapper' : 'bare'
const json = process.env.BENCH_JSON ?? '{}'
const app = Fastify(mode === 'wrapper' ? { logger: { level: 'warn' } } : {})
if (mode === 'wrapper') app.addHttpMethod('GET', { hasBody: true, overrideExisting: true })
app.get('/', { exposeHeadRoute: false }, async (_request, reply) => reply.type('application/json').send(json))
await app.listen({ port: Number(process.env.BENCH_PORT), host: '127.0.0.1' })
console.log('up')
