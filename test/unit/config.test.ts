import { describe, expect, test } from 'vitest'
import { ConfigError, loadConfig, PRODUCTION_API_URL } from '../../src/config.ts'
import { decodeHubConfig } from '../../src/mapping/hub-config.ts'

describe('environment configuration', () => {
  test('defaults', () => {
    expect(loadConfig({})).toMatchObject({ port: 8080, host: '0.0.0.0', logLevel: 'info', openMetalApiUrl: PRODUCTION_API_URL, sshKeyIds: [], allowedHubIds: [], tls: undefined })
  })

  test('lists are split and trimmed', () => {
    expect(loadConfig({ OPENMETAL_SSH_KEY_IDS: ' a1, b2 ,,', IAL_ALLOWED_HUB_IDS: 'x' }).sshKeyIds).toEqual(['a1', 'b2'])
  })

  test.each([
    ['PORT', 'abc'], ['PORT', '70000'], ['LOG_LEVEL', 'loud'], ['OPENMETAL_API_URL', 'ftp://x'], ['OPENMETAL_API_URL', 'https://x/path'],
    ['OPENMETAL_API_URL', 'https://user:pw@x'], ['OPENMETAL_SSH_KEY_IDS', 'ok,bad/id'], ['OPENMETAL_SSH_PUBLIC_KEY', 'garbage'],
    ['OPENMETAL_TIMEOUT_MS', '5'], ['OPENMETAL_DEPLOYMENT_CONFIGURATION', '../x'], ['LOG_FORMAT', 'xml'], ['IAL_ALLOWED_HUB_IDS', 'a b'], ['TLS_CERT_FILE', '/tmp/cert.pem']
  ])('%s=%j fails at start naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name === 'TLS_CERT_FILE' ? 'TLS_KEY_FILE' : name}`))
  })
})

describe('per-hub settings (auth.config)', () => {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64')

  test('absent is empty', () => {
    expect(decodeHubConfig(undefined)).toEqual({ ok: true, value: {} })
    expect(decodeHubConfig('')).toEqual({ ok: true, value: {} })
  })

  test('every key', () => {
    const value = { deployment_configuration: 'cfg1', ssh_public_key: 'ssh-ed25519 AAAAC3Nza hub@x', ssh_key_ids: ['k1', 'k2'] }
    expect(decodeHubConfig(encode(value))).toEqual({ ok: true, value })
  })

  test.each([
    ['not base64', 'not base64!'],
    ['base64 of something that is not JSON', Buffer.from('hello').toString('base64')],
    ['an unknown key', encode({ region: 'x' })],
    ['a wrong type', encode({ ssh_key_ids: 'k1' })],
    ['a key ID with a slash', encode({ ssh_key_ids: ['a/b'] })],
    ['a JSON array', encode([1])]
  ])('refuses %s with a readable reason', (_name, encoded) => {
    const result = decodeHubConfig(encoded)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toMatch(/^(is|does) /)
  })
})
