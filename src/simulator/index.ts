/**
 * The OpenMetal simulator: a real HTTP server that answers the Central API operations the
 * adapter uses, in the spec's shapes, rejecting request bodies the real API would reject.
 * Tests, the demo and the benchmarks use it; an operator can point the adapter at it to
 * try everything without an account. Faults can be injected (see faults.ts and README.md).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AddressInfo } from 'node:net'
import type { Static, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import * as OM from '../generated/openmetal.ts'
import { hardware, PODS } from './catalog.ts'
import { FaultRules, type FaultRule } from './faults.ts'
import { SimulatorState, defaultOrganizations, type SimulatorOrganization } from './state.ts'

export { defaultOrganizations, type SimulatorOrganization } from './state.ts'
export type { FaultRule } from './faults.ts'

export interface SimulatorOptions {
  readonly host?: string
  readonly port?: number
  /** time between provisioning states (pending, in_progress, awaiting_setup, complete) */
  readonly provisioningStepMs?: number
  readonly tokenTtlSeconds?: number
  /** latency added to every API call */
  readonly latencyMs?: number
  /** a node stays locked (409) this long after a power action */
  readonly powerLockMs?: number
  readonly organizations?: SimulatorOrganization[]
  readonly clock?: () => number
}

export interface FaultControls {
  add (rule: FaultRule): void
  clear (): void
  /** every issued token answers 401 until exchanged again */
  expireTokens (): void
  setOrderStatus (orderId: string, status: string): void
  lockNode (nodeUuid: string, ms: number): void
  setLatency (ms: number): void
}

export interface Simulator {
  readonly url: string
  readonly state: SimulatorState
  readonly faults: FaultControls
  close (): Promise<void>
}

class HttpAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers: Record<string, string>

  constructor (status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status
    this.body = body
    this.headers = headers
  }
}

const fail = (status: number, message: string): HttpAnswer => new HttpAnswer(status, { error: message })

function check<S extends TSchema> (schema: S, body: unknown): asserts body is Static<S> {
  if (!Value.Check(schema, body)) {
    const first = [...Value.Errors(schema, body)][0]
    throw fail(400, `invalid request body${first === undefined ? '' : `: ${first.instancePath} ${first.message}`}`)
  }
}

interface Context {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage['headers']
  readonly body: unknown
  readonly params: string[]
}

type Handler = (context: Context, orgId: string) => HttpAnswer | Promise<HttpAnswer>

