/**
 * A tiny IAL adapter for ial-check's own tests: a real node:http server on loopback port 0
 * implementing the ten endpoints minimally, with correct shapes, and with switchable
 * defects. It checks what a real adapter would rely on (credentials, the round-tripped
 * `extra`), and records every request so tests can look at what ial-check sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const RIGHT = { client_id: 'fake-client', secret: 'fake-secret-do-not-print', api_key: 'fake-api-key-do-not-print' }

export type Defect =
  /** server-models: models[1].pricing.monthly is a float */
  | 'float-price'
  /** server-models: models[1].specs.memory.size_gb is a numeric string */
  | 'numeric-string'
  /** locations: the payload without the {data} envelope */
  | 'bare-payload'
  /** provision-status: a GET's body is not read (so there are no credentials); POST works */
  | 'status-ignores-get-body'
  /** verify: any credentials are valid */
  | 'accepts-any-credentials'
  /** verify: wrong credentials get a 401 whose code does not match */
  | 'bad-error-envelope'
  /** provision-status: never provisioned */
  | 'never-provisioned'
  /** provision-status: the first call answers 503 */
  | 'transient-503'
  /** provision: Cycle IDs validated as UUIDs (the IAL spec's `format: uuid`), so Cycle's 24-hex object IDs are refused */
  | 'uuid-only-ids'
  /** restart: the first call answers 409 (the node is locked) with Retry-After: 120 */
  | 'restart-locked-once'
  /** restart: every call answers 409 with Retry-After: 120 */
  | 'restart-locked'

export interface Recorded {
  readonly method: string
  readonly path: string
  readonly body: unknown
}

export interface FakeAdapter {
  readonly url: string
  readonly requests: Recorded[]
  readonly defects: Set<Defect>
  /** provider server IDs provisioned and not yet decommissioned */
  readonly servers: Map<string, { polls: number, orderId: string }>
  close (): Promise<void>
}

interface Wrapper {
  auth?: { client_id?: string, secret?: string, api_key?: string }
  request?: Record<string, unknown> | null
}

function send (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
}

