/**
 * One line when the server starts listening, so an operator sees at a glance what this
 * replica serves and against what: its address, the OpenMetal origin, TLS, which Cycle hubs
 * may call, the deployment configuration new servers are ordered with, and how purchases are
 * coordinated. Without a deployment configuration, the line is a warning: provisioning then
 * works only for hubs that name one in auth.config. Nothing in it is a secret (the OpenMetal
 * origin carries no credentials: config.ts; of DATABASE_URL only the host and database show).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.ts'

/** How purchases are coordinated, in words for the operator: never the connection string (it holds a password). */
export function coordinationOf (config: Pick<Config, 'databaseUrl'>): string {
  if (config.databaseUrl === undefined) return 'in-process — run one replica, or set DATABASE_URL'
  const url = new URL(config.databaseUrl)
  return `postgres (${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname === '/' ? '' : url.pathname})`
}

export function logStartup (log: FastifyBaseLogger, config: Config, address: string): void {
  const summary = {
    address,
    openMetal: config.openMetalApiUrl,
    tls: config.tls === undefined ? 'off' : 'on',
    hubs: config.allowedHubIds.length === 0 ? 'any hub' : `${config.allowedHubIds.length} allowed`,
    deploymentConfiguration: config.deploymentConfiguration ?? null,
    coordination: coordinationOf(config)
  }
  if (config.deploymentConfiguration === undefined) {
    log.warn(summary, 'serving; OPENMETAL_DEPLOYMENT_CONFIGURATION is not set: provisioning fails for every hub whose auth.config names no deployment_configuration')
  } else {
    log.info(summary, 'serving')
  }
}