export async function startSimulator (options: SimulatorOptions = {}): Promise<Simulator> {
  const clock = options.clock ?? Date.now
  const state = new SimulatorState({ organizations: options.organizations ?? defaultOrganizations, clock, provisioningStepMs: options.provisioningStepMs ?? 3000 })
  const rules = new FaultRules()
  const tokenTtl = options.tokenTtlSeconds ?? 14_400
  const powerLockMs = options.powerLockMs ?? 0
  let latencyMs = options.latencyMs ?? 0

  const publicRoutes: Array<[string, RegExp, (context: Context) => HttpAnswer]> = [
    ['GET', /^\/health$/, () => new HttpAnswer(200, { status: 'ok' })],
    ['GET', /^\/v2\/inventory\/locations$/, () => new HttpAnswer(200, { locations: PODS })],
    ['GET', /^\/v1\/products$/, () => new HttpAnswer(200, { hardware: hardware(), addons: { memory: [], storage: [], ip_block: [{ name: 'IPv4 /28', add_on_code: 'ipv4_block_28', hourly_cost: 0.03, hourly_cost_mils: 30, type: 'ip_block', specs: { size: 16 } }], other: [] } })],
    ['GET', /^\/v2\/inventory\/([^/]+)\/availability$/, ({ params }) => {
      const pod = params[0] ?? ''
      const stock = state.stock[pod]
      if (stock === undefined) return fail(400, 'invalid pod location')
      const skus = Object.fromEntries(Object.entries(stock).map(([sku, count]) => [sku, { count: Math.max(0, count), max_size: Math.max(0, Math.floor(count * 0.8)) }]))
      return new HttpAnswer(200, { ...skus, timestamp: new Date(clock()).toISOString(), pod_location: pod })
    }]
  ]

  const routes: Array<[string, RegExp, Handler]> = [
    ['GET', /^\/v1\/clouds$/, (_c, org) => new HttpAnswer(200, [...state.clouds.values()].filter((cloud) => cloud.orgId === org).map((cloud) => state.cloudView(cloud)))],
    ['GET', /^\/v1\/clouds\/([^/]+)$/, ({ params }, org) => {
      const cloud = state.cloud(org, params[0] ?? '')
      return cloud === undefined ? fail(404, 'Cloud not found') : new HttpAnswer(200, state.cloudView(cloud))
    }],
    ['DELETE', /^\/v1\/clouds\/([^/]+)$/, ({ params }, org) => {
      const cloud = state.cloud(org, params[0] ?? '')
      if (cloud === undefined) return fail(404, 'Cloud not found')
      cloud.pendingDelete = true
      return new HttpAnswer(200, null)
    }],
    ['GET', /^\/v1\/clouds\/([^/]+)\/stats$/, ({ params }, org) => {
      const cloud = state.cloud(org, params[0] ?? '')
      return cloud === undefined ? fail(404, 'Cloud not found') : new HttpAnswer(200, state.statsView(cloud))
    }],
    ['POST', /^\/v1\/deployment\/cloud\/([^/]+)\/node\/([^/]+)\/power$/, ({ params, body }, org) => {
      const cloud = state.cloud(org, params[0] ?? '')
      const node = cloud?.nodes.find((candidate) => candidate.uuid === params[1])
      if (cloud === undefined || node === undefined) return fail(404, 'Cloud or node not found')
      const requested = (body as { power_state?: unknown } | null)?.power_state
      if (requested !== 'power on' && requested !== 'power off' && requested !== 'rebooting') return fail(400, 'Invalid power state request')
      // a node of a cloud that is not deployed, or is being deleted, is locked
      if (cloud.pendingDelete || state.cloudStatus(cloud) !== 'complete' || node.lockedUntil > clock()) return fail(409, 'Unable to process power state request - Node Locked. Please try again in a few minutes.')
      node.powerState = requested === 'rebooting' ? 'power on' : requested
      node.lockedUntil = clock() + powerLockMs
      return new HttpAnswer(200, { result: 'success', power_state: requested, node_uuid: node.uuid })
    }],
    ['GET', /^\/v1\/orders$/, (_c, org) => new HttpAnswer(200, [...state.orders.values()].filter((order) => order.orgId === org).map((order) => ({ ...state.orderView(order), relation: { access: { account_id: 'sim-user' } } })))],
    ['POST', /^\/v1\/orders$/, ({ body }, org) => {
      check(OM.OrderRequest, body)
      for (const item of body.fields.items) {
        if (item.type === 'baremetal') {
          const options = body.fields.config_options
          const keyIds = options?.public_key_ids ?? []
          if ((options?.public_key ?? '') === '' && keyIds.length === 0) throw fail(400, 'public_key or public_key_ids is required for baremetal orders')
          if (keyIds.some((keyId) => state.publicKeys.get(keyId)?.orgId !== org)) throw fail(400, 'unknown public key id')
          const modifications = item.modifications
          if (modifications?.operating_system === undefined && modifications?.deployment_configuration === undefined) throw fail(400, 'operating_system or deployment_configuration is required for baremetal orders')
          if (modifications.deployment_configuration !== undefined && state.configurations.get(modifications.deployment_configuration)?.orgId !== org) throw fail(400, 'unknown deployment configuration')
        }
        if (hardware()[item.hardware_sku] === undefined) throw fail(400, `unknown hardware_sku ${item.hardware_sku}`)
        const stock = state.stock[item.location]
        if (stock === undefined) throw fail(400, `unknown location ${item.location}`)
        if ((stock[item.hardware_sku] ?? 0) < item.quantity) throw fail(400, `${item.hardware_sku} is out of stock in ${item.location}`)
      }
      return new HttpAnswer(200, state.createOrder(org, body))
    }],
    ['GET', /^\/v1\/orders\/([^/]+)$/, ({ params }, org) => {
      const order = state.order(org, params[0] ?? '')
      return order === undefined ? fail(404, 'Order not found') : new HttpAnswer(200, state.orderView(order))
    }],
    ['GET', /^\/v1\/prefixes$/, (_c, org) => new HttpAnswer(200, [...state.prefixes.values()].filter((prefix) => prefix.orgId === org).map((prefix) => state.prefixView(prefix)))],
    ['POST', /^\/v1\/prefixes$/, ({ body }, org) => {
      check(OM.PrefixCreateRequest, body)
      const fields = body.fields
      if (fields.prefix_type === 'routed' && (fields.product_addon === undefined || fields.cloud_id === undefined)) throw fail(400, 'routed IP blocks require product_addon and cloud_id')
      const cloud = state.cloud(org, fields.cloud_id ?? '')
      if (cloud === undefined) throw fail(400, 'unknown cloud_id')
      return new HttpAnswer(200, state.prefixView(state.addPrefix(org, cloud.id, fields.pod_location, 'provider', true)))
    }],
    ['GET', /^\/v1\/prefixes\/([^/]+)$/, ({ params }, org) => {
      const prefix = state.prefix(org, params[0] ?? '')
      return prefix === undefined ? fail(404, 'IP Address Block not found') : new HttpAnswer(200, state.prefixView(prefix))
    }],
    ['GET', /^\/v1\/deployment\/network\/prefix\/([^/]+)$/, ({ params }, org) => {
      const prefix = state.prefix(org, params[0] ?? '')
      return prefix === undefined ? fail(404, 'prefix not found') : new HttpAnswer(200, state.prefixDetail(prefix))
    }],
    ['POST', /^\/v1\/deployment\/network\/prefixes\/([^/]+)\/ip$/, ({ params, body }, org) => {
      body ??= {}
      check(OM.CreateIpAddressRequest, body)
      const prefix = state.prefix(org, params[0] ?? '')
      if (prefix === undefined) return fail(404, 'prefix not found')
      const created = state.createAddress(prefix, body ?? {})
      if (created === 'full') return fail(409, 'no available IP address in prefix')
      if (created === 'taken' || created === 'outside') return fail(400, `requested IP is ${created === 'taken' ? 'already in use' : 'not usable in this prefix'}`)
      return new HttpAnswer(200, created)
    }],
    ['DELETE', /^\/v1\/deployment\/network\/prefixes\/([^/]+)\/ip\/(\d+)$/, ({ params }, org) => {
      const prefix = state.prefix(org, params[0] ?? '')
      const address = prefix?.addresses.get(Number(params[1]))
      if (prefix === undefined || address === undefined) return fail(404, 'IP address not found')
      const cloud = state.clouds.get(prefix.cloudId)
      if (cloud?.nodes.some((node) => node.uuid === address.assigned_host) === true) return fail(400, 'a host\'s main IP cannot be removed')
      prefix.addresses.delete(address.id)
      state.ipsDeleted++
      return new HttpAnswer(200, null)
    }],
    ['GET', /^\/v1\/configurations$/, (_c, org) => new HttpAnswer(200, [...state.configurations.values()].filter((configuration) => configuration.orgId === org).map(({ orgId: _orgId, ...view }) => view))],
    ['POST', /^\/v1\/configurations$/, ({ body }, org) => {
      check(OM.CreateImageConfigRequest, body)
      const request = body
      const fields = request.fields ?? {}
      const disk = fields.image_source !== undefined
      const ramdisk = fields.image_ramdisk_kernel !== undefined || fields.image_ramdisk_ramdisk !== undefined
      if (disk && ramdisk) throw fail(400, 'deployment modes are mutually exclusive')
      if (fields.image_ramdisk_kernel === undefined !== (fields.image_ramdisk_ramdisk === undefined)) throw fail(400, 'image_ramdisk_kernel and image_ramdisk_ramdisk are required together')
      if (disk && (fields.image_os_hash_algo === undefined || fields.image_os_hash_value === undefined)) throw fail(400, 'image_source requires image_os_hash_algo and image_os_hash_value')
      if (fields.kernel_args !== undefined && (!ramdisk || fields.kernel_args.trim() === '' || /[\r\n]/.test(fields.kernel_args))) throw fail(400, 'invalid kernel_args')
      return new HttpAnswer(200, state.addConfiguration(org, request.label, fields))
    }],
    ['GET', /^\/v1\/configurations\/([^/]+)$/, ({ params }, org) => {
      const configuration = state.configurations.get(params[0] ?? '')
      if (configuration?.orgId !== org) return fail(404, 'configuration not found')
      const { orgId: _orgId, ...view } = configuration
      return new HttpAnswer(200, view)
    }],
    ['DELETE', /^\/v1\/configurations\/([^/]+)$/, ({ params }, org) => {
      const configuration = state.configurations.get(params[0] ?? '')
      if (configuration?.orgId !== org) return fail(404, 'configuration not found')
      state.configurations.delete(configuration.id)
      return new HttpAnswer(200, null)
    }],
    ['GET', /^\/v1\/public-keys$/, (_c, org) => new HttpAnswer(200, [...state.publicKeys.values()].filter((key) => key.orgId === org).map((key) => ({ id: key.id, type: 'public-keys', label: key.label, fields: { key_data: key.key } })))],
    ['POST', /^\/v1\/public-keys$/, ({ body }, org) => {
      const request = body as { label?: unknown, fields?: { key_data?: unknown } } | null
      if (typeof request?.label !== 'string' || typeof request.fields?.key_data !== 'string') throw fail(400, 'label and fields.key_data are required')
      const key = { id: `key${state.publicKeys.size + 1}${org.slice(-1)}`, orgId: org, label: request.label, key: request.fields.key_data }
      state.publicKeys.set(key.id, key)
      return new HttpAnswer(200, { id: key.id, type: 'public-keys', label: key.label, fields: { key_data: key.key } })
    }]
  ]

  const faults: FaultControls = {
    add: (rule) => rules.add(rule),
    clear: () => rules.clear(),
    expireTokens: () => state.expireTokens(),
    setOrderStatus: (orderId, status) => state.setOrderStatus(orderId, status),
    lockNode (nodeUuid, ms) {
      const node = [...state.clouds.values()].flatMap((cloud) => cloud.nodes).find((candidate) => candidate.uuid === nodeUuid)
      if (node === undefined) throw new Error(`no node ${nodeUuid}`)
      node.lockedUntil = clock() + ms
    },
    setLatency: (ms) => { latencyMs = ms }
  }

  function admin (context: Context): HttpAnswer {
    const body = (context.body ?? {}) as Record<string, unknown>
    const path = context.path.slice('/_sim'.length)
    if (context.method === 'POST' && path === '/faults') {
      faults.add({ ...(body as unknown as FaultRule), times: body.times === null || body.times === undefined ? 1 : Number(body.times) < 0 ? Infinity : Number(body.times) })
    } else if (context.method === 'DELETE' && path === '/faults') faults.clear()
    else if (context.method === 'POST' && path === '/tokens/expire') faults.expireTokens()
    else if (context.method === 'POST' && path === '/latency') faults.setLatency(Number(body.ms ?? 0))
    else if (context.method === 'POST' && /^\/orders\/[^/]+\/status$/.test(path)) faults.setOrderStatus(path.split('/')[2] ?? '', String(body.provision_status))
    else if (context.method === 'POST' && /^\/nodes\/[^/]+\/lock$/.test(path)) faults.lockNode(path.split('/')[2] ?? '', Number(body.ms ?? 60_000))
    else if (context.method === 'POST' && path === '/reset') state.reset()
    else if (context.method !== 'GET' || path !== '/state') return fail(404, 'no such admin route')
    return new HttpAnswer(200, { orders: state.ordersCreated, tokenExchanges: state.tokenExchanges, prefixesBought: state.prefixesBought, ipsCreated: state.ipsCreated, ipsDeleted: state.ipsDeleted, requests: state.requests.length })
  }

  async function handle (context: Context): Promise<HttpAnswer> {
    if (context.method === 'GET' && context.path === '/v1/oauth2/token') {
      if (context.query.get('grant_type') !== 'client_credentials') return fail(400, 'unsupported grant_type')
      const [scheme, encoded] = (context.headers.authorization ?? '').split(' ')
      const [clientId, secret] = scheme === 'Basic' ? Buffer.from(encoded ?? '', 'base64').toString('utf8').split(':') : []
      const token = state.issueToken(clientId ?? '', secret ?? '', tokenTtl)
      return token === undefined ? fail(401, 'invalid client credentials') : new HttpAnswer(200, { access_token: token, scope: 'https://api.central.openmetal.io/v1/*', expires_in: tokenTtl, token_type: 'bearer' })
    }
    for (const [method, pattern, handler] of publicRoutes) {
      const match = pattern.exec(context.path)
      if (match !== null && method === context.method) return handler({ ...context, params: match.slice(1) })
    }
    for (const [method, pattern, handler] of routes) {
      const match = pattern.exec(context.path)
      if (match === null || method !== context.method) continue
      const [scheme, token] = (context.headers.authorization ?? '').split(' ')
      const org = scheme === 'Bearer' && token !== undefined ? state.orgOfBearer(token) : undefined
      if (org === undefined) return fail(401, 'Unauthorized')
      return await handler({ ...context, params: match.slice(1).map(decodeURIComponent) }, org)
    }
    return fail(404, 'Not found')
  }

  async function serve (request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://simulator')
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let body: unknown
    try {
      body = text === '' ? undefined : JSON.parse(text)
    } catch {
      respond(response, fail(400, 'malformed JSON'))
      return
    }
    const context: Context = { method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: request.headers, body, params: [] }
    if (context.path.startsWith('/_sim/')) {
      respond(response, admin(context))
      return
    }
    const log = { method: context.method, path: context.path, status: 0 as number | 'dropped' }
    state.requests.push(log)
    if (latencyMs > 0) await sleep(latencyMs)
    const rule = rules.take(context.method, context.path)
    if (rule?.delayMs !== undefined) await sleep(rule.delayMs)
    if (response.destroyed) return
    if (rule?.drop === 'before') {
      log.status = 'dropped'
      request.socket.destroy()
      return
    }
    if (rule?.status !== undefined) {
      log.status = rule.status
      respond(response, new HttpAnswer(rule.status, rule.body ?? { error: 'injected fault' }, rule.retryAfter === undefined ? {} : { 'retry-after': String(rule.retryAfter) }))
      return
    }
    let answer: HttpAnswer
    try {
      answer = await handle(context)
    } catch (error) {
      if (!(error instanceof HttpAnswer)) throw error
      answer = error
    }
    log.status = answer.status
    if (rule?.drop === 'after') {
      log.status = 'dropped'
      request.socket.destroy()
      return
    }
    if (rule?.malformed === true) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"truncated": ')
      return
    }
    respond(response, answer)
  }

  const server = createServer((request, response) => {
    serve(request, response).catch(() => {
      if (!response.headersSent) respond(response, fail(500, 'simulator error'))
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolveListen) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolveListen))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    state,
    faults,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()))
    }
  }
}

function respond (response: ServerResponse, answer: HttpAnswer): void {
  const text = answer.body === null || answer.body === undefined ? '' : JSON.stringify(answer.body)
  response.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...answer.headers }).end(text)
}
