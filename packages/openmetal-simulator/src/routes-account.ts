/** The account profile, deployment configurations and SSH public keys: the organisation's own settings. */
import { CreateImageConfigRequest, type ImageConfiguration } from './generated/openmetal.ts'
import { badRequest, notFound, ok, validator, type Route } from './http.ts'
import { resourceId, stableUuid } from './ids.ts'
import { CreatePublicKeyRequest, UpdateImageConfigRequest, type PublicKey } from './schemas.ts'
import { userOf, type ConfigurationFields, type SimConfiguration, type SimPublicKey, type SimulatorState } from './state.ts'
import { checkConfiguration, fingerprintOf } from './validation.ts'

const configurationCreate = validator(CreateImageConfigRequest)
const configurationUpdate = validator(UpdateImageConfigRequest)
const publicKeyCreate = validator(CreatePublicKeyRequest)

const FIELD_NAMES = ['image_source', 'image_ramdisk_kernel', 'image_ramdisk_ramdisk', 'kernel_args', 'image_os_hash_algo', 'image_os_hash_value', 'cloud_init'] as const

/** Only the fields the API knows are kept; anything else a client sent is not echoed back. */
function knownFields (fields: ConfigurationFields): ConfigurationFields {
  const kept: ConfigurationFields = {}
  for (const name of FIELD_NAMES) {
    if (fields[name] !== undefined) Object.assign(kept, { [name]: fields[name] })
  }
  return kept
}

function configurationView (configuration: SimConfiguration): ImageConfiguration {
  return {
    id: configuration.id,
    label: configuration.label,
    ...(configuration.description === undefined ? {} : { description: configuration.description }),
    fields: { ...configuration.fields, organization_id: configuration.orgId },
    created_at: new Date(configuration.createdAt).toISOString(),
    updated_at: new Date(configuration.updatedAt).toISOString()
  }
}

function publicKeyView (key: SimPublicKey): PublicKey {
  const at = new Date(key.createdAt).toISOString()
  return {
    id: key.id,
    type: 'public-keys',
    label: key.label,
    ...(key.description === undefined ? {} : { description: key.description }),
    fields: { fingerprint: key.fingerprint, key_data: key.keyData, organization_id: key.orgId },
    created_at: at,
    updated_at: at,
    created_by: userOf(key.orgId),
    created_by_name: 'Simulated User'
  }
}

export function accountRoutes (state: SimulatorState): Route[] {
  const configurationOf = (org: string, id: string | undefined): SimConfiguration => {
    const configuration = state.configuration(org, id ?? '')
    if (configuration === undefined) throw notFound(`Configuration ${id ?? ''}`)
    return configuration
  }
  const publicKeyOf = (org: string, id: string | undefined): SimPublicKey => {
    const key = state.publicKey(org, id ?? '')
    if (key === undefined) throw notFound(`Public key ${id ?? ''}`)
    return key
  }
  return [
    {
      method: 'GET',
      path: '/v1/accounts/profile',
      // the caller's account: its primary organisation's UUID is the same for every credential of the organisation
      handle: ({ org }) => ok({
        account_id: 4,
        account_uuid: stableUuid(org),
        account_access: [{ account_id: org, uuid: stableUuid(org), is_imcloud: false, type: 'organization', display_name: `Organisation ${org}`, role: 'owner' }],
        username: 'Simulated User',
        is_disabled: false,
        currency: 'USD',
        locale: 'en-US'
      })
    },
    { method: 'GET', path: '/v1/configurations', handle: ({ org }) => ok(state.listOf(state.configurations, org).map(configurationView)) },
    {
      method: 'POST',
      path: '/v1/configurations',
      handle: ({ org, body }) => {
        const request = configurationCreate(body)
        const fields = request.fields ?? {}
        checkConfiguration(fields)
        const now = state.now()
        const configuration: SimConfiguration = { id: resourceId(), orgId: org, label: request.label, description: request.description, fields: knownFields(fields), createdAt: now, updatedAt: now }
        state.configurations.set(configuration.id, configuration)
        return ok(configurationView(configuration))
      }
    },
    { method: 'GET', path: '/v1/configurations/:configurationId', handle: ({ org, params }) => ok(configurationView(configurationOf(org, params.configurationId))) },
    {
      method: 'PATCH',
      path: '/v1/configurations/:configurationId',
      handle: ({ org, params, body }) => {
        const configuration = configurationOf(org, params.configurationId)
        const change = configurationUpdate(body)
        if (change.id !== configuration.id) throw badRequest('id must match the configuration in the path')
        // the real API merges, then validates the result as a whole
        const fields = { ...configuration.fields, ...change.fields }
        checkConfiguration(fields)
        configuration.fields = knownFields(fields)
        if (change.label !== undefined) configuration.label = change.label
        if (change.description !== undefined) configuration.description = change.description
        configuration.updatedAt = state.now()
        return ok(configurationView(configuration))
      }
    },
    {
      method: 'DELETE',
      path: '/v1/configurations/:configurationId',
      handle: ({ org, params }) => {
        state.configurations.delete(configurationOf(org, params.configurationId).id)
        return { status: 204 }
      }
    },
    { method: 'GET', path: '/v1/public-keys', handle: ({ org }) => ok(state.listOf(state.publicKeys, org).map(publicKeyView)) },
    {
      method: 'POST',
      path: '/v1/public-keys',
      handle: ({ org, body }) => {
        const request = publicKeyCreate(body)
        const keyData = request.fields.key_data.trim()
        const key: SimPublicKey = { id: resourceId(), orgId: org, label: request.label, description: request.description, keyData, fingerprint: fingerprintOf(keyData), createdAt: state.now() }
        state.publicKeys.set(key.id, key)
        return ok(publicKeyView(key))
      }
    },
    { method: 'GET', path: '/v1/public-keys/:publicKeyId', handle: ({ org, params }) => ok({ ...publicKeyView(publicKeyOf(org, params.publicKeyId)), access: { role: 'owner' } }) },
    {
      method: 'DELETE',
      path: '/v1/public-keys/:publicKeyId',
      handle: ({ org, params }) => {
        state.publicKeys.delete(publicKeyOf(org, params.publicKeyId).id)
        return { status: 204 }
      }
    }
  ]
}
