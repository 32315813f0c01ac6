/**
 * Inbound schemas of the IAL routes: the generated request schemas as they are (no
 * stricter than what Cycle sends), and every answer wrapped in Cycle's `{data}` envelope.
 */
import { Type, type TSchema } from 'typebox'
import * as IAL from '../generated/cycle-ial.ts'

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

export const verifySchema = { ...doc('Auth', 'verifyAuth', 'Verify OpenMetal credentials'), body: IAL.VerifyAuthRequest, response: { 200: envelope(IAL.VerifyAuthResponse), ...errors } }
export const locationsSchema = { ...doc('Provider', 'listLocations', 'OpenMetal pods as Cycle locations'), response: { 200: envelope(IAL.ListLocationsResponse), ...errors } }
export const serverModelsSchema = { ...doc('Provider', 'listServerModels', 'OpenMetal hardware with stock and pricing'), response: { 200: envelope(IAL.ListServerModelsResponse), ...errors } }
export const configureSchema = { ...doc('Location', 'configureLocation', 'Acknowledge a location configuration'), body: IAL.ConfigureLocationRequest, response: { 200: envelope(IAL.ConfigureLocationResponse), ...errors } }
export const provisionSchema = { ...doc('Server', 'provisionServer', 'Order one bare-metal server (idempotent per Cycle server)'), body: IAL.ProvisionServerRequest, response: { 200: envelope(IAL.ProvisionServerResponse), ...errors } }
export const provisionStatusSchema = { ...doc('Server', 'getProvisionServerStatus', 'Provisioning state; GET with a JSON body or POST'), body: IAL.GetProvisionServerStatusRequest, response: { 200: envelope(IAL.GetProvisionServerStatusResponse), ...errors } }
export const decommissionSchema = { ...doc('Server', 'decommissionServer', 'Delete the server\'s cloud'), body: IAL.DecommissionServerRequest, response: { 200: envelope(IAL.DecommissionServerResponse), ...errors } }
export const restartSchema = { ...doc('Server', 'restartServer', 'Reboot the server\'s node'), body: IAL.RestartServerRequest, response: { 200: envelope(IAL.RestartServerResponse), ...errors } }
export const allocateSchema = { ...doc('IP', 'allocateIP', 'Allocate an IPv4 address from the server\'s routed blocks'), body: IAL.AllocateIPRequest, response: { 200: envelope(IAL.AllocateIPResponse), ...errors } }
export const releaseSchema = { ...doc('IP', 'releaseIP', 'Release an allocated IP address'), body: IAL.ReleaseIPRequest, response: { 200: envelope(IAL.ReleaseIPResponse), ...errors } }
