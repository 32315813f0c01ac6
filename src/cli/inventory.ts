#!/usr/bin/env node
/**
 * ial-inventory: everything this adapter bought at OpenMetal (orders, clouds, IPs carrying
 * the Cycle tag), with anything stuck or orphaned flagged, so nothing billable is forgotten.
 * Read-only: it never changes anything.
 *
 *   OPENMETAL_CLIENT_ID=... OPENMETAL_CLIENT_SECRET=... ial-inventory [--hub HUB_ID] [--json]
 *   (or OPENMETAL_API_KEY=...; OPENMETAL_API_URL selects the API, default production)
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createClient } from '../openmetal/create-client.ts'
import { loadConfig, ENVIRONMENT, SANDBOX_API_URL } from '../config.ts'
import type { Credentials } from '../openmetal/auth.ts'
import { STUCK_AFTER_HOURS, inventoryReport, type Finding, type InventoryReport } from '../mapping/inventory.ts'
import { cycleTag } from '../mapping/identifiers.ts'
import { printable } from './terminal.ts'
import { labelOf } from '../openmetal/labelled-writes.ts'
import { failureOf, openMetalOrigin } from './openmetal-origin.ts'
import { parseCommandLine, readCommandLine } from './args.ts'

/** What each finding means and what to do about it (a Record, so a new kind cannot go unexplained). */
export const FINDINGS: Readonly<Record<Finding, string>> = {
  stuck: `an active order still not provisioned after ${STUCK_AFTER_HOURS} hours (it normally takes 15-30 minutes): ask OpenMetal`,
  'manual-setup': 'OpenMetal staff must finish the deployment by hand: slower, not failed',
  'cloud-pending-delete': 'the cloud is being deleted (decommissioned); it bills until OpenMetal has finished',
  'orphaned-cloud': 'a cloud still there (and billing) whose order is inactive or no longer listed',
  'duplicate-order': 'several orders stand for one Cycle server; Cycle knows one of them (normally the oldest)',
  'orphaned-ip': 'an IP address whose Cycle server has no live order any more: release it',
  'empty-block': 'a bought IP block with no address in use: it bills for nothing',
  'orphaned-block': 'a bought IP block whose cloud is gone or being deleted: it still bills; give it back'
}

export const USAGE = `usage: ial-inventory [--hub HUB_ID] [--json] [--api-url URL]

Everything this adapter bought at OpenMetal (orders, clouds, IP addresses and bought IP blocks
that carry the Cycle tag), with anything stuck or orphaned flagged, so nothing billable is
forgotten. Read-only: it changes nothing.

credentials: OPENMETAL_CLIENT_ID + OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY (never printed)

options:
  --hub HUB_ID    only what belongs to this Cycle hub
  --json          the report as JSON
  --api-url URL   the OpenMetal API (default OPENMETAL_API_URL, else ${ENVIRONMENT.OPENMETAL_API_URL.default};
                  the sandbox is ${SANDBOX_API_URL})
  --help          this text

findings (the last column):
${Object.entries(FINDINGS).map(([kind, meaning]) => `  ${kind.padEnd(21)} ${meaning}`).join('\n')}
  INCOMPLETE            OpenMetal did not give a list whole: the report may not show everything

exit code: 0 nothing to look at; 1 at least one finding (INCOMPLETE counts); 2 usage error, no
credentials, a bad configuration, or OpenMetal could not be read.`

function credentialsFromEnv (env: NodeJS.ProcessEnv): Credentials | undefined {
  if (env.OPENMETAL_CLIENT_ID !== undefined && env.OPENMETAL_CLIENT_SECRET !== undefined) return { kind: 'oauth', clientId: env.OPENMETAL_CLIENT_ID, secret: env.OPENMETAL_CLIENT_SECRET }
  if (env.OPENMETAL_API_KEY !== undefined) return { kind: 'api-key', apiKey: env.OPENMETAL_API_KEY }
  return undefined
}

