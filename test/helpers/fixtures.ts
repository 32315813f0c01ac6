/** Values the tests, the demo and the bench share, so each is written once. */

/** The SSH public key the adapter is configured with (OPENMETAL_SSH_PUBLIC_KEY) wherever one is needed. */
export const SSH_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q test@cycle'

/** Another one: a hub's own key in its auth.config, to tell it from the operator's. */
export const HUB_SSH_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl hub@cycle'

/** Every IAL endpoint, with the method (or methods) Cycle calls it with. */
export const IAL_ENDPOINTS: Array<['GET' | 'POST', string]> = [
  ['POST', '/v1/auth/verify'],
  ['GET', '/v1/infrastructure/provider/locations'],
  ['GET', '/v1/infrastructure/provider/server-models'],
  ['POST', '/v1/location/configure'],
  ['POST', '/v1/infrastructure/server/provision'],
  ['GET', '/v1/infrastructure/server/provision-status'],
  ['POST', '/v1/infrastructure/server/provision-status'],
  ['POST', '/v1/infrastructure/server/decommission'],
  ['POST', '/v1/infrastructure/server/restart'],
  ['POST', '/v1/infrastructure/ip/allocate'],
  ['POST', '/v1/infrastructure/ip/release']
]
