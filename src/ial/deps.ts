import type { Config } from '../config.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import type { LabelledWrites } from '../openmetal/labelled-writes.ts'
import type { ServerDirectory } from './servers.ts'
import type { IpBlockPurchases } from './ip-blocks.ts'

/** What the IAL routes work with; built once by the IAL scope (index.ts). */
export interface IalDeps {
  readonly config: Config
  readonly client: OpenMetalClient
  /** the writes that must happen at most once: purchases under a lease, creates found again */
  readonly writes: LabelledWrites
  readonly servers: ServerDirectory
  readonly purchases: IpBlockPurchases
  readonly now: () => number
}
