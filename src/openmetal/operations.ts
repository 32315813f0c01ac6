/**
 * The names of the OpenMetal calls the adapter makes. Metrics label by them, logs and
 * Cycle's error detail name them, and the error catalog decides by them what a refusal
 * means, so they are one closed list: a misspelt or renamed operation does not compile,
 * and a new one must be placed wherever a table is keyed by operation (src/errors.ts).
 * This module imports nothing, so every part of the adapter can import it.
 */
export const OPERATIONS = [
  // credentials, and the organisation they act for
  'exchangeToken', 'getAccountProfile',
  // the public catalog, and the readiness probe (one uncached catalog call)
  'getLocations', 'getProducts', 'getAvailability', 'probe',
  // deployment configurations
  'listConfigurations', 'getConfiguration', 'createConfiguration', 'updateConfiguration',
  // orders
  'listOrders', 'getOrder', 'createOrder',
  // clouds and their nodes
  'listClouds', 'getCloud', 'getCloudStats', 'deleteCloud', 'setPowerState',
  // IP blocks and addresses
  'listPrefixes', 'getPrefixAddresses', 'createIpAddress', 'deleteIpAddress', 'createPrefix', 'deletePrefix',
  // VLANs
  'listVlans', 'assignPrefix', 'unassignPrefix'
] as const

export type Operation = typeof OPERATIONS[number]
