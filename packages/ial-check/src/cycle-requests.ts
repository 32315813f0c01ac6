/**
 * Request bodies exactly in Cycle's shape (Cycle's Go types: github.com/cycleplatform/
 * integrations, package types): the {auth, request} wrapper and 24-hex Cycle object IDs
 * (Mongo ObjectIDs, never UUIDs) in every `cycle` meta object. Used by ial-check, the demo
 * and the tests. Maps Cycle has nothing for are sent as `{}` (the golden requests in
 * test/conformance/golden cover the `null` a nil Go map encodes to).
 */
import { randomBytes } from 'node:crypto'

/** A Cycle object ID: 24 lowercase hex characters (a Mongo ObjectID), never a UUID. */
export function objectId (): string {
  return randomBytes(12).toString('hex')
}

export const OBJECT_ID = /^[0-9a-f]{24}$/

export interface Tenant {
  readonly client_id?: string
  readonly secret?: string
  readonly api_key?: string
  readonly config?: string
  readonly cycle: { hub_id: string, hub_name: string }
}

/** One server as Cycle knows it: the provider's model and location, and Cycle's own IDs for them. */
export interface CycleServer {
  /** Cycle's ID of the server (`cycle.server_id`) */
  readonly cycleServerId: string
  /** the provider's model (`provider.model_id` of a server model) */
  readonly modelId: string
  /** the provider's location (`provider.location_id`, an OpenMetal pod) */
  readonly locationId: string
  readonly hostname: string
  /** Cycle's IDs of the model and the location (`cycle.model_id`, `cycle.location_id`) */
  readonly cycleModelId: string
  readonly cycleLocationId: string
  readonly modelClass: string
  readonly modelCategory: string
}

export function cycleServer (modelId: string, locationId: string, meta: { modelClass?: string, modelCategory?: string, hostname?: string, cycleServerId?: string } = {}): CycleServer {
  return {
    cycleServerId: meta.cycleServerId ?? objectId(),
    modelId,
    locationId,
    hostname: meta.hostname ?? `cycle-${objectId().slice(0, 8)}`,
    cycleModelId: objectId(),
    cycleLocationId: objectId(),
    modelClass: meta.modelClass ?? 'bare-metal',
    modelCategory: meta.modelCategory ?? 'bare-metal'
  }
}

const modelFeatures = (): { raid: null, hypervisor: null, extra: null } => ({ raid: null, hypervisor: null, extra: null })

function serverMeta (server: CycleServer) {
  return { server_id: server.cycleServerId, model_class: server.modelClass, model_category: server.modelCategory, model_id: server.cycleModelId, location_id: server.cycleLocationId }
}

export function verifyBody (auth: Tenant) {
  return { auth, request: null }
}

/** locations and server-models: Cycle sends the wrapper with the GET */
export function listBody (auth: Tenant) {
  return { auth, request: null }
}

export function configureBody (auth: Tenant, locationId: string, cycleLocationId: string = objectId(), version = '1') {
  return { auth, request: { location_id: locationId, version, configuration_current: {}, cycle: { location_id: cycleLocationId } } }
}

export function provisionBody (auth: Tenant, server: CycleServer) {
  return {
    auth,
    request: {
      hostname: server.hostname,
      model_id: server.modelId,
      location_id: server.locationId,
      zone_id: null,
      model_features: modelFeatures(),
      provision_options: {},
      location_configuration: {},
      cycle: serverMeta(server)
    }
  }
}

export function statusBody (auth: Tenant, server: CycleServer, serverId: string, extra: Record<string, unknown> | null = null) {
  return {
    auth,
    request: {
      server_id: serverId,
      location_id: server.locationId,
      zone_id: null,
      model_features: modelFeatures(),
      provision_options: {},
      location_configuration: {},
      extra,
      cycle: serverMeta(server)
    }
  }
}

/** decommission and restart share a request shape */
export function serverActionBody (auth: Tenant, server: CycleServer, serverId: string, extra: Record<string, unknown> | null = null) {
  return {
    auth,
    request: { server_id: serverId, hostname: server.hostname, model_id: server.modelId, location_id: server.locationId, zone_id: null, extra, cycle: serverMeta(server) }
  }
}

function ipMeta (server: CycleServer, poolId: string | null) {
  return { pool_id: poolId, server_id: server.cycleServerId, server_model_class: server.modelClass, server_model_category: server.modelCategory, location_id: server.cycleLocationId }
}

export function allocateBody (auth: Tenant, server: CycleServer, serverId: string, kind: 'ipv4' | 'ipv6' = 'ipv4', poolId: string | null = objectId()) {
  return {
    auth,
    request: { kind, server_id: serverId, location_id: server.locationId, zone_id: null, location_configuration: {}, cycle: ipMeta(server, poolId) }
  }
}

export interface AllocatedIp {
  readonly ip_id: string
  readonly ip_assignment_id: string
  readonly cidr: string
  readonly nat_private_ip?: string | null
}

export function releaseBody (auth: Tenant, server: CycleServer, serverId: string, ip: AllocatedIp, kind: 'ipv4' | 'ipv6' = 'ipv4', poolId: string | null = null) {
  return {
    auth,
    request: {
      kind,
      ip_id: ip.ip_id,
      ip_assignment_id: ip.ip_assignment_id,
      cidr: ip.cidr,
      nat_private_ip: ip.nat_private_ip ?? null,
      server_id: serverId,
      location_id: server.locationId,
      zone_id: null,
      location_configuration: {},
      cycle: ipMeta(server, poolId)
    }
  }
}
