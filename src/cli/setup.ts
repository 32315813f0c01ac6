#!/usr/bin/env node
/**
 * ial-setup cycleos: the OpenMetal deployment configuration that boots CycleOS from memory
 * (ramdisk mode: a kernel and an initramfs, optional kernel arguments and cloud-init user
 * data), made once and kept in step with what is asked. It is found by its label; none is
 * created (`POST /v1/configurations`), one that differs is updated (`PATCH`, which OpenMetal
 * merges and then validates), one that matches is left alone. The configuration's ID is the
 * last line printed, for OPENMETAL_DEPLOYMENT_CONFIGURATION.
 *
 *   OPENMETAL_CLIENT_ID=... OPENMETAL_CLIENT_SECRET=... ial-setup cycleos --kernel URL --ramdisk URL
 *
 * Exit code: 0 done, 1 OpenMetal refused or failed (or what it holds makes the result
 * ambiguous), 2 usage, credentials or configuration error.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createClient } from '../openmetal/create-client.ts'
import { UsageError, parseCommandLine, usageErrorText } from './args.ts'
import { loadConfig } from '../config.ts'
import type { CreateImageConfigRequest } from '../generated/openmetal.ts'
import type { ConfigurationAnswer } from '../openmetal/answers.ts'
import type { Credentials } from '../openmetal/auth.ts'
import type { OpenMetalClient, TenantContext } from '../openmetal/client.ts'
import { createConfigurationOnce, findLabelled, sources } from '../openmetal/labelled-writes.ts'
import { printable } from './terminal.ts'
import { failureOf, openMetalOrigin } from './openmetal-origin.ts'

export const DEFAULT_LABEL = 'CycleOS'
export const KERNEL_ARGS_MAX = 1024
export const CLOUD_INIT_MAX_BYTES = 64 * 1024
const LABEL_MAX = 64
/** longest look for a configuration whose create answer was lost (the default per-call timeout) */
const RECOVERY_TIMEOUT_MS = 10_000

export const USAGE = `usage: ial-setup cycleos --kernel URL --ramdisk URL [options]

Makes the OpenMetal deployment configuration that boots CycleOS from memory (ramdisk mode:
a kernel and an initramfs), or brings the one with the same label in line with these
options. Running it again with the same options changes nothing. The configuration's ID is
the last line printed: set it as OPENMETAL_DEPLOYMENT_CONFIGURATION (or as
deployment_configuration in a hub's auth.config).

The image must force cloud-init's OpenStack datasource (metadata_urls
http://169.254.169.254, max_wait: 120, apply_network_config: true): see "CycleOS
deployment configuration" in the README.

credentials: OPENMETAL_CLIENT_ID + OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY, from the
environment; never printed. OPENMETAL_API_URL selects the API (default production).

options:
  --kernel URL        the CycleOS kernel, http:// or https:// (required)
  --ramdisk URL       the CycleOS initramfs, http:// or https:// (required)
  --kernel-args S     kernel command-line parameters OpenMetal appends to its defaults
                      (one line, at most 1024 characters)
  --cloud-init FILE   cloud-init user data (UTF-8, at most 64 KiB)
  --label L           the configuration's label, by which it is found again (default ${DEFAULT_LABEL})
  --json              print one JSON line {"id", "action", "label"} instead
  --api-url URL       the OpenMetal API (default: OPENMETAL_API_URL, else production)
  --help              this text

exit code: 0 done (created, updated or unchanged), 1 OpenMetal refused or failed, or the
configurations it holds make the result ambiguous, 2 usage, credentials or configuration error.`

/** The command line or the environment is wrong: exit 2. */
export { UsageError }

/** OpenMetal holds something that this run cannot settle on its own: exit 1. */
export class SetupRefused extends Error {}

/** What the CycleOS configuration is to be. */
export interface CycleOsSpec {
  readonly label: string
  readonly kernel: string
  readonly ramdisk: string
  readonly kernelArgs?: string
  /** cloud-init user data, as read from --cloud-init */
  readonly cloudInit?: string
}

export interface SetupOptions {
  readonly spec: CycleOsSpec
  readonly credentials: Credentials
  readonly apiUrl: string
  readonly json: boolean
}

export interface SetupResult {
  readonly id: string
  readonly label: string
  readonly action: 'created' | 'updated' | 'unchanged'
  /** the fields an update changed */
  readonly changed: readonly string[]
}

type Fields = NonNullable<CreateImageConfigRequest['fields']>

function imageUrl (flag: string, text: string | undefined): string {
  if (text === undefined) throw new UsageError(`${flag} URL is required`)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`${flag} ${text} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag} must be an http:// or https:// URL`)
  if (/\s/.test(text)) throw new UsageError(`${flag} must not contain spaces or line breaks`)
  return text
}

function kernelArgs (text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  if (/[\r\n]/.test(text)) throw new UsageError('--kernel-args must be one line (no carriage return or line feed)')
  if (text.length > KERNEL_ARGS_MAX) throw new UsageError(`--kernel-args is ${text.length} characters; at most ${KERNEL_ARGS_MAX}`)
  if (text.trim() === '') throw new UsageError('--kernel-args must not be empty')
  return text
}

