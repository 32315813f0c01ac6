/**
 * Which peers are proxies (TRUST_PROXY) whose X-Forwarded-For is believed for the client
 * address: all, none, the nearest `hops` whatever their address, or those at the given
 * addresses/CIDRs. The rate limits, the connection caps and the logs all ask this.
 */
import proxyAddr from '@fastify/proxy-addr'
import type { Config } from '../config.ts'

export function proxiesTrusted (setting: Config['trustProxy']): (address: string, hop: number) => boolean {
  if (typeof setting === 'boolean') return () => setting
  if (typeof setting === 'number') return (_address, hop) => hop < setting
  return proxyAddr.compile(setting)
}
