/**
 * The deployment configuration a server is ordered with must exist at OpenMetal before
 * anything is bought: a wrong ID would otherwise surface only as OpenMetal refusing the
 * order. The answer names the setting the ID came from, so the right person fixes it.
 */
import type { OpenMetalClient } from '../openmetal/client.ts'
import { Errors } from '../errors.ts'
import type { IalCall } from './context.ts'

/** Where a deployment configuration ID was set: the hub's config or the operator's environment. */
export type ConfigurationSetting = 'auth.config.deployment_configuration' | 'OPENMETAL_DEPLOYMENT_CONFIGURATION'

export async function requireConfiguration (client: OpenMetalClient, call: IalCall, configurationId: string, setting: ConfigurationSetting): Promise<void> {
  if (await client.hasConfiguration(configurationId, call)) return
  throw Errors.invalidArgument({
    detail: `OpenMetal has no deployment configuration "${configurationId}" (set in ${setting}) for these credentials; nothing was bought`,
    ...(setting === 'auth.config.deployment_configuration' ? { source: '/auth/config' } : {})
  })
}