function label (text: string | undefined): string {
  if (text === undefined) return DEFAULT_LABEL
  // OpenMetal documents no rules for labels: short printable ASCII is safe everywhere
  if (!/^[\x20-\x7e]+$/.test(text) || text.trim() === '' || text.length > LABEL_MAX) throw new UsageError(`--label must be 1 to ${LABEL_MAX} printable ASCII characters`)
  return text
}

/** The user data of --cloud-init FILE: readable, UTF-8, at most 64 KiB, not empty. */
export function readCloudInit (file: string): string {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new UsageError(`cannot read --cloud-init ${file}: ${(error as Error).message}`)
  }
  if (bytes.length > CLOUD_INIT_MAX_BYTES) throw new UsageError(`--cloud-init ${file} is ${bytes.length} bytes; at most ${CLOUD_INIT_MAX_BYTES} (64 KiB)`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new UsageError(`--cloud-init ${file} is not UTF-8 text`)
  }
  if (text.trim() === '') throw new UsageError(`--cloud-init ${file} is empty`)
  return text
}

function credentialsFrom (env: Readonly<Record<string, string | undefined>>): Credentials {
  const value = (name: string): string | undefined => env[name] === '' ? undefined : env[name]
  const clientId = value('OPENMETAL_CLIENT_ID')
  const secret = value('OPENMETAL_CLIENT_SECRET')
  const apiKey = value('OPENMETAL_API_KEY')
  if (clientId !== undefined && secret !== undefined) return { kind: 'oauth', clientId, secret }
  if (apiKey !== undefined) return { kind: 'api-key', apiKey }
  if (clientId !== undefined) throw new UsageError('OPENMETAL_CLIENT_ID is set without OPENMETAL_CLIENT_SECRET')
  throw new UsageError('no credentials: set OPENMETAL_CLIENT_ID and OPENMETAL_CLIENT_SECRET, or OPENMETAL_API_KEY')
}

/** The command line as what to set up; UsageError when it makes no sense, 'help' for --help. */
export function parseSetupArgs (argv: string[], env: Readonly<Record<string, string | undefined>>): SetupOptions | 'help' {
  const parsed = parseCommandLine({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      kernel: { type: 'string' },
      ramdisk: { type: 'string' },
      'kernel-args': { type: 'string' },
      'cloud-init': { type: 'string' },
      label: { type: 'string' },
      json: { type: 'boolean', default: false },
      'api-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const { values, positionals } = parsed
  if (values.help) return 'help'
  const [command, ...rest] = positionals
  if (command === undefined) throw new UsageError('what to set up? The command is: ial-setup cycleos')
  if (command !== 'cycleos') throw new UsageError(`unknown command ${command} (the command is: ial-setup cycleos)`)
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0] ?? ''}`)
  const kernelArguments = kernelArgs(values['kernel-args'])
  const spec: CycleOsSpec = {
    label: label(values.label),
    kernel: imageUrl('--kernel', values.kernel),
    ramdisk: imageUrl('--ramdisk', values.ramdisk),
    ...(kernelArguments === undefined ? {} : { kernelArgs: kernelArguments }),
    ...(values['cloud-init'] === undefined ? {} : { cloudInit: readCloudInit(values['cloud-init']) })
  }
  return { spec, credentials: credentialsFrom(env), apiUrl: openMetalOrigin(values['api-url'], env), json: values.json }
}

/** The configuration's fields as the spec asks for them. */
export function wantedFields (spec: CycleOsSpec): Fields {
  return {
    image_ramdisk_kernel: spec.kernel,
    image_ramdisk_ramdisk: spec.ramdisk,
    ...(spec.kernelArgs === undefined ? {} : { kernel_args: spec.kernelArgs }),
    ...(spec.cloudInit === undefined ? {} : { cloud_init: { data: spec.cloudInit } })
  }
}

/**
 * The fields an update must send for the configuration to match the spec (none: it does).
 * SetupRefused when no update can make it match: OpenMetal merges an update into the fields
 * it has, so it can neither turn a disk-image configuration into a ramdisk one nor take
 * away kernel arguments or user data.
 */
export function changeFor (configuration: ConfigurationAnswer, spec: CycleOsSpec): Fields {
  const have = configuration.fields ?? {}
  const which = `configuration ${configuration.id} labelled "${configuration.label}"`
  if (have.image_source !== undefined) throw new SetupRefused(`${which} deploys a disk image (image_source), and a configuration cannot be both a disk image and a ramdisk: pass another --label`)
  const kept = [
    ...(spec.kernelArgs === undefined && have.kernel_args !== undefined ? ['kernel arguments (--kernel-args)'] : []),
    ...(spec.cloudInit === undefined && (have.cloud_init?.data ?? '') !== '' ? ['cloud-init user data (--cloud-init)'] : [])
  ]
  if (kept.length > 0) throw new SetupRefused(`${which} has ${kept.join(' and ')}, which this run does not give, and OpenMetal's update cannot remove: give them again, or pass another --label`)
  const wanted = wantedFields(spec)
  return {
    ...(have.image_ramdisk_kernel === wanted.image_ramdisk_kernel ? {} : { image_ramdisk_kernel: wanted.image_ramdisk_kernel }),
    ...(have.image_ramdisk_ramdisk === wanted.image_ramdisk_ramdisk ? {} : { image_ramdisk_ramdisk: wanted.image_ramdisk_ramdisk }),
    ...(wanted.kernel_args === undefined || have.kernel_args === wanted.kernel_args ? {} : { kernel_args: wanted.kernel_args }),
    ...(wanted.cloud_init === undefined || have.cloud_init?.data === wanted.cloud_init.data ? {} : { cloud_init: wanted.cloud_init })
  }
}

