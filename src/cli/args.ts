/**
 * The command line of a command, read the same way by every one: node's parseArgs (strict),
 * `--help` prints the usage on stdout and exits 0, a usage error (an unknown option, a bad
 * value) is one line on stderr, with a hint to --help, and exits 2. Never a stack trace.
 * Used by the package's commands and by the dev scripts (scripts/, bench/); it imports
 * nothing of the server.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** The command line makes no sense; the message is one line for the user. */
export class UsageError extends Error {}

export interface Command {
  /** how its messages start: `demo`, `ial-inventory` */
  readonly name: string
  /** how to ask for the help: `npm run demo -- --help` */
  readonly help: string
  /** what --help prints */
  readonly usage: string
}

/** parseArgs, its complaints as a UsageError of one sentence (it adds advice about `--` to some). */
export function parseCommandLine<T extends ParseArgsConfig> (config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new UsageError(message.replace(/\. To specify a positional argument[\s\S]*$/, '').replace(/\s*[\r\n]+\s*/g, ' '))
  }
}

/** A usage error as the command prints it: one line, the message and where the options are listed. */
export function usageErrorText (command: Pick<Command, 'name' | 'help'>, message: string): string {
  return `${command.name}: ${message} (${command.help} for the options)\n`
}

/**
 * For a command run as a script: `read` parses (with parseCommandLine) and checks the values,
 * throwing UsageError for what makes no sense, and returns 'help' when --help was given.
 * Help and usage errors end the process here; anything else `read` throws is not caught.
 */
export function readCommandLine<T> (command: Command, read: () => T | 'help'): T {
  let result: T | 'help'
  try {
    result = read()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(usageErrorText(command, error.message))
    process.exit(2)
  }
  if (result === 'help') {
    process.stdout.write(`${command.usage.trimEnd()}\n`)
    process.exit(0)
  }
  return result
}
