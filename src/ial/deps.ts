import type { Config } from '../config.ts'
import type { OpenMetalClient } from '../openmetal/client.ts'
import type { ServerDirectory } from './servers.ts'

/** What the IAL routes work with; built once by buildApp. */
export interface IalDeps {
  readonly config: Config
  readonly client: OpenMetalClient
  readonly servers: ServerDirectory
  readonly now: () => number
}