/**
 * The CycleOS configuration: found by its label in OpenMetal's whole list, created when
 * there is none, updated when it differs. Two with the label, or a list that may be
 * incomplete, create nothing: either could make a second one.
 */
export async function setUpCycleOs (client: OpenMetalClient, spec: CycleOsSpec, context: TenantContext): Promise<SetupResult> {
  const labelled = await findLabelled(sources.configurations(client), spec.label, context)
  const [existing, ...others] = labelled
  if (others.length > 0) {
    throw new SetupRefused(`${labelled.length} deployment configurations are labelled "${spec.label}": ${labelled.map((configuration) => configuration.id).join(', ')}. Delete all but one (or pass another --label), then run again`)
  }
  if (existing === undefined) {
    const created = await createConfigurationOnce(client, { label: spec.label, description: 'CycleOS, booted from memory (made by ial-setup cycleos)', fields: wantedFields(spec) }, context, RECOVERY_TIMEOUT_MS)
    return { id: created.id, label: spec.label, action: 'created', changed: [] }
  }
  const change = changeFor(existing, spec)
  const changed = Object.keys(change)
  if (changed.length === 0) return { id: existing.id, label: spec.label, action: 'unchanged', changed }
  await client.updateConfiguration(existing.id, { fields: change }, context)
  return { id: existing.id, label: spec.label, action: 'updated', changed }
}

/** What the run did, for people; the configuration's ID is the last line. */
export function renderResult (result: SetupResult, spec: CycleOsSpec, apiUrl: string): string {
  const what = `deployment configuration "${result.label}" at ${apiUrl}`
  const head = result.action === 'created'
    ? `created ${what}`
    : result.action === 'updated' ? `updated ${what} (changed: ${result.changed.join(', ')})` : `${what} is already as asked: nothing changed`
  return [
    head,
    `  kernel      ${spec.kernel}`,
    `  initramfs   ${spec.ramdisk}`,
    ...(spec.kernelArgs === undefined ? [] : [`  kernel args ${spec.kernelArgs}`]),
    ...(spec.cloudInit === undefined ? [] : [`  cloud-init  ${Buffer.byteLength(spec.cloudInit)} bytes of user data`]),
    'For new servers: OPENMETAL_DEPLOYMENT_CONFIGURATION=<this ID>, or "deployment_configuration" in a hub\'s auth.config.',
    // OpenMetal's, so never a control character on the operator's terminal
    printable(result.id)
  ].join('\n')
}

/** The exit code and the one line saying why, for a run that failed. */
export function setupFailure (error: unknown, apiUrl: string, credentials?: Credentials): { code: 1 | 2, message: string } {
  if (error instanceof SetupRefused) return { code: 1, message: error.message }
  return failureOf(error, apiUrl, 'nothing was changed', credentials)
}

/** A message as one line of output, whatever it holds (parseArgs writes some over several). */
function oneLine (text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ')
}

export interface Io {
  readonly stdout: { write (text: string): unknown }
  readonly stderr: { write (text: string): unknown }
}

/** The whole command; returns the exit code. */
export async function main (argv: string[], env: Readonly<Record<string, string | undefined>>, io: Io): Promise<number> {
  let options: SetupOptions | 'help'
  try {
    options = parseSetupArgs(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.stderr.write(usageErrorText({ name: 'ial-setup', help: 'ial-setup --help' }, oneLine(error.message)))
    return 2
  }
  if (options === 'help') {
    io.stdout.write(`${USAGE}\n`)
    return 0
  }
  const { credentials, spec } = options
  const client = createClient(loadConfig({ OPENMETAL_API_URL: options.apiUrl }))
  try {
    const result = await setUpCycleOs(client, spec, { credentials })
    const json = { id: result.id, action: result.action, label: result.label, ...(result.action === 'updated' ? { changed: result.changed } : {}) }
    io.stdout.write(`${options.json ? JSON.stringify(json) : renderResult(result, spec, options.apiUrl)}\n`)
    return 0
  } catch (error) {
    const failure = setupFailure(error, options.apiUrl, credentials)
    io.stderr.write(`ial-setup: ${printable(oneLine(failure.message))}\n`)
    return failure.code
  } finally {
    await client.close()
  }
}

// run as a command (also through the npm bin symlink), not when imported by tests
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr })
}
