/**
 * Inbound schemas of the IAL routes: the generated request schemas as they are (no
 * stricter than what Cycle sends) with their example (examples.ts) for the OpenAPI document,
 * and every answer wrapped in Cycle's `{data}` envelope.
 */
import { Type, type TSchema } from 'typebox'
import * as IAL from '../generated/cycle-ial.ts'
import { allocateExample, configureExample, decommissionExample, locationsExample, placeholdersIn, provisionExample, provisionStatusExample, releaseExample, restartExample, serverModelsExample, verifyExample } from './examples.ts'

function envelope<T extends TSchema> (data: T) {
  return Type.Object({ data })
}

export const ErrorEnvelope = Type.Object({
  error: Type.Object({
    status: Type.Integer(),
    code: Type.String(),
    title: Type.String(),
    detail: Type.Optional(Type.String()),
    source: Type.Optional(Type.String())
  }),
  data: Type.Null()
})

const errors = { '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }

function doc (tag: string, operationId: string, summary: string) {
  return { tags: [tag], operationId, summary }
}

/**
 * A request schema with its example from examples.ts, which @fastify/swagger moves to the
 * body's `examples` in the OpenAPI document (validation ignores the keyword).
 */
function withExample<T extends TSchema> (body: T, value: unknown) {
  const stand = placeholdersIn(value).map((placeholder) => `${placeholder.text} with the ${placeholder.answer} answer's data.${placeholder.field}`)
  const description = [
    'For the stand-alone OpenMetal simulator (npm run simulator); the README\'s "Local development" sends it with curl.',
    ...(stand.length === 0 ? [] : [`Replace ${stand.join(', ')}.`])
  ].join(' ')
  return { ...body, 'x-examples': { simulator: { summary: 'Cycle\'s request, against the simulator', description, value } } }
}

/** Cycle sends its wrapper with the catalog GETs too; the catalog is public, so any body (or none) is accepted and none is read. */
const catalogBody = (value: unknown) => withExample(Type.Unknown({ description: 'Optional: Cycle sends {auth, request: null}; nothing in it is read.' }), value)

export const verifySchema = { ...doc('Auth', 'verifyAuth', 'Verify OpenMetal credentials'), body: withExample(IAL.VerifyAuthRequest, verifyExample), response: { 200: envelope(IAL.VerifyAuthResponse), ...errors } }
export const locationsSchema = { ...doc('Provider', 'listLocations', 'OpenMetal pods as Cycle locations'), body: catalogBody(locationsExample), response: { 200: envelope(IAL.ListLocationsResponse), ...errors } }
export const serverModelsSchema = { ...doc('Provider', 'listServerModels', 'OpenMetal hardware with stock and pricing'), body: catalogBody(serverModelsExample), response: { 200: envelope(IAL.ListServerModelsResponse), ...errors } }
export const configureSchema = { ...doc('Location', 'configureLocation', 'Acknowledge a location configuration'), body: withExample(IAL.ConfigureLocationRequest, configureExample), response: { 200: envelope(IAL.ConfigureLocationResponse), ...errors } }
export const provisionSchema = { ...doc('Server', 'provisionServer', 'Order one bare-metal server (idempotent per Cycle server)'), body: withExample(IAL.ProvisionServerRequest, provisionExample), response: { 200: envelope(IAL.ProvisionServerResponse), ...errors } }
export const provisionStatusSchema = { ...doc('Server', 'getProvisionServerStatus', 'Provisioning state; GET with a JSON body or POST'), body: withExample(IAL.GetProvisionServerStatusRequest, provisionStatusExample), response: { 200: envelope(IAL.GetProvisionServerStatusResponse), ...errors } }
export const decommissionSchema = { ...doc('Server', 'decommissionServer', 'Delete the server\'s cloud'), body: withExample(IAL.DecommissionServerRequest, decommissionExample), response: { 200: envelope(IAL.DecommissionServerResponse), ...errors } }
export const restartSchema = { ...doc('Server', 'restartServer', 'Reboot the server\'s node'), body: withExample(IAL.RestartServerRequest, restartExample), response: { 200: envelope(IAL.RestartServerResponse), ...errors } }
export const allocateSchema = { ...doc('IP', 'allocateIP', 'Allocate an IPv4 address from the server\'s routed blocks'), body: withExample(IAL.AllocateIPRequest, allocateExample), response: { 200: envelope(IAL.AllocateIPResponse), ...errors } }
export const releaseSchema = { ...doc('IP', 'releaseIP', 'Release an allocated IP address'), body: withExample(IAL.ReleaseIPRequest, releaseExample), response: { 200: envelope(IAL.ReleaseIPResponse), ...errors } }
