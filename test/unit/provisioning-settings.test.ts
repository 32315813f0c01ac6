import { expect, test } from 'vitest'
import { provisioningSettings } from '../../src/mapping/hub-config.ts'

const operator = { deploymentConfiguration: 'opCfg', deploymentConfigurationSetting: 'OPENMETAL_DEPLOYMENT_CONFIGURATION', sshPublicKey: 'ssh-ed25519 AAAA op', sshKeyIds: ['opKey'] }

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
