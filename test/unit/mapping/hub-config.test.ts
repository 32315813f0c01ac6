/** Unit tests of src/mapping/hub-config.ts. */
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { decodeHubConfig, provisioningSettings } from '../../../src/mapping/hub-config.ts'
import { fullUnicodeString } from '../../helpers/arbitraries.ts'
import { HUB_SSH_PUBLIC_KEY } from '../../helpers/fixtures.ts'

const operator = { deploymentConfiguration: 'opCfg', deploymentConfigurationSetting: 'OPENMETAL_DEPLOYMENT_CONFIGURATION', sshPublicKey: 'ssh-ed25519 AAAA op', sshKeyIds: ['opKey'] }

/** auth.config: a hub's own provisioning settings, base64 JSON, validated like any input. */
describe('src/mapping/hub-config.ts', () => {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64')
  const SSH_KEY = HUB_SSH_PUBLIC_KEY
  const ALLOWED = ['deployment_configuration', 'ssh_public_key', 'ssh_key_ids']

  function reasonOf (encoded: string): string {
    const result = decodeHubConfig(encoded)
    if (result.ok) throw new Error(`expected ${encoded} to be refused`)
    return result.reason
  }

  describe('decodeHubConfig', () => {
    test.each([['undefined', undefined], ['empty', ''], ['blank', '   ']])('%s is no settings', (_name, encoded) => {
      expect(decodeHubConfig(encoded)).toEqual({ ok: true, value: {} })
    })

    test.each([
      ['deployment_configuration', { deployment_configuration: 'cfg_Cycle-OS1' }],
      ['ssh_public_key', { ssh_public_key: SSH_KEY }],
      ['ssh_key_ids', { ssh_key_ids: ['KEY1', 'key_2', 'k-3'] }],
      ['every key together', { deployment_configuration: 'CFG1', ssh_public_key: 'ecdsa-sha2-nistp256 AAAAE2VjZHNh ops', ssh_key_ids: ['KEY1'] }],
      ['an empty object', {}]
    ])('accepts %s', (_name, value) => {
      expect(decodeHubConfig(encode(value))).toEqual({ ok: true, value })
    })

    test('accepts base64url and surrounding whitespace as well as plain base64', () => {
      const value = { deployment_configuration: 'cfg_1', ssh_key_ids: ['a_b'] }
      const json = JSON.stringify(value)
      expect(decodeHubConfig(Buffer.from(json).toString('base64url'))).toEqual({ ok: true, value })
      expect(decodeHubConfig(`  ${Buffer.from(json).toString('base64')}\n`)).toEqual({ ok: true, value })
    })

    test.each([
      ['characters outside base64', 'not base64!', /^is not base64$/],
      ['a JSON text sent without base64', '{"ssh_key_ids":["k1"]}', /^is not base64$/],
      ['padding in the middle', 'ab=cd', /^is not base64$/],
      ['base64 of text that is not JSON', Buffer.from('deployment_configuration=cfg1').toString('base64'), /^is not base64 of a JSON object$/],
      ['base64 of truncated JSON', Buffer.from('{"ssh_key_ids":["k1"').toString('base64'), /^is not base64 of a JSON object$/],
      ['more than 64 KiB', 'A'.repeat(70_000), /64 KiB/]
    ])('refuses %s', (_name, encoded, reason) => {
      expect(reasonOf(encoded)).toMatch(reason)
    })

    test.each([
      ['a JSON array', [1], ''],
      ['JSON null', null, ''],
      ['a JSON string', 'cfg1', ''],
      ['a number as deployment_configuration', { deployment_configuration: 5 }, '/deployment_configuration'],
      ['an empty deployment_configuration', { deployment_configuration: '' }, '/deployment_configuration'],
      ['a deployment_configuration with a slash', { deployment_configuration: '../cfg' }, '/deployment_configuration'],
      ['a deployment_configuration of 65 characters', { deployment_configuration: 'c'.repeat(65) }, '/deployment_configuration'],
      ['ssh_key_ids as a string', { ssh_key_ids: 'k1' }, '/ssh_key_ids'],
      ['an empty ssh_key_ids list', { ssh_key_ids: [] }, '/ssh_key_ids'],
      ['33 ssh_key_ids', { ssh_key_ids: Array.from({ length: 33 }, (_, i) => `k${i}`) }, '/ssh_key_ids'],
      ['an ssh key ID with a slash', { ssh_key_ids: ['ok', 'a/b'] }, '/ssh_key_ids/1'],
      ['an ssh key ID with a space', { ssh_key_ids: ['a b'] }, '/ssh_key_ids/0'],
      ['a number as ssh key ID', { ssh_key_ids: [7] }, '/ssh_key_ids/0'],
      ['an ssh_public_key that is not a key', { ssh_public_key: 'garbage but long enough to pass' }, '/ssh_public_key'],
      ['an ssh_public_key spanning two lines', { ssh_public_key: 'ssh-ed25519 AAAA\nssh-rsa BBBB' }, '/ssh_public_key'],
    ])('refuses %s, saying where and listing the allowed keys', (_name, value, where) => {
      const reason = reasonOf(encode(value))
      expect(reason).toMatch(/^does not match the expected settings/)
      if (where !== '') expect(reason).toContain(` at ${where}:`)
      for (const key of ALLOWED) expect(reason).toContain(key)
    })

    test('an unknown key is named as such in words an operator understands', () => {
      const reason = reasonOf(encode({ region: 'pod_1' }))
      expect(reason).not.toContain('schema is false')
      expect(reason).toMatch(/unknown|not allowed|unexpected|not supported/i)
    })

    test('a reason never echoes the rejected value (a mistyped secret must not reach logs)', () => {
      const secret = 'hunter2-super-secret-password'
      for (const value of [{ ssh_public_key: secret }, { deployment_configuration: `${secret}/x` }, { ssh_key_ids: [`${secret} `] }, { password: secret }]) {
        expect(reasonOf(encode(value))).not.toContain(secret)
      }
    })

    test('arbitrary input never throws; every refusal has a readable reason', () => {
      const value = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/), fc.integer(), fc.constant(null), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }))
      const settings = fc.dictionary(fc.constantFrom(...ALLOWED, 'region', 'ssh_keys'), value, { maxKeys: 3 })
      const inputs = [
        fc.string({ maxLength: 200 }),
        fullUnicodeString(100),
        settings.map((object) => Buffer.from(JSON.stringify(object)).toString('base64'))
      ]
      for (const input of inputs) {
        fc.assert(fc.property(input, (encoded) => {
          const result = decodeHubConfig(encoded)
          if (result.ok) {
            expect(Object.keys(result.value).every((key) => ALLOWED.includes(key))).toBe(true)
          } else {
            expect(result.reason).toMatch(/^(is|does) [ -~]+$/)
          }
        }), { numRuns: 200 })
      }
    })
  })
})

