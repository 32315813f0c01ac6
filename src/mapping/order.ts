/** A Cycle provision -> the one OpenMetal order that buys it. Pure. */
import type { OrderRequest } from '../generated/openmetal.ts'

export interface ProvisionPlan {
  readonly tag: string
  readonly hostname: string
  readonly hubName: string | undefined
  readonly sku: string
  readonly pod: string
  readonly deploymentConfiguration: string
  readonly sshPublicKey: string | undefined
  readonly sshKeyIds: readonly string[]
}

export function orderRequestFor (plan: ProvisionPlan): OrderRequest {
  return {
    label: plan.tag,
    description: `Cycle server ${plan.hostname.slice(0, 200)}${plan.hubName === undefined ? '' : ` (hub ${plan.hubName.slice(0, 100)})`}`,
    fields: {
      // one Cycle server is one order, which deploys one cloud with one node
      items: [{ hardware_sku: plan.sku, location: plan.pod, type: 'baremetal', quantity: 1, modifications: { deployment_configuration: plan.deploymentConfiguration } }],
      config_options: plan.sshKeyIds.length > 0 ? { public_key_ids: [...plan.sshKeyIds] } : { public_key: plan.sshPublicKey ?? '' }
    }
  }
}
