import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, test } from 'vitest'
import { REDACTED, loggerOptions, scrubSecrets } from '../../../src/observability/logger.ts'

function capture (): { stream: Writable, lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { chunks.push(String(chunk)); done() } })
  return { stream, lines: () => chunks.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) }
}

describe('log scrubbing', () => {
  test('credentials are replaced wherever they sit, other fields are kept, the logged object is not changed', () => {
    const logged = {
      auth: { client_id: 'client', secret: 's3cret', api_key: 'k3y', config: 'eyJ9', cycle: { hub_id: 'hub' } },
      headers: { Authorization: 'Bearer t0ken', accept: 'application/json' },
      calls: [{ operation: 'exchangeToken', access_token: 'at0ken' }],
      route: '/v1/auth/verify'
    }
    const before = structuredClone(logged)
    expect(scrubSecrets(logged)).toEqual({
      auth: { client_id: 'client', secret: REDACTED, api_key: REDACTED, config: REDACTED, cycle: { hub_id: 'hub' } },
      headers: { Authorization: REDACTED, accept: 'application/json' },
      calls: [{ operation: 'exchangeToken', access_token: REDACTED }],
      route: '/v1/auth/verify'
    })
    expect(logged).toEqual(before)
  })

  test('`config` is a credential only inside `auth`; an object without secrets is returned as is', () => {
    const plain = { config: { version: '1' }, status: 200 }
    expect(scrubSecrets(plain)).toBe(plain)
  })

  test('the logger the app builds writes no secret, in a request child too', () => {
    const { stream, lines } = capture()
    const logger = pino(loggerOptions({ logLevel: 'info', logPretty: false }, stream) as pino.LoggerOptions, stream)
    logger.child({ reqId: 'r-1' }).info({ auth: { secret: 'never-this', api_key: 'nor-this' }, authorization: 'Basic c2VjcmV0' }, 'request')
    const [line] = lines()
    expect(JSON.stringify(line)).not.toMatch(/never-this|nor-this|c2VjcmV0/)
    expect(line).toMatchObject({ reqId: 'r-1', msg: 'request', auth: { secret: REDACTED, api_key: REDACTED }, authorization: REDACTED })
  })

  test('errors are scrubbed too, wherever they are logged: their properties, their causes, logged alone or under a key', () => {
    const { stream, lines } = capture()
    const logger = pino(loggerOptions({ logLevel: 'info', logPretty: false }, stream) as pino.LoggerOptions, stream)
    const cause = Object.assign(new Error('upstream refused'), { headers: { authorization: 'Bearer cause-token' } })
    const error = Object.assign(new Error('call failed', { cause }), { auth: { secret: 'error-secret', client_id: 'kept' } })
    logger.error({ err: error }, 'under a key')
    logger.error(error)
    logger.info({ nested: { failure: error } }, 'deeper')
    const written = lines()
    expect(written).toHaveLength(3)
    expect(JSON.stringify(written)).not.toMatch(/error-secret|cause-token/)
    expect(written[0]).toMatchObject({ err: { message: expect.stringContaining('call failed'), type: 'Error', stack: expect.stringContaining('caused by'), auth: { secret: REDACTED, client_id: 'kept' } } })
    expect(written[1]).toMatchObject({ err: { auth: { secret: REDACTED } } })
  })
})
