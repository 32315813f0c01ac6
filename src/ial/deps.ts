import type { Config } from '../config.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import type { ServerDirectory } from './servers.ts'
import type { IpBlockPurchases } from './ip-blocks.ts'

/** What the IAL routes work with; built once by the IAL scope (index.ts). */
export interface IalDeps {
  readonly config: Config
  readonly client: OpenMetalClient
  readonly servers: ServerDirectory
  readonly purchases: IpBlockPurchases
  readonly now: () => number
}
