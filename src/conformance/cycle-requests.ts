/**
 * Request payloads exactly in Cycle's shape (Cycle's Go types: github.com/cycleplatform/
 * integrations, package types): the {auth, request} wrapper, 24-hex Cycle object IDs, and
 * null where Go encodes a nil map. Used by ial-check, the demo and the tests.
 */
import { randomBytes } from 'node:crypto'

/** A Cycle object ID: 24 hex characters (a Mongo ObjectID), never a UUID. */
export function objectId (): string {
  return randomBytes(12).toString('hex')
}

export interface Tenant {
  readonly client_id?: string
  readonly secret?: string
  readonly api_key?: string
  readonly config?: string
  readonly cycle: { hub_id: string, hub_name: string }
}

export interface CycleServer {
  readonly cycleServerId: string
  readonly modelId: string
  readonly locationId: string
  readonly hostname: string
}

export function cycleServer (modelId: string, locationId: string): CycleServer {
  return { cycleServerId: objectId(), modelId, locationId, hostname: `cycle-${objectId().slice(0, 8)}` }
}

function serverMeta (server: CycleServer) {
  return { server_id: server.cycleServerId, model_class: 'bare-metal', model_category: 'bare-metal', model_id: objectId(), location_id: objectId() }
}

export function provisionBody (auth: Tenant, server: CycleServer) {
  return {
    auth,
    request: {
      hostname: server.hostname,
      model_id: server.modelId,
      location_id: server.locationId,
      zone_id: null,
      model_features: { raid: null, hypervisor: null, extra: null },
      provision_options: null,
      location_configuration: null,
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
      model_features: { raid: null, hypervisor: null, extra: null },
      provision_options: null,
      location_configuration: null,
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
  return { pool_id: poolId, server_id: server.cycleServerId, server_model_class: 'bare-metal', server_model_category: 'bare-metal', location_id: objectId() }
}

export function allocateBody (auth: Tenant, server: CycleServer, serverId: string, kind: 'ipv4' | 'ipv6' = 'ipv4', poolId: string | null = objectId()) {
  return {
    auth,
    request: { kind, server_id: serverId, location_id: server.locationId, zone_id: null, location_configuration: null, cycle: ipMeta(server, poolId) }
  }
}

export function releaseBody (auth: Tenant, server: CycleServer, serverId: string, ip: { ip_id: string, ip_assignment_id: string, cidr: string }) {
  return {
    auth,
    request: { kind: 'ipv4', ...ip, nat_private_ip: null, zone_id: null, server_id: serverId, location_id: server.locationId, location_configuration: null, cycle: ipMeta(server, null) }
  }
}

export function configureBody (auth: Tenant, locationId: string) {
  return { auth, request: { location_id: locationId, version: '1', configuration_current: null, cycle: { location_id: objectId() } } }
}
