/**
 * Spec shapes the generated schemas do not carry (the adapter never sends or reads them),
 * built from the generated ones where the spec does the same, plus the admin API's bodies.
 */
import { Type, type Static } from 'typebox'
import { CreateImageConfigRequest, CreateIpAddressRequest, OrderResponse, PodLocations } from './generated/openmetal.ts'

/** PATCH /v1/configurations/{id}: the ID again, and only what changes. */
export const UpdateImageConfigRequest = Type.Object({
  id: Type.String(),
  label: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  fields: CreateImageConfigRequest.properties.fields
})

/** PATCH /v1/deployment/network/prefixes/{prefixId}/ip/{ipId}: an address cannot move. */
export const UpdateIpAddressRequest = Type.Omit(CreateIpAddressRequest, ['ip'])

/** PATCH /v1/prefixes/{id} */
export const UpdatePrefixRequest = Type.Object({ label: Type.Optional(Type.String()), description: Type.Optional(Type.String()) })

/** GET /v1/vlans and /v1/vlans/{vlanId}: the spec's VlanResource (components.schemas). */
export const VlanResource = Type.Object({
  id: Type.String(),
  type: Type.String(),
  label: Type.String(),
  description: Type.Optional(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
  is_active: Type.Boolean(),
  created_by: Type.String(),
  fields: Type.Object({
    created_from: Type.Enum(['user', 'omapi', 'central']),
    pod_location: PodLocations,
    vlan_id: Type.Optional(Type.Integer()),
    vlan_uuid: Type.Optional(Type.String()),
    vlan_type: Type.Optional(Type.Enum(['internal', 'routed', 'access'])),
    alterable: Type.Optional(Type.Boolean()),
    cloud_id: Type.Optional(Type.String())
  })
})
export type VlanResource = Static<typeof VlanResource>

export const CreatePublicKeyRequest = Type.Object({
  label: Type.String(),
  description: Type.Optional(Type.String()),
  fields: Type.Object({ key_data: Type.String() })
})

export const PublicKey = Type.Object({
  id: Type.String(),
  type: Type.String(),
  label: Type.String(),
  description: Type.Optional(Type.String()),
  fields: Type.Object({ fingerprint: Type.String(), key_data: Type.String(), organization_id: Type.Union([Type.String(), Type.Null()]) }),
  created_at: Type.String(),
  updated_at: Type.String(),
  created_by: Type.String(),
  created_by_name: Type.String()
})
export type PublicKey = Static<typeof PublicKey>

/** An item of GET /v1/orders: an order with its relation instead of the caller's access. */
export const OrderCollection = Type.Intersect([
  OrderResponse,
  Type.Object({
    relation: Type.Object({
      access: Type.Optional(Type.Object({
        account_id: Type.Optional(Type.String()),
        uuid: Type.Optional(Type.String()),
        type: Type.Optional(Type.String()),
        display_name: Type.Optional(Type.String()),
        role: Type.Optional(Type.String()),
        has_billing: Type.Optional(Type.Boolean())
      }))
    })
  })
])

// Admin API (/_sim) -------------------------------------------------------------------------

/** A fault rule over HTTP: JSON has no RegExp or Infinity, hence pathRegex and times -1/null. */
export const FaultRuleBody = Type.Object({
  method: Type.Optional(Type.String()),
  path: Type.Optional(Type.String()),
  pathRegex: Type.Optional(Type.String()),
  times: Type.Optional(Type.Union([Type.Integer({ minimum: -1 }), Type.Null()])),
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
  body: Type.Optional(Type.Unknown()),
  retryAfter: Type.Optional(Type.Number({ minimum: 0 })),
  delayMs: Type.Optional(Type.Number({ minimum: 0 })),
  answerDelayMs: Type.Optional(Type.Number({ minimum: 0 })),
  drop: Type.Optional(Type.Union([Type.Literal('before'), Type.Literal('after')])),
  malformed: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

export const OrderStatusBody = Type.Object({ provision_status: Type.Union([Type.String(), Type.Null()]) })
export const LockBody = Type.Object({ ms: Type.Optional(Type.Number({ minimum: 0 })) })
export const LatencyBody = Type.Object({ ms: Type.Number({ minimum: 0 }) })
export const DriftBody = Type.Object({ drift: Type.Array(Type.String()) })
