/**
 * One example request per IAL endpoint, in Cycle's shape: the {auth, request} wrapper, Cycle's
 * 24-hex object IDs, and the stand-alone simulator's credentials (`npm run simulator`). They
 * live here once: schemas.ts serves them as the OpenAPI document's examples, the README's
 * "Local development" section sends them with curl, and test/conformance/examples.test.ts
 * checks both against this list and runs every one against the simulator.
 */
import type * as IAL from '../generated/cycle-ial.ts'

/**
 * What exists only once a server is provisioned and an IP allocated (the adapter's own tokens),
 * as the shell variables the README sets from earlier answers: its curl bodies are unquoted
 * here-documents, so the shell fills them in. Each names the example whose answer gives it.
 */
export const PLACEHOLDERS = {
  serverId: { text: '$SERVER_ID', answer: 'provision', field: 'server_id' },
  ipId: { text: '$IP_ID', answer: 'allocate', field: 'ip_id' },
  ipAssignmentId: { text: '$IP_ASSIGNMENT_ID', answer: 'allocate', field: 'ip_assignment_id' },
  cidr: { text: '$CIDR', answer: 'allocate', field: 'cidr' }
} as const

export type Placeholder = (typeof PLACEHOLDERS)[keyof typeof PLACEHOLDERS]

/** The placeholders an example holds, in the order of PLACEHOLDERS. */
export function placeholdersIn (example: unknown): Placeholder[] {
  const text = JSON.stringify(example)
  return Object.values(PLACEHOLDERS).filter((placeholder) => text.includes(`"${placeholder.text}"`))
}

/** The simulator's first organisation (its OAuth client) and a Cycle hub. */
const auth = {
  client_id: 'sim-client',
  secret: 'sim-secret',
  cycle: { hub_id: '65f1c0a2e4b8d90012a4c3f1', hub_name: 'local-dev' }
} satisfies IAL.Auth

/** One Cycle server: an OpenMetal medium_v4 in pod_1 (Ashburn), as Cycle names it. */
const server = {
  hostname: 'cycle-7d1e2f3a',
  model_id: 'medium_v4',
  location_id: 'pod_1',
  cycle: { server_id: '65f1c0a2e4b8d90012a4c3f4', model_class: 'bare-metal', model_category: 'bare-metal', model_id: '65f1c0a2e4b8d90012a4c3f2', location_id: '65f1c0a2e4b8d90012a4c3f3' }
} as const

/** Cycle's IP pool the allocated address goes to. */
const ipMeta = { pool_id: '65f1c0a2e4b8d90012a4c3f5', server_id: server.cycle.server_id, server_model_class: 'bare-metal', server_model_category: 'bare-metal', location_id: server.cycle.location_id } satisfies IAL.CycleIPMeta

// Go sends a nil map as null: the features Cycle knows nothing of for bare metal
const modelFeatures = { raid: null, hypervisor: null, extra: null }

export const verifyExample = { auth, request: null } satisfies IAL.VerifyAuthRequest

/** Cycle sends the wrapper with these GETs too; the catalog is public, so nothing in it is read. */
export const locationsExample = { auth, request: null }
export const serverModelsExample = { auth, request: null }

export const configureExample = {
  auth,
  request: { location_id: server.location_id, version: '1', configuration_current: {}, cycle: { location_id: server.cycle.location_id } }
} satisfies IAL.ConfigureLocationRequest

export const provisionExample = {
  auth,
  request: { hostname: server.hostname, model_id: server.model_id, location_id: server.location_id, zone_id: null, model_features: modelFeatures, provision_options: {}, location_configuration: {}, cycle: server.cycle }
} satisfies IAL.ProvisionServerRequest

export const provisionStatusExample = {
  auth,
  request: { server_id: PLACEHOLDERS.serverId.text, location_id: server.location_id, zone_id: null, model_features: modelFeatures, provision_options: {}, location_configuration: {}, extra: null, cycle: server.cycle }
} satisfies IAL.GetProvisionServerStatusRequest

/** restart and decommission: one request shape */
const serverAction = {
  auth,
  request: { server_id: PLACEHOLDERS.serverId.text, hostname: server.hostname, model_id: server.model_id, location_id: server.location_id, zone_id: null, extra: null, cycle: server.cycle }
}
export const restartExample = serverAction satisfies IAL.RestartServerRequest
export const decommissionExample = serverAction satisfies IAL.DecommissionServerRequest

export const allocateExample = {
  auth,
  request: { kind: 'ipv4', server_id: PLACEHOLDERS.serverId.text, location_id: server.location_id, zone_id: null, location_configuration: {}, cycle: ipMeta }
} satisfies IAL.AllocateIPRequest

export const releaseExample = {
  auth,
  request: { kind: 'ipv4', ip_id: PLACEHOLDERS.ipId.text, ip_assignment_id: PLACEHOLDERS.ipAssignmentId.text, cidr: PLACEHOLDERS.cidr.text, nat_private_ip: null, server_id: PLACEHOLDERS.serverId.text, location_id: server.location_id, zone_id: null, location_configuration: {}, cycle: ipMeta }
} satisfies IAL.ReleaseIPRequest

export interface IalExample {
  readonly name: string
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly body: { readonly auth: IAL.Auth, readonly request: unknown }
}

/** Every example with the call that sends it, in the order of a server's life. */
export const IAL_EXAMPLES: readonly IalExample[] = [
  { name: 'verify', method: 'POST', path: '/v1/auth/verify', body: verifyExample },
  { name: 'locations', method: 'GET', path: '/v1/infrastructure/provider/locations', body: locationsExample },
  { name: 'server-models', method: 'GET', path: '/v1/infrastructure/provider/server-models', body: serverModelsExample },
  { name: 'configure', method: 'POST', path: '/v1/location/configure', body: configureExample },
  { name: 'provision', method: 'POST', path: '/v1/infrastructure/server/provision', body: provisionExample },
  { name: 'provision-status', method: 'GET', path: '/v1/infrastructure/server/provision-status', body: provisionStatusExample },
  { name: 'provision-status (POST)', method: 'POST', path: '/v1/infrastructure/server/provision-status', body: provisionStatusExample },
  { name: 'allocate', method: 'POST', path: '/v1/infrastructure/ip/allocate', body: allocateExample },
  { name: 'release', method: 'POST', path: '/v1/infrastructure/ip/release', body: releaseExample },
  { name: 'restart', method: 'POST', path: '/v1/infrastructure/server/restart', body: restartExample },
  { name: 'decommission', method: 'POST', path: '/v1/infrastructure/server/decommission', body: decommissionExample }
]