function fail (response: ServerResponse, status: number, slug: string, title: string, detail?: string, source?: string): void {
  send(response, status, { error: { status, code: `${status}.${slug}`, title, ...(detail === undefined ? {} : { detail }), ...(source === undefined ? {} : { source }) }, data: null })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function location (pod: string, city: string, code: string) {
  return {
    name: city,
    geographic: { latitude: 39.04, longitude: -77.48, city, state: 'VA', country: 'US', region: 'us-east' },
    provider: { location_id: pod, code, availability_zones: [] },
    features: { available: ['bare-metal'], supported: ['bare-metal'] },
    annotations: {},
    compatible: true,
    abbreviation: code
  }
}

function model (sku: string, pods: string[]) {
  return {
    name: `Baremetal - ${sku}`,
    description: `${sku} bare metal`,
    drivers: null,
    specs: {
      cpu: { count: 2, cores: 12, threads: 24, type: 'Intel Xeon Silver 4310', shared: false, extra: {} },
      gpu: null,
      memory: { size_gb: 256, type: 'DDR4', extra: {} },
      storage: [{ count: 1, size_gb: 6400, type: 'nvme', extra: {} }],
      network: [{ scope: 'public', type: 'ethernet', throughput: '20 Gbps' }],
      features: { raid: null, hypervisor: true, extra: {} }
    },
    provider: { category: 'bare-metal', class: 'standard', model_id: sku, locations: pods, availability_zones: null },
    pricing: { hourly: 1380, monthly: 792000 },
    compatible: true
  }
}

export async function startFakeAdapter (options: { defects?: Defect[], pollsUntilProvisioned?: number } = {}): Promise<FakeAdapter> {
  const defects = new Set(options.defects ?? [])
  const requests: Recorded[] = []
  const servers = new Map<string, { polls: number, orderId: string }>()
  const pollsUntilProvisioned = options.pollsUntilProvisioned ?? 2
  let counter = 0
  let statusCalls = 0
  let restartCalls = 0

  const authorised = (wrapper: Wrapper): boolean => {
    const auth = wrapper.auth ?? {}
    return (auth.client_id === RIGHT.client_id && auth.secret === RIGHT.secret) || auth.api_key === RIGHT.api_key
  }

  /** the server a request names, with the `extra` it must carry */
  const serverOf = (request: Record<string, unknown>, response: ServerResponse): { polls: number, orderId: string } | undefined => {
    const server = servers.get(String(request.server_id))
    if (server === undefined) {
      fail(response, 404, 'infrastructure.server', 'Server not found')
      return undefined
    }
    const extra = request.extra as { order_id?: string } | null | undefined
    if (extra?.order_id !== server.orderId) {
      fail(response, 422, 'invalid-input', 'extra did not round-trip', `expected extra.order_id ${server.orderId}`)
      return undefined
    }
    return server
  }

  const handle = (incoming: IncomingMessage, response: ServerResponse, text: string): void => {
    const path = (incoming.url ?? '/').split('?')[0] ?? '/'
    const method = incoming.method ?? 'GET'
    const ignoreBody = defects.has('status-ignores-get-body') && method === 'GET' && path === '/v1/infrastructure/server/provision-status'
    let wrapper: Wrapper = {}
    if (text !== '' && !ignoreBody) {
      try {
        wrapper = JSON.parse(text) as Wrapper
      } catch {
        fail(response, 400, 'invalid-syntax', 'The body is not JSON')
        return
      }
    }
    requests.push({ method, path, body: text === '' ? undefined : wrapper })
    const request = wrapper.request ?? {}

    if (path === '/v1/auth/verify' && method === 'POST') {
      if (!authorised(wrapper) && defects.has('bad-error-envelope')) {
        send(response, 401, { error: { status: 401, code: '400.unauthorized', title: 'Unauthorized' }, data: null })
        return
      }
      send(response, 200, { data: { valid: authorised(wrapper) || defects.has('accepts-any-credentials') } })
      return
    }
    if (!authorised(wrapper)) {
      fail(response, 401, 'auth-invalid', 'Invalid credentials', 'no valid OpenMetal credentials in auth')
      return
    }
    switch (`${method} ${path}`) {
      case 'GET /v1/infrastructure/provider/locations': {
        const data = { locations: [location('pod_1', 'Ashburn', 'IAD'), location('pod_2', 'Los Angeles', 'LAX')], extra: {} }
        send(response, 200, defects.has('bare-payload') ? data : { data })
        return
      }
      case 'GET /v1/infrastructure/provider/server-models': {
        const models = [model('small_v4', []), model('medium_v4', ['pod_2', 'pod_1'])]
        const medium = models[1]
        if (medium !== undefined && defects.has('float-price')) medium.pricing.monthly = 792000.5
        if (medium !== undefined && defects.has('numeric-string')) (medium.specs.memory as { size_gb: unknown }).size_gb = '256'
        send(response, 200, { data: { models, extra: {} } })
        return
      }
      case 'POST /v1/location/configure':
        if (request.location_id !== 'pod_1' && request.location_id !== 'pod_2') {
          fail(response, 404, 'infrastructure.location', 'Location not found')
          return
        }
        send(response, 200, { data: { configured: true, version: String(request.version ?? ''), configuration_latest: {} } })
        return
      case 'POST /v1/infrastructure/server/provision': {
        const cycleServerId = (request.cycle as { server_id?: unknown } | undefined)?.server_id
        if (defects.has('uuid-only-ids') && !(typeof cycleServerId === 'string' && UUID.test(cycleServerId))) {
          fail(response, 422, 'invalid-input', 'Invalid input', 'must match format "uuid"', '/request/cycle/server_id')
          return
        }
        if (request.model_id !== 'medium_v4' || (request.location_id !== 'pod_1' && request.location_id !== 'pod_2')) {
          fail(response, 422, 'not-compatible', 'No stock of that model there')
          return
        }
        counter++
        const serverId = `fake.${counter}.${String(request.location_id)}`
        const orderId = `order-${counter}`
        servers.set(serverId, { polls: 0, orderId })
        send(response, 200, { data: { server_id: serverId, extra: { order_id: orderId, state: 'pending' } } })
        return
      }
      case 'GET /v1/infrastructure/server/provision-status':
      case 'POST /v1/infrastructure/server/provision-status': {
        statusCalls++
        if (defects.has('transient-503') && statusCalls === 1) {
          fail(response, 503, 'not-ready', 'OpenMetal is not answering')
          return
        }
        const server = serverOf(request, response)
        if (server === undefined) return
        server.polls++
        const provisioned = !defects.has('never-provisioned') && server.polls >= pollsUntilProvisioned
        send(response, 200, {
          data: {
            server_id: String(request.server_id),
            provisioned,
            auth: provisioned
              ? { uuid: '8d3c1b0e-5a7f-4c1e-9a0b-2f6e4d8c1a3b', initial_ips: ['198.51.100.114'], mac_addr: '0c:c4:7a:12:34:56' }
              : { uuid: null, initial_ips: null, mac_addr: null },
            extra: { order_id: server.orderId, state: provisioned ? 'complete' : 'in_progress' }
          }
        })
        return
      }
      case 'POST /v1/infrastructure/server/restart':
        if (serverOf(request, response) === undefined) return
        restartCalls++
        if (defects.has('restart-locked') || (defects.has('restart-locked-once') && restartCalls === 1)) {
          const detail = 'the node is locked by another power action; retry in a few minutes'
          send(response, 409, { error: { status: 409, code: '409.conflict', title: 'Node locked', detail }, data: null }, { 'retry-after': '120' })
          return
        }
        send(response, 200, { data: true })
        return
      case 'POST /v1/infrastructure/server/decommission':
        if (serverOf(request, response) !== undefined) {
          servers.delete(String(request.server_id))
          send(response, 200, { data: true })
        }
        return
      case 'POST /v1/infrastructure/ip/allocate':
        if (request.kind !== 'ipv4') {
          fail(response, 422, 'not-compatible', 'IPv4 only')
          return
        }
        send(response, 200, { data: { ip_id: 'ip.1', ip_assignment_id: 'ip.1', cidr: '198.51.100.115/28', gateway: '198.51.100.113', netmask: '255.255.255.240', network: '198.51.100.112/28', nat_private_ip: null } })
        return
      case 'POST /v1/infrastructure/ip/release':
        send(response, 200, { data: true })
        return
      default:
        fail(response, 404, 'not-found', `No route ${method} ${path}`)
    }
  }

  const server: Server = createServer((incoming, response) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => { handle(incoming, response, Buffer.concat(chunks).toString('utf8')) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    defects,
    servers,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
