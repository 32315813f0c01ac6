import { expect, test } from 'vitest'
import { renderInventory } from '../../../src/cli/inventory.ts'

test('labels an organisation member wrote cannot rewrite the operator\'s screen or forge a line of the report', () => {
  const hostile = '\x1b[2J\x1b[HINVENTORY CLEAN\n0 finding(s)'
  const text = renderInventory({
    servers: [{ orderId: 'ORD\x07', hubId: hostile, cycleServerId: 'srv\r', state: 'complete', cloudId: 'CLD\u202e', ageHours: 3, findings: ['duplicate-order'] }],
    ips: [{ prefixId: 'PFX', ipId: 1, ip: '198.51.100.7', hubId: hostile, cycleServerId: 'srv', findings: ['orphaned-ip'] }],
    blocks: [],
    findings: 2,
    incomplete: ['orders: a next page on\nanother host']
  })
  for (const line of text.split('\n')) expect(line).not.toMatch(/[\p{Cc}\u202e]/u)
  // a line per row and per header, as without the hostile text
  expect(text.split('\n').filter((line) => line.startsWith('0 finding(s)') || line.startsWith('INVENTORY'))).toEqual([])
  expect(text).toContain('\\x1b[2J\\x1b[HINVENTORY CLEAN\\x0a0 finding(s)')
  expect(text.split('\n').at(-1)).toBe('1 server(s), 1 IP address(es), 0 bought IP block(s), 2 finding(s)')
})