export async function collectInventory (apiUrl: string, credentials: Credentials, hubId: string | undefined, now = Date.now()): Promise<InventoryReport> {
  const client = createClient(loadConfig({ OPENMETAL_API_URL: apiUrl }))
  try {
    const context = { credentials }
    // an order carrying any Cycle tag must be read: skipping it would hide a billable server
    const tagged = (item: unknown): boolean => cycleTag.parse(labelOf(item)) !== undefined
    const [orders, clouds, prefixes] = await Promise.all([client.listOrders(context, { mustRead: tagged }), client.listClouds(context), client.listPrefixes(context)])
    const routed = prefixes.items.filter((prefix) => prefix.fields.prefix_type === 'routed')
    const details = await Promise.all(routed.map(async (prefix) => ({ prefixId: prefix.id, detail: await client.addresses(prefix.id, context) })))
    const addresses = details.flatMap(({ prefixId, detail }) => (detail?.items ?? []).map((address) => ({ prefixId, address })))
    const blocks = routed.map((block, index) => ({ block, addresses: details[index]?.detail?.items ?? [] }))
    const incomplete = [['orders', orders], ['clouds', clouds], ['IP blocks', prefixes]] as const
    return inventoryReport({
      orders: orders.items,
      clouds: clouds.items,
      addresses,
      blocks,
      now,
      hubId,
      incomplete: incomplete.flatMap(([what, listing]) => listing.incomplete === undefined ? [] : [`${what}: ${listing.incomplete}`])
    })
  } finally {
    await client.close()
  }
}

export function renderInventory (report: InventoryReport): string {
  // every cell but the counts comes from OpenMetal, written by anyone in the organisation
  const cell = (text: string, width: number): string => printable(text).padEnd(width)
  const lines = ['SERVERS', 'order        hub                       cycle server              state           cloud        age(h)  findings']
  for (const row of report.servers) {
    lines.push([cell(row.orderId === '' ? '(no order)' : row.orderId, 12), cell(row.hubId, 25), cell(row.cycleServerId, 25), cell(row.state, 15), cell(row.cloudId ?? '-', 12), String(row.ageHours).padStart(6), row.findings.join(',') || '-'].join(' '))
  }
  lines.push('', 'IP ADDRESSES', 'prefix       ip               hub                       cycle server              findings')
  for (const row of report.ips) {
    lines.push([cell(row.prefixId, 12), cell(row.ip ?? '-', 16), cell(row.hubId, 25), cell(row.cycleServerId, 25), row.findings.join(',') || '-'].join(' '))
  }
  lines.push('', 'BOUGHT IP BLOCKS', 'prefix       cidr               hub                       cycle server              cloud        in use  findings')
  for (const row of report.blocks) {
    lines.push([cell(row.prefixId, 12), cell(row.cidr ?? '-', 18), cell(row.hubId, 25), cell(row.cycleServerId, 25), cell(row.cloudId ?? '-', 12), String(row.inUse).padStart(6), row.findings.join(',') || '-'].join(' '))
  }
  for (const reason of report.incomplete) lines.push('', `INCOMPLETE: OpenMetal's list of ${printable(reason)}; what is listed above may not be everything`)
  lines.push('', `${report.servers.length} server(s), ${report.ips.length} IP address(es), ${report.blocks.length} bought IP block(s), ${report.findings} finding(s)`)
  return lines.join('\n')
}

async function main (): Promise<number> {
  const args = readCommandLine({ name: 'ial-inventory', help: 'ial-inventory --help', usage: USAGE }, () => {
    const parsed = parseCommandLine({ options: { hub: { type: 'string' }, json: { type: 'boolean' }, 'api-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
    // a bad origin is named as the operator gave it: --api-url or OPENMETAL_API_URL
    return parsed.values.help === true ? 'help' : { ...parsed, apiUrl: openMetalOrigin(parsed.values['api-url'], process.env) }
  })
  const { apiUrl } = args
  const credentials = credentialsFromEnv(process.env)
  if (credentials === undefined) {
    console.error('ial-inventory: no credentials: set OPENMETAL_CLIENT_ID and OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY (ial-inventory --help for the options)')
    return 2
  }
  try {
    const report = await collectInventory(apiUrl, credentials, args.values.hub)
    console.log(args.values.json === true ? JSON.stringify(report, null, 2) : renderInventory(report))
    return report.findings > 0 ? 1 : 0
  } catch (error) {
    console.error(`ial-inventory: ${printable(failureOf(error, apiUrl, 'nothing was reported', credentials).message)}`)
    return 2
  }
}

// run as a command (also through the npm bin symlink), not when imported by tests
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main()
