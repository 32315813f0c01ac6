/**
 * One line when the server starts listening, so an operator sees at a glance what this
 * replica serves and against what: its address, the OpenMetal origin, TLS, which Cycle hubs
 * may call, and the deployment configuration new servers are ordered with. Without one, the
 * line is a warning: provisioning then works only for hubs that name one in auth.config.
 * Nothing in it is a secret (the OpenMetal origin carries no credentials: config.ts).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.ts'

export function logStartup (log: FastifyBaseLogger, config: Config, address: string): void {
  const summary = {
    address,
    openMetal: config.openMetalApiUrl,
    tls: config.tls === undefined ? 'off' : 'on',
    hubs: config.allowedHubIds.length === 0 ? 'any hub' : `${config.allowedHubIds.length} allowed`,
    deploymentConfiguration: config.deploymentConfiguration ?? null
  }
  if (config.deploymentConfiguration === undefined) {
    log.warn(summary, 'serving; OPENMETAL_DEPLOYMENT_CONFIGURATION is not set: provisioning fails for every hub whose auth.config names no deployment_configuration')
  } else {
    log.info(summary, 'serving')
  }
}