describe('provisioningSettings', () => {
  test.each([
    ['the operator\'s settings when the hub has none', {}, operator, { deploymentConfiguration: 'opCfg', deploymentConfigurationSetting: 'OPENMETAL_DEPLOYMENT_CONFIGURATION', sshPublicKey: 'ssh-ed25519 AAAA op', sshKeyIds: ['opKey'] }],
    ['the hub\'s configuration over the operator\'s', { deployment_configuration: 'hubCfg' }, operator, { deploymentConfiguration: 'hubCfg', deploymentConfigurationSetting: 'auth.config.deployment_configuration', sshPublicKey: 'ssh-ed25519 AAAA op', sshKeyIds: ['opKey'] }],
    ['a hub key replaces the operator\'s keys of both kinds', { ssh_public_key: 'ssh-ed25519 AAAA hub' }, operator, { deploymentConfiguration: 'opCfg', deploymentConfigurationSetting: 'OPENMETAL_DEPLOYMENT_CONFIGURATION', sshPublicKey: 'ssh-ed25519 AAAA hub', sshKeyIds: [] }],
    ['hub key IDs replace the operator\'s keys of both kinds', { ssh_key_ids: ['hubKey'] }, operator, { deploymentConfiguration: 'opCfg', deploymentConfigurationSetting: 'OPENMETAL_DEPLOYMENT_CONFIGURATION', sshPublicKey: undefined, sshKeyIds: ['hubKey'] }]
  ])('%s', (_name, hub, defaults, expected) => {
    expect(provisioningSettings(hub, defaults)).toEqual(expected)
  })

  test.each([
    ['no deployment configuration anywhere', { ...operator, deploymentConfiguration: undefined }, /OPENMETAL_DEPLOYMENT_CONFIGURATION/],
    ['no SSH key anywhere', { ...operator, sshPublicKey: undefined, sshKeyIds: [] }, /OPENMETAL_SSH_PUBLIC_KEY/]
  ])('%s says what to set', (_name, defaults, message) => {
    expect(provisioningSettings({}, defaults)).toEqual({ missing: expect.stringMatching(message) })
  })
})
