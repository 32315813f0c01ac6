/** Routes that need no bearer token: health, the catalog, and the OAuth token exchange. */
import type { InventoryAvailability, Locations, OAuthTokenResponse } from './generated/openmetal.ts'
import { PODS, maxOrderSize, productCatalog } from './catalog.ts'
import { HttpError, badRequest, ok, type Route } from './http.ts'
import type { SimulatorState } from './state.ts'

/** client_id and secret from `Authorization: Basic base64(id:secret)`; the secret may contain ':'. */
function basicCredentials (authorization: string | undefined): { clientId: string, secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '')
  if (match === null) return undefined
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : { clientId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

export function publicRoutes (state: SimulatorState, tokenTtlSeconds: number): Route[] {
  return [
    { method: 'GET', path: '/health', public: true, handle: () => ok({ status: 'ok' }) },
    {
      method: 'GET',
      path: '/v1/oauth2/token',
      public: true,
      handle: ({ query, headers }) => {
        if (query.get('grant_type') !== 'client_credentials') throw badRequest('grant_type must be client_credentials')
        const credentials = basicCredentials(headers.authorization)
        const token = credentials === undefined ? undefined : state.issueToken(credentials.clientId, credentials.secret, tokenTtlSeconds)
        if (token === undefined) throw new HttpError(401, 'Invalid client credentials', { 'www-authenticate': 'Basic realm="OpenMetal Central"' })
        return ok({ access_token: token, scope: 'https://api.central.openmetal.io/v1/*', expires_in: tokenTtlSeconds, token_type: 'bearer' } satisfies OAuthTokenResponse)
      }
    },
    { method: 'GET', path: '/v2/inventory/locations', public: true, handle: () => ok({ locations: { ...PODS } } satisfies Locations) },
    { method: 'GET', path: '/v1/products', public: true, handle: () => ok(productCatalog()) },
    {
      method: 'GET',
      path: '/v2/inventory/:pod/availability',
      public: true,
      handle: ({ params }) => {
        const pod = params.pod ?? ''
        const stock = Object.hasOwn(state.stock, pod) ? state.stock[pod] : undefined
        if (stock === undefined) throw badRequest(`Invalid pod location ${pod}`)
        const skus = Object.fromEntries(Object.entries(stock).map(([sku, count]) => [sku, { count: Math.max(0, count), max_size: maxOrderSize(count) }]))
        return ok({ ...skus, timestamp: new Date(state.now()).toISOString(), pod_location: pod } satisfies InventoryAvailability)
      }
    }
  ]
}
