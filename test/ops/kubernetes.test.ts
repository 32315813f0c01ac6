/**
 * deploy/kubernetes: the manifests agree with the server they run, and with how it may be
 * scaled. The base (deploy/kubernetes, which names deploy/kubernetes/base) runs ONE replica
 * coordinating its purchases in-process; overlays/ha runs 2 to 10 coordinated through
 * PostgreSQL. Both are built here as kustomize would (resources, JSON 6902 patches, images, the
 * ConfigMap generator that merges the operator's provisioning.env; checked against `kubectl
 * kustomize` when kubectl is installed). Probe paths are routes that answer in time, the port is
 * the server's, the ConfigMap holds every variable the loader reads with its default and
 * nothing else, the build refuses to go on without the provisioning settings, a pod gets longer
 * to stop than the server takes to drain, the Service, autoscaler and disruption budget all
 * find the Deployment's pods, the database's address only ever comes from a Secret, the
 * ial-inventory CronJob runs the image's command with its Secret's credentials, and Prometheus
 * finds /metrics (scrape annotations, the ServiceMonitor of deploy/kubernetes/monitoring).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { startSimulator, type Simulator } from '@cycle-ial-openmetal/openmetal-simulator'
import { buildApp } from '../../src/app.ts'
import { ConfigError, ENVIRONMENT, loadConfig } from '../../src/config.ts'
import { provisioningSettings } from '../../src/mapping/hub-config.ts'
import { copiesOf, parseDockerfile, readRepoFile, root, runNode, workdirOf } from './support.ts'
import { SSH_PUBLIC_KEY } from '../helpers/fixtures.ts'

interface Metadata { name: string, labels?: Record<string, string> }
interface Manifest { apiVersion: string, kind: string, metadata: Metadata }
interface Probe { httpGet: { path: string, port: string | number, scheme?: string }, timeoutSeconds?: number, periodSeconds?: number }
interface KeyRef { name: string, key: string, optional?: boolean }
interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef?: KeyRef, configMapKeyRef?: KeyRef } }
interface SecurityContext { allowPrivilegeEscalation?: boolean, readOnlyRootFilesystem?: boolean, runAsNonRoot?: boolean, capabilities?: { drop?: string[] } }
interface PodSecurityContext { runAsNonRoot?: boolean, runAsUser?: number, runAsGroup?: number, seccompProfile?: { type: string } }
interface Container {
  name: string
  image: string
  command?: string[]
  args?: string[]
  workingDir?: string
  ports: Array<{ name?: string, containerPort: number }>
  env?: EnvVar[]
  envFrom?: Array<{ configMapRef?: { name: string } }>
  readinessProbe: Probe
  livenessProbe: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] }, sleep?: { seconds: number } } }
  resources: { requests?: Record<string, string>, limits?: Record<string, string> }
  securityContext?: SecurityContext
}
interface PodSpec {
  terminationGracePeriodSeconds: number
  automountServiceAccountToken?: boolean
  enableServiceLinks?: boolean
  restartPolicy?: string
  securityContext?: PodSecurityContext
  containers: Container[]
}
interface Deployment extends Manifest {
  spec: {
    replicas?: number
    strategy?: { type: string, rollingUpdate?: { maxSurge?: number | string, maxUnavailable?: number | string } }
    selector: { matchLabels: Record<string, string> }
    template: { metadata: { labels: Record<string, string>, annotations?: Record<string, string> }, spec: PodSpec }
  }
}
interface CronJob extends Manifest {
  spec: {
    schedule: string
    concurrencyPolicy?: string
    startingDeadlineSeconds?: number
    successfulJobsHistoryLimit?: number
    failedJobsHistoryLimit?: number
    jobTemplate: { spec: { backoffLimit?: number, activeDeadlineSeconds?: number, template: { metadata: { labels: Record<string, string> }, spec: PodSpec } } }
  }
}
interface ServiceMonitor extends Manifest { spec: { selector: { matchLabels: Record<string, string> }, endpoints: Array<{ port?: string, path?: string }> } }
interface Service extends Manifest { spec: { selector: Record<string, string>, ports: Array<{ name?: string, port: number, targetPort: string | number }> } }
interface Hpa extends Manifest { spec: { scaleTargetRef: { apiVersion: string, kind: string, name: string }, minReplicas: number, maxReplicas: number, metrics: Array<{ type: string, resource?: { name: string } }> } }
interface Pdb extends Manifest { spec: { minAvailable?: number, selector: { matchLabels: Record<string, string> } } }
interface ConfigMap extends Manifest { data: Record<string, string> }
interface PatchTarget { group?: string, version?: string, kind?: string, name?: string }
interface Kustomization extends Manifest {
  resources: string[]
  patches?: Array<{ path: string, target: PatchTarget }>
  images?: Array<{ name: string, newName?: string, newTag?: string }>
  configMapGenerator?: Array<{ name: string, behavior?: string, envs?: string[], literals?: string[] }>
}
interface Operation { op: string, path: string, value?: unknown }

// --- the files ----------------------------------------------------------------------------------

/** every YAML file under deploy/, subfolders included, as repository paths */
const yamlFiles = readdirSync(join(root, 'deploy'), { recursive: true, encoding: 'utf8' })
  .filter((file) => /\.ya?ml$/.test(file))
  .map((file) => posix.join('deploy', file.split('\\').join('/')))
  .sort()

const parsed = new Map(yamlFiles.map((file) => {
  const documents = parseAllDocuments(readRepoFile(file))
  if (!Array.isArray(documents)) throw new Error(`${file}: not YAML`)
  for (const document of documents) if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`)
  return [file, documents.map((document) => document.toJS() as unknown)]
}))

function documentsOf (file: string): unknown[] {
  const documents = parsed.get(file)
  if (documents === undefined) throw new Error(`${file}: no such YAML file`)
  return documents
}

function isKustomizationFolder (path: string): boolean {
  return existsSync(join(root, path, 'kustomization.yaml'))
}

function kustomizationOf (folder: string): Kustomization {
  const [kustomization] = documentsOf(`${folder}/kustomization.yaml`) as Kustomization[]
  if (kustomization === undefined) throw new Error(`${folder}: empty kustomization`)
  return kustomization
}

/** What each YAML file is: a kustomization, or a resource or patch one names (a file may be only one). */
const roles = new Map<string, string>()
for (const file of yamlFiles.filter((path) => posix.basename(path) === 'kustomization.yaml')) {
  const folder = posix.dirname(file)
  const claim = (path: string, role: string): void => {
    const other = roles.get(path)
    if (other !== undefined && other !== role) throw new Error(`${path}: both ${other} and ${role}`)
    roles.set(path, role)
  }
  claim(file, 'kustomization')
  const kustomization = kustomizationOf(folder)
  for (const resource of kustomization.resources) {
    const path = posix.join(folder, resource)
    if (!isKustomizationFolder(path)) claim(path, 'resource')
  }
  for (const patch of kustomization.patches ?? []) claim(posix.join(folder, patch.path), 'patch')
}

// --- a small kustomize: resources, JSON 6902 patches, images -----------------------------------

function childOf (node: unknown, key: string): unknown {
  if (Array.isArray(node)) return /^\d+$/.test(key) ? node[Number(key)] : undefined
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined
}

/** RFC 6902 add, remove and replace (the operations the overlays use) on a copy of `document`. */
function applyOperations<T> (document: T, operations: readonly Operation[]): T {
  const copy = structuredClone(document)
  for (const { op, path, value } of operations) {
    if (!['add', 'remove', 'replace'].includes(op)) throw new Error(`${op} ${path}: this applier knows add, remove and replace`)
    const keys = path.split('/').slice(1).map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'))
    const last = keys.pop()
    if (!path.startsWith('/') || last === undefined) throw new Error(`${op} ${path}: not a path into the document`)
    const parent = keys.reduce<unknown>((node, key) => childOf(node, key), copy)
    if (Array.isArray(parent)) {
      const index = last === '-' && op === 'add' ? parent.length : Number(last)
      if (!Number.isInteger(index) || index < 0 || index > parent.length - (op === 'add' ? 0 : 1)) throw new Error(`${op} ${path}: no such index`)
      if (op === 'add') parent.splice(index, 0, structuredClone(value))
      else if (op === 'remove') parent.splice(index, 1)
      else parent[index] = structuredClone(value)
    } else if (typeof parent === 'object' && parent !== null) {
      const record = parent as Record<string, unknown>
      if (op !== 'add' && !Object.hasOwn(record, last)) throw new Error(`${op} ${path}: nothing there`)
      if (op === 'remove') Reflect.deleteProperty(record, last)
      else record[last] = structuredClone(value)
    } else {
      throw new Error(`${op} ${path}: its parent does not exist`)
    }
  }
  return copy
}

function operationsOf (file: string): Operation[] {
  const [operations] = documentsOf(file)
  if (!Array.isArray(operations)) throw new Error(`${file}: not a JSON 6902 patch (a list of operations)`)
  return operations as Operation[]
}

function targets (manifest: Manifest, target: PatchTarget): boolean {
  const [group, version] = manifest.apiVersion.includes('/') ? manifest.apiVersion.split('/') : ['', manifest.apiVersion]
  return (target.group ?? '') === group && (target.version === undefined || target.version === version) &&
    (target.kind === undefined || target.kind === manifest.kind) && (target.name === undefined || target.name === manifest.metadata.name)
}

/** The pod specs of a Deployment or CronJob (where kustomize's images: applies), or none. */
function podSpecsOf (manifest: Manifest): PodSpec[] {
  if (manifest.kind === 'Deployment') return [(manifest as Deployment).spec.template.spec]
  if (manifest.kind === 'CronJob') return [(manifest as CronJob).spec.jobTemplate.spec.template.spec]
  return []
}

function withImages (manifest: Manifest, images: NonNullable<Kustomization['images']>): Manifest {
  const copy = structuredClone(manifest)
  for (const pod of podSpecsOf(copy)) {
    for (const container of pod.containers) {
      const [, name = '', tag = ''] = /^([^:@]+)((?::|@).*)?$/.exec(container.image) ?? []
      const image = images.find((candidate) => candidate.name === name)
      if (image !== undefined) container.image = `${image.newName ?? name}${image.newTag === undefined ? tag : `:${image.newTag}`}`
    }
  }
  return copy
}

/**
 * Files a build reads that are not committed (provisioning.env): their text, or undefined for
 * "not there". A file named here is never read from the checkout, where a developer may keep
 * one of their own.
 */
type LocalFiles = Readonly<Record<string, string | undefined>>

/** An env file as kustomize reads it: KEY=value lines taken literally, # comments, blank lines. */
function parseEnvFile (text: string, file: string): Record<string, string> {
  const entries: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '')
    if (line === '' || line.startsWith('#')) continue
    const equals = line.indexOf('=')
    // kustomize would take KEY alone from the environment of whoever builds: never wanted here
    if (equals < 1) throw new Error(`${file}: "${line}" is not KEY=value`)
    const key = line.slice(0, equals)
    if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key)) throw new Error(`${file}: "${key}" is not a variable name`)
    entries[key] = line.slice(equals + 1)
  }
  return entries
}

function envFileOf (path: string, local: LocalFiles): Record<string, string> {
  const text = Object.hasOwn(local, path) ? local[path] : existsSync(join(root, path)) ? readRepoFile(path) : undefined
  // what kustomize says, in substance: the build stops and names the file
  if (text === undefined) throw new Error(`env source files: [${posix.basename(path)}]: ${path}: no such file or directory`)
  return parseEnvFile(text, path)
}

/** configMapGenerator with behavior: merge over a ConfigMap of the kustomization's resources (the only kind the base uses). */
function generateConfigMaps (folder: string, manifests: Manifest[], generators: NonNullable<Kustomization['configMapGenerator']>, local: LocalFiles): Manifest[] {
  let result = manifests
  for (const generator of generators) {
    if (generator.behavior !== 'merge' || generator.literals !== undefined) throw new Error(`${folder}: this kustomize merges env files into an existing ConfigMap, nothing else`)
    const data = Object.assign({}, ...(generator.envs ?? []).map((file) => envFileOf(posix.join(folder, file), local))) as Record<string, string>
    const targets = result.filter((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name === generator.name)
    if (targets.length !== 1) throw new Error(`${folder}: the generator ${generator.name} merges into ${targets.length} ConfigMaps`)
    result = result.map((manifest) => targets.includes(manifest) ? { ...manifest, data: { ...(manifest as ConfigMap).data, ...data } } as ConfigMap : manifest)
  }
  return result
}

/** What `kubectl apply -k folder` would send, with `local` standing for the files not committed. */
function build (folder: string, local: LocalFiles): Manifest[] {
  const kustomization = kustomizationOf(folder)
  let manifests = kustomization.resources.flatMap((resource) => {
    const path = posix.join(folder, resource)
    return isKustomizationFolder(path) ? build(path, local) : documentsOf(path) as Manifest[]
  })
  manifests = generateConfigMaps(folder, manifests, kustomization.configMapGenerator ?? [], local)
  for (const patch of kustomization.patches ?? []) {
    const operations = operationsOf(posix.join(folder, patch.path))
    if (!manifests.some((manifest) => targets(manifest, patch.target))) throw new Error(`${folder}: the patch ${patch.path} matches nothing`)
    manifests = manifests.map((manifest) => targets(manifest, patch.target) ? applyOperations(manifest, operations) : manifest)
  }
  return manifests.map((manifest) => withImages(manifest, kustomization.images ?? []))
}

function all<T extends Manifest> (manifests: readonly Manifest[], kind: string): T[] {
  return manifests.filter((manifest) => manifest.kind === kind) as T[]
}

function only<T extends Manifest> (manifests: readonly Manifest[], kind: string): T {
  const found = all<T>(manifests, kind)
  expect(found, kind).toHaveLength(1)
  return found[0] as T
}

function containerOf (manifests: readonly Manifest[]): Container {
  return only<Deployment>(manifests, 'Deployment').spec.template.spec.containers[0] as Container
}

/** The literal environment the adapter's container gets: its ConfigMaps' data, then its env values. */
function environmentOf (manifests: readonly Manifest[]): Record<string, string> {
  const container = containerOf(manifests)
  const environment: Record<string, string> = {}
  for (const reference of container.envFrom ?? []) {
    const map = all<ConfigMap>(manifests, 'ConfigMap').find((candidate) => candidate.metadata.name === reference.configMapRef?.name)
    Object.assign(environment, map?.data)
  }
  for (const variable of container.env ?? []) if (variable.value !== undefined) environment[variable.name] = variable.value
  return environment
}

/** Every variable name the container is given, literal or from a Secret. */
function variablesOf (manifests: readonly Manifest[]): string[] {
  return [...new Set([...Object.keys(environmentOf(manifests)), ...(containerOf(manifests).env ?? []).map((variable) => variable.name)])].sort()
}

const baseFolder = 'deploy/kubernetes/base'
const haFolder = 'deploy/kubernetes/overlays/ha'
const monitoringFolder = 'deploy/kubernetes/monitoring'

// --- the provisioning settings: the operator's provisioning.env, made from the committed example ---

const provisioningFile = `${baseFolder}/provisioning.env`
const provisioningExample = readRepoFile(`${provisioningFile}.example`)
/** A value the example leaves for the operator to write: <what to write>. */
const MARKER = /^<[^>]+>$/
/** What an operator writes in place of the example's markers. */
const operatorValues: Readonly<Record<string, string>> = {
  OPENMETAL_DEPLOYMENT_CONFIGURATION: '0a7Y8ABym5',
  OPENMETAL_SSH_PUBLIC_KEY: SSH_PUBLIC_KEY
}

/** The example with the markers `values` has a value for replaced by it (the others left as they are). */
function filledIn (example: string, values: Readonly<Record<string, string>>): string {
  return example.split('\n').map((line) => {
    const [, key = '', value = ''] = /^([A-Z0-9_]+)=(.*)$/.exec(line) ?? []
    if (key === '' || !MARKER.test(value)) return line
    const replacement = values[key]
    return replacement === undefined ? line : `${key}=${replacement}`
  }).join('\n')
}

const operatorFiles: LocalFiles = { [provisioningFile]: filledIn(provisioningExample, operatorValues) }
const top = build('deploy/kubernetes', operatorFiles)
const base = build(baseFolder, operatorFiles)
const ha = build(haFolder, operatorFiles)
const monitoring = build(monitoringFolder, {})

const deployment = only<Deployment>(base, 'Deployment')
const pod = deployment.spec.template.spec
const container = pod.containers[0] as Container
const configMap = only<ConfigMap>(base, 'ConfigMap')
const defaultPort = Number(ENVIRONMENT.PORT.default)
const defaults: Readonly<Record<string, { readonly default: string } | undefined>> = ENVIRONMENT
const databaseSecret = { name: 'cycle-ial-openmetal-database', key: 'url' }

/** The variables the loader reads that the ConfigMap leaves out, each for its reason. */
const NOT_IN_CONFIGMAP: Readonly<Record<string, string>> = {
  DATABASE_URL: 'it carries the database\'s password: overlays/ha takes it from a Secret',
  TLS_CERT_FILE: 'a path to a file mounted from a Secret: TLS ends at the ingress unless the operator mounts one and sets both',
  TLS_KEY_FILE: 'the private key\'s path, with TLS_CERT_FILE'
}

/** The value the pod runs with: the ConfigMap's (or env's), or the loader's default when unset or empty. */
function effective (name: string, manifests: readonly Manifest[] = base): string | undefined {
  const value = environmentOf(manifests)[name]
  return value === undefined || value.trim() === '' ? defaults[name]?.default : value
}

describe('the files', () => {
  test('every YAML file under deploy/kubernetes is a kustomization, or one resource or one patch a kustomization names; deploy/prometheus holds plain Prometheus files', () => {
    const kinds = Object.fromEntries(yamlFiles.map((file) => {
      const role = roles.get(file) ?? 'named by no kustomization'
      if (role === 'patch') return [file, `patch: ${operationsOf(file).map((operation) => `${operation.op} ${operation.path}`).join(', ')}`]
      const documents = documentsOf(file) as Manifest[]
      expect(documents, file).toHaveLength(1)
      return [file, role === 'named by no kustomization' ? role : `${documents[0]?.apiVersion} ${documents[0]?.kind}`]
    }))
    const kustomization = 'kustomize.config.k8s.io/v1beta1 Kustomization'
    expect(kinds).toEqual({
      'deploy/kubernetes/kustomization.yaml': kustomization,
      'deploy/kubernetes/base/configmap.yaml': 'v1 ConfigMap',
      'deploy/kubernetes/base/deployment.yaml': 'apps/v1 Deployment',
      'deploy/kubernetes/base/inventory-cronjob.yaml': 'batch/v1 CronJob',
      'deploy/kubernetes/base/kustomization.yaml': kustomization,
      'deploy/kubernetes/base/service.yaml': 'v1 Service',
      'deploy/kubernetes/monitoring/kustomization.yaml': kustomization,
      'deploy/kubernetes/monitoring/prometheus-rule.yaml': 'monitoring.coreos.com/v1 PrometheusRule',
      'deploy/kubernetes/monitoring/service-monitor.yaml': 'monitoring.coreos.com/v1 ServiceMonitor',
      'deploy/kubernetes/overlays/ha/configmap-patch.yaml': 'patch: replace /data/COORDINATION_REQUIRED',
      'deploy/kubernetes/overlays/ha/deployment-patch.yaml': 'patch: remove /spec/replicas, replace /spec/strategy, add /spec/template/spec/containers/0/env',
      'deploy/kubernetes/overlays/ha/hpa.yaml': 'autoscaling/v2 HorizontalPodAutoscaler',
      'deploy/kubernetes/overlays/ha/kustomization.yaml': kustomization,
      'deploy/kubernetes/overlays/ha/pdb.yaml': 'policy/v1 PodDisruptionBudget',
      // plain Prometheus (no kustomization): test/ops/monitoring.test.ts checks them
      'deploy/prometheus/rules.test.yaml': 'named by no kustomization',
      'deploy/prometheus/rules.yaml': 'named by no kustomization'
    })
  })

  test('beside the YAML, deploy/ holds the provisioning settings\' example and the .gitignore that keeps the real ones out of this repository', () => {
    const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'deploy'], { cwd: root, encoding: 'utf8' }).split('\n').filter((file) => file !== '')
    expect(listed.filter((file) => !/\.ya?ml$/.test(file)).sort()).toEqual([`${baseFolder}/.gitignore`, `${provisioningFile}.example`])
    // so no checkout ships one, and `kubectl apply -k` stops until the operator has made theirs
    expect(spawnSync('git', ['check-ignore', '--quiet', provisioningFile], { cwd: root }).status, `${provisioningFile} is ignored`).toBe(0)
    expect(execFileSync('git', ['ls-files', provisioningFile], { cwd: root, encoding: 'utf8' })).toBe('')
  })

  test('deploy/kubernetes is the base and nothing more; the ha overlay is built on the same base', () => {
    expect(kustomizationOf('deploy/kubernetes').resources).toEqual(['base'])
    expect(top).toEqual(base)
    const resources = kustomizationOf(haFolder).resources.map((resource) => posix.join(haFolder, resource))
    expect(resources).toContain(baseFolder)
    // kustomize refuses a base whose folder holds the overlay ("cycle detected")
    for (const resource of resources.filter(isKustomizationFolder)) expect(`${haFolder}/`.startsWith(`${resource}/`), resource).toBe(false)
  })

  test('the small kustomize here applies JSON 6902 add, remove and replace as RFC 6902 says, and refuses what it cannot', () => {
    const document = { spec: { replicas: 2, list: ['a', 'b'], 'x/y': 1 } }
    expect(applyOperations(document, [
      { op: 'remove', path: '/spec/replicas' },
      { op: 'add', path: '/spec/list/1', value: 'c' },
      { op: 'add', path: '/spec/list/-', value: 'd' },
      { op: 'replace', path: '/spec/x~1y', value: 2 },
      { op: 'add', path: '/spec/env', value: [{ name: 'A' }] }
    ])).toEqual({ spec: { list: ['a', 'c', 'b', 'd'], 'x/y': 2, env: [{ name: 'A' }] } })
    expect(document.spec.replicas).toBe(2)
    expect(() => applyOperations(document, [{ op: 'remove', path: '/spec/missing' }])).toThrow(/nothing there/)
    expect(() => applyOperations(document, [{ op: 'replace', path: '/spec/list/2', value: 'x' }])).toThrow(/no such index/)
    expect(() => applyOperations(document, [{ op: 'add', path: '/nowhere/deep', value: 1 }])).toThrow(/parent/)
    expect(() => applyOperations(document, [{ op: 'move', path: '/spec/list' }])).toThrow(/knows/)
  })

  const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 }).status === 0
  test.skipIf(!kubectl)('kubectl kustomize builds the same manifests as the small kustomize here, and stops the same way without provisioning.env', () => {
    const byKind = (manifests: readonly Manifest[]): Manifest[] => [...manifests].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`))
    // a copy of deploy/ with the operator's provisioning.env (the checkout has none, or a developer's own)
    const scratch = mkdtempSync(join(tmpdir(), 'ial-kustomize-'))
    const kustomize = (folder: string): ReturnType<typeof spawnSync> => spawnSync('kubectl', ['kustomize', join(scratch, folder)], { encoding: 'utf8', timeout: 30_000 })
    try {
      cpSync(join(root, 'deploy'), join(scratch, 'deploy'), { recursive: true })
      writeFileSync(join(scratch, provisioningFile), operatorFiles[provisioningFile] ?? '')
      for (const [folder, built] of [['deploy/kubernetes', top], [baseFolder, base], [haFolder, ha], [monitoringFolder, monitoring]] as const) {
        const result = kustomize(folder)
        expect(result.status, `${folder}: ${String(result.stderr)}`).toBe(0)
        const real = parseAllDocuments(String(result.stdout))
        if (!Array.isArray(real)) throw new Error(`${folder}: kubectl kustomize printed no YAML`)
        expect(byKind(real.map((document) => document.toJS() as Manifest)), folder).toEqual(byKind(built))
      }
      rmSync(join(scratch, provisioningFile))
      for (const folder of ['deploy/kubernetes', baseFolder, haFolder]) {
        const result = kustomize(folder)
        expect(result.status, folder).not.toBe(0)
        expect(String(result.stderr), folder).toContain(`env source files: [provisioning.env]: evalsymlink failure on '${join(scratch, provisioningFile)}'`)
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  })

  test('the image is pinned to a tag, and the base kustomization\'s image override names it; the overlay inherits it', () => {
    const [raw] = documentsOf(`${baseFolder}/deployment.yaml`) as Deployment[]
    const image = raw?.spec.template.spec.containers[0]?.image ?? ''
    expect(image).toMatch(/^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/)
    expect(image).not.toMatch(/:latest$/)
    const images = kustomizationOf(baseFolder).images ?? []
    expect(images.map((override) => override.name)).toContain(image.split(/[:@]/)[0])
    for (const override of images) expect(override.newTag ?? '').not.toBe('latest')
    for (const folder of ['deploy/kubernetes', haFolder]) expect(kustomizationOf(folder).images, `${folder} sets no image of its own`).toBeUndefined()
    expect(containerOf(ha).image).toBe(container.image)
  })
})

describe('the base: one replica, coordinating in-process', () => {
  test('exactly one Deployment, with replicas 1, and no autoscaler or disruption budget', () => {
    expect(all(base, 'Deployment')).toHaveLength(1)
    expect(deployment.spec.replicas).toBe(1)
    expect(all(base, 'HorizontalPodAutoscaler')).toEqual([])
    // minAvailable 1 on a single replica would block every node drain
    expect(all(base, 'PodDisruptionBudget')).toEqual([])
  })

  test('a rollout stops the old pod before the new one starts: two uncoordinated pods never serve together', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' })
  })

  test('no coordinator is required and none is named, so the one replica starts on its own', () => {
    expect(variablesOf(base)).not.toContain('DATABASE_URL')
    expect(effective('COORDINATION_REQUIRED')).not.toBe('true')
  })
})

describe('the Deployment runs the server as it listens and answers', () => {
  const upstream = { server: undefined as Server | undefined, sockets: new Set<Socket>(), url: '' }
  beforeAll(async () => {
    // an OpenMetal that accepts connections and never answers: the slowest /readyz there is
    const server = createServer((socket) => {
      upstream.sockets.add(socket)
      socket.on('close', () => upstream.sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    upstream.server = server
    upstream.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(async () => {
    for (const socket of upstream.sockets) socket.destroy()
    await new Promise<void>((resolve) => upstream.server?.close(() => resolve()))
  })

  test('the container port is the server\'s PORT, named for the probes and the Service', () => {
    expect(container.ports).toHaveLength(1)
    expect(container.ports[0]).toEqual({ name: 'http', containerPort: defaultPort, protocol: 'TCP' })
    expect(Number(effective('PORT'))).toBe(defaultPort)
    // a pod must listen beyond loopback, or the kubelet's probes and the Service never reach it
    expect(['0.0.0.0', '::']).toContain(effective('HOST'))
    const service = only<Service>(base, 'Service')
    expect(service.spec.ports.map((port) => port.targetPort)).toEqual(['http'])
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector)
  })

  test('the probes are the server\'s routes: liveness /healthz answers 200, readiness /readyz answers within the probe timeout even when OpenMetal hangs', async () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' })
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' })
    const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', OPENMETAL_API_URL: upstream.url }))
    try {
      expect((await app.inject({ method: 'GET', url: container.livenessProbe.httpGet.path })).statusCode).toBe(200)
      const started = performance.now()
      const ready = await app.inject({ method: 'GET', url: container.readinessProbe.httpGet.path })
      const elapsed = performance.now() - started
      expect(ready.statusCode).toBe(503)
      expect(ready.json()).toMatchObject({ status: 'not-ready', reason: expect.any(String) })
      // a probe that times out first reports nothing useful; leave a second of margin
      expect(elapsed + 1000).toBeLessThan((container.readinessProbe.timeoutSeconds ?? 1) * 1000)
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect(probe.timeoutSeconds ?? 1).toBeLessThanOrEqual(probe.periodSeconds ?? 10)
      }
    } finally {
      await app.close()
    }
  })

  test('a stopping pod gets longer than its preStop pause plus the server\'s drain', () => {
    const preStop = container.lifecycle?.preStop
    const pauseSeconds = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command.join(' ').match(/^sleep (\d+)$/)?.[1])
    expect(pauseSeconds).toBeGreaterThan(0)
    const graceMs = pod.terminationGracePeriodSeconds * 1000
    expect(graceMs).toBeGreaterThan(Number(ENVIRONMENT.SHUTDOWN_GRACE_MS.default))
    expect(graceMs).toBeGreaterThan(pauseSeconds * 1000 + Number(effective('SHUTDOWN_GRACE_MS')))
  })

  test('non-root, read-only root filesystem, no privilege escalation, bounded resources', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true)
    // runAsNonRoot needs a numeric user to verify an image whose USER is a name (node = 1000)
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0)
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
    expect(container.resources.limits?.memory).toMatch(/^\d+(Mi|Gi)$/)
    // the scheduler reserves what a busy replica holds: the benchmark's RSS target (150 MB) fits in the request
    const mebibytes = (quantity: string | undefined): number => Number(/^(\d+)/.exec(quantity ?? '')?.[1] ?? 0) * (quantity?.endsWith('Gi') === true ? 1024 : 1)
    expect(mebibytes(container.resources.requests?.memory) * 1.048576).toBeGreaterThanOrEqual(150)
    expect(mebibytes(container.resources.limits?.memory)).toBeGreaterThan(mebibytes(container.resources.requests?.memory))
  })
})

describe('the ConfigMap', () => {
  test.each([['the base', base], ['overlays/ha', ha]])('%s: the Deployment takes its environment from it', (_name, manifests) => {
    expect(containerOf(manifests).envFrom).toEqual([{ configMapRef: { name: only<ConfigMap>(manifests, 'ConfigMap').metadata.name } }])
  })

  test('it holds every variable the loader reads (what --help lists) with its default, but those left out for a reason, and nothing else', () => {
    const [raw] = documentsOf(`${baseFolder}/configmap.yaml`) as ConfigMap[]
    for (const name of Object.keys(NOT_IN_CONFIGMAP)) expect(Object.keys(ENVIRONMENT), `${name} is a variable the loader reads`).toContain(name)
    const expected = Object.fromEntries(Object.entries(ENVIRONMENT).filter(([name]) => !Object.hasOwn(NOT_IN_CONFIGMAP, name)).map(([name, { default: value }]) => [name, value]))
    // a key the loader does not read, one it reads that is missing, a default out of step: all differ here
    expect(raw?.data).toEqual(expected)
    // built: the same keys, the provisioning settings from the operator's provisioning.env
    expect(configMap.data).toEqual({ ...expected, ...parseEnvFile(operatorFiles[provisioningFile] ?? '', provisioningFile) })
    expect(() => loadConfig(configMap.data)).not.toThrow()
    expect(loadConfig(configMap.data).port).toBe(defaultPort)
  })

  test('TRUST_PROXY believes no X-Forwarded-For a directly connected client could forge: never a hop count or everyone', () => {
    const trust = loadConfig(configMap.data).trustProxy
    expect(trust === false || Array.isArray(trust), `TRUST_PROXY "${effective('TRUST_PROXY')}"`).toBe(true)
  })

  test('the limits on slow and greedy clients are set: keep-alive outlasts the ingress\'s 60 s idle timeout, one address cannot take every connection', () => {
    const config = loadConfig(configMap.data)
    expect(config.keepAliveTimeoutMs).toBeGreaterThan(60_000)
    expect(config.requestTimeoutMs).toBeLessThanOrEqual(60_000)
    expect(config.maxConnectionsPerAddress).toBeLessThan(config.maxConnections)
    expect(config.rateLimitPerAddressPerMinute).toBeGreaterThan(config.rateLimitPerMinute)
  })

  test.each([['the base', base], ['overlays/ha', ha]])('%s: it holds nothing secret', (_name, manifests) => {
    for (const map of all<ConfigMap>(manifests, 'ConfigMap')) {
      for (const key of Object.keys(map.data)) expect(key).not.toMatch(/SECRET|PASSWORD|TOKEN|API_KEY|CLIENT_ID|DATABASE_URL/)
    }
  })
})

describe('overlays/ha: 2 to 10 replicas coordinated through PostgreSQL', () => {
  const haDeployment = only<Deployment>(ha, 'Deployment')
  const haContainer = containerOf(ha)

  test('the HorizontalPodAutoscaler scales the Deployment on CPU, from at least two replicas', () => {
    const hpa = only<Hpa>(ha, 'HorizontalPodAutoscaler')
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: haDeployment.metadata.name })
    expect(hpa.spec.metrics.map((metric) => `${metric.type}/${metric.resource?.name}`)).toEqual(['Resource/cpu'])
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas)
  })

  test('a patch removes spec.replicas from the base\'s Deployment', () => {
    const patches = (kustomizationOf(haFolder).patches ?? []).filter((patch) => targets(deployment, patch.target))
    const operations = patches.flatMap((patch) => operationsOf(posix.join(haFolder, patch.path)))
    expect(operations).toContainEqual({ op: 'remove', path: '/spec/replicas' })
    expect(applyOperations(deployment, operations).spec).not.toHaveProperty('replicas')
  })

  test.each([['the base', base], ['overlays/ha', ha]])('%s: a Deployment an autoscaler owns sets no replicas (each apply would reset the count)', (name, manifests) => {
    const scaled = all<Hpa>(manifests, 'HorizontalPodAutoscaler').map((hpa) => hpa.spec.scaleTargetRef)
    if (name === 'overlays/ha') expect(scaled.length).toBeGreaterThan(0)
    for (const target of scaled) {
      const owned = manifests.filter((manifest) => manifest.kind === target.kind && manifest.apiVersion === target.apiVersion && manifest.metadata.name === target.name) as Deployment[]
      expect(owned, `${target.kind} ${target.name}`).toHaveLength(1)
      for (const one of owned) expect(one.spec, `${target.kind} ${target.name}`).not.toHaveProperty('replicas')
    }
  })

  test('the PodDisruptionBudget selects the Deployment\'s pods and still lets a node drain', () => {
    const pdb = only<Pdb>(ha, 'PodDisruptionBudget')
    expect(pdb.spec.selector.matchLabels).toEqual(haDeployment.spec.selector.matchLabels)
    expect(haDeployment.spec.template.metadata.labels).toMatchObject(haDeployment.spec.selector.matchLabels)
    expect(pdb.spec.minAvailable).toBe(1)
    // minAvailable equal to the replica count (the autoscaler's floor) would block every drain
    expect(pdb.spec.minAvailable).toBeLessThan(only<Hpa>(ha, 'HorizontalPodAutoscaler').spec.minReplicas)
  })

  test('DATABASE_URL comes from the Secret the kustomization tells how to create', () => {
    const variable = (haContainer.env ?? []).filter((candidate) => candidate.name === 'DATABASE_URL')
    expect(variable).toEqual([{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: databaseSecret } }])
    const instructions = readRepoFile(`${haFolder}/kustomization.yaml`)
    expect(instructions).toContain(`kubectl create secret generic ${databaseSecret.name} --from-literal=${databaseSecret.key}=`)
    expect(instructions).toContain(`kubectl apply -k ${haFolder}`)
  })

  test('COORDINATION_REQUIRED is "true": a replica without a reachable coordinator refuses to start', () => {
    expect(environmentOf(ha).COORDINATION_REQUIRED).toBe('true')
  })

  test('every variable a replica gets is one the server reads, and the loader accepts them with the Secret\'s address', () => {
    const known = Object.keys(ENVIRONMENT)
    for (const name of variablesOf(ha)) expect(known, name).toContain(name)
    expect(() => loadConfig({ ...environmentOf(ha), DATABASE_URL: 'postgres://adapter@database.invalid:5432/cycle' })).not.toThrow()
  })

  test('rollouts overlap coordinated replicas and never drop below the count', () => {
    expect(haDeployment.spec.strategy?.type).toBe('RollingUpdate')
    expect(haDeployment.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0)
  })

  test('apart from the count, the rollout and DATABASE_URL, the pods are the base\'s (what the checks above hold for)', () => {
    const strip = (one: Deployment): Deployment => applyOperations(one, [
      ...(one.spec.replicas === undefined ? [] : [{ op: 'remove', path: '/spec/replicas' }]),
      { op: 'remove', path: '/spec/strategy' },
      { op: 'add', path: '/spec/template/spec/containers/0/env', value: (one.spec.template.spec.containers[0]?.env ?? []).filter((variable) => variable.name !== 'DATABASE_URL') }
    ])
    expect(strip(haDeployment)).toEqual(strip(deployment))
    // the overlay's env list keeps whatever the base's has
    expect(haContainer.env).toEqual(expect.arrayContaining(container.env ?? []))
    const haConfigMap = only<ConfigMap>(ha, 'ConfigMap')
    expect({ ...haConfigMap.data, COORDINATION_REQUIRED: undefined }).toEqual({ ...configMap.data, COORDINATION_REQUIRED: undefined })
    expect(only<Service>(ha, 'Service')).toEqual(only<Service>(base, 'Service'))
  })
})

describe('the provisioning settings: the build, then the pods, refuse to go on without them', () => {
  const example = parseEnvFile(provisioningExample, `${provisioningFile}.example`)

  test('the base merges the operator\'s provisioning.env into the ConfigMap; without it, building any kustomization stops naming the file', () => {
    expect(kustomizationOf(baseFolder).configMapGenerator).toEqual([{ name: configMap.metadata.name, behavior: 'merge', envs: ['provisioning.env'] }])
    for (const folder of ['deploy/kubernetes', baseFolder, haFolder]) {
      expect(() => build(folder, { [provisioningFile]: undefined }), folder).toThrow(`env source files: [provisioning.env]: ${provisioningFile}: no such file or directory`)
    }
    // the operator's values reach the pods of both
    for (const manifests of [base, ha]) expect(environmentOf(manifests)).toMatchObject(operatorValues)
  })

  test('the example names every setting provisioning needs (what the server asks for when a hub names none)', () => {
    const none = { deploymentConfiguration: undefined, sshPublicKey: undefined, sshKeyIds: [] }
    const asked = [provisioningSettings({}, none), provisioningSettings({}, { ...none, deploymentConfiguration: 'cfg' })]
      .map((result) => 'missing' in result ? result.missing : '').join(' ')
    const named = [...new Set(asked.match(/\bOPENMETAL_[A-Z_]+/g))].sort()
    expect(named).toEqual(['OPENMETAL_DEPLOYMENT_CONFIGURATION', 'OPENMETAL_SSH_KEY_IDS', 'OPENMETAL_SSH_PUBLIC_KEY'])
    expect(Object.keys(example).sort()).toEqual(named)
    // filled in, a hub that names nothing in auth.config provisions with the operator's settings
    for (const manifests of [base, ha]) {
      const config = loadConfig({ ...environmentOf(manifests), DATABASE_URL: 'postgres://database.invalid:5432/cycle' })
      expect(provisioningSettings({}, config)).toEqual({
        deploymentConfiguration: operatorValues.OPENMETAL_DEPLOYMENT_CONFIGURATION,
        deploymentConfigurationSetting: 'OPENMETAL_DEPLOYMENT_CONFIGURATION',
        sshPublicKey: operatorValues.OPENMETAL_SSH_PUBLIC_KEY,
        sshKeyIds: []
      })
    }
  })

  test('a value the example leaves for the operator (<...>) stops the pods at start with a line naming it', () => {
    const markers = Object.keys(example).filter((name) => MARKER.test(example[name] ?? ''))
    expect(markers.sort()).toEqual(Object.keys(operatorValues).sort())
    for (const name of markers) {
      // the example copied as it is but for the other markers
      const others = Object.fromEntries(Object.entries(operatorValues).filter(([other]) => other !== name))
      const environment = environmentOf(build(baseFolder, { [provisioningFile]: filledIn(provisioningExample, others) }))
      expect(environment[name], name).toMatch(MARKER)
      expect(() => loadConfig(environment), name).toThrow(ConfigError)
      expect(() => loadConfig(environment), name).toThrow(new RegExp(`^${name} `))
    }
    // and the operator's build carries none
    for (const value of Object.values(environmentOf(base))) expect(value).not.toMatch(MARKER)
  })

  test('docs/OPERATING.md\'s Kubernetes steps make provisioning.env before applying, and name every setting in it', () => {
    const operating = readRepoFile('docs/OPERATING.md')
    const from = operating.indexOf('\n## Kubernetes\n')
    const section = operating.slice(from, operating.indexOf('\n## ', from + 1))
    const steps = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
    const copy = steps.indexOf(`cp ${provisioningFile}.example ${provisioningFile}`)
    expect(copy).toBeGreaterThanOrEqual(0)
    expect(copy).toBeLessThan(steps.indexOf('kubectl apply -k'))
    for (const name of Object.keys(example)) expect(section).toContain(name)
  })
})

describe('the ial-inventory CronJob', () => {
  const cronJob = only<CronJob>(base, 'CronJob')
  const job = cronJob.spec.jobTemplate.spec
  const inventoryPod = job.template.spec
  const inventory = inventoryPod.containers[0] as Container
  const secretName = 'cycle-ial-openmetal-inventory'
  const bins = (JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> }).bin
  const source = (inventory.command?.[1] ?? '').replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')

  test('the base and overlays/ha run the same one, on the adapter\'s image', () => {
    expect(only<CronJob>(ha, 'CronJob')).toEqual(cronJob)
    expect(inventoryPod.containers).toHaveLength(1)
    expect(inventory.image).toBe(container.image)
    expect(inventory.image).toBe(containerOf(ha).image)
  })

  test('hourly (the alert waits for two runs), never two at once, one attempt: a run that ends non-zero fails its Job, which is kept', () => {
    expect(cronJob.spec.schedule).toMatch(/^\d{1,2} \* \* \* \*$/)
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid')
    expect(inventoryPod.restartPolicy).toBe('Never')
    expect(job.backoffLimit).toBe(0)
    // a run that hangs ends well before the next one is due
    expect(job.activeDeadlineSeconds).toBeGreaterThan(0)
    expect(job.activeDeadlineSeconds).toBeLessThan(3600)
    expect(cronJob.spec.startingDeadlineSeconds).toBeGreaterThan(0)
    // the alert compares the newest failed run with the newest successful one
    expect(cronJob.spec.failedJobsHistoryLimit).toBeGreaterThanOrEqual(1)
    expect(cronJob.spec.successfulJobsHistoryLimit).toBeGreaterThanOrEqual(1)
  })

  test('its command is the image\'s ial-inventory, run from the image\'s working directory, which the runtime stage fills with the built dist/', () => {
    expect(inventory.command).toEqual(['node', 'dist/cli/inventory.js'])
    expect(inventory.args).toBeUndefined()
    expect(bins['ial-inventory']).toBe(source)
    expect(existsSync(join(root, source))).toBe(true)
    const stages = parseDockerfile(readRepoFile('Dockerfile'))
    const [build, runtime] = [stages[0], stages.at(-1)]
    if (build === undefined || runtime === undefined) throw new Error('Dockerfile: no stages')
    expect(inventory.workingDir).toBeUndefined()
    expect(copiesOf(runtime)).toContainEqual({ from: build.name, sources: [posix.join(workdirOf(build), 'dist')], destination: './dist' })
    const compiler = (JSON.parse(readRepoFile('tsconfig.build.json')) as { compilerOptions: { rootDir: string, outDir: string } }).compilerOptions
    expect([compiler.rootDir, compiler.outDir]).toEqual(['src', 'dist'])
  })

  test('its credentials come from the Secret the file tells how to create, every key optional; the OpenMetal API is the ConfigMap\'s', () => {
    const fromSecret = (name: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secretName, key: name, optional: true } } })
    expect(inventory.env).toEqual([
      { name: 'OPENMETAL_API_URL', valueFrom: { configMapKeyRef: { name: configMap.metadata.name, key: 'OPENMETAL_API_URL' } } },
      fromSecret('OPENMETAL_API_KEY'),
      fromSecret('OPENMETAL_CLIENT_ID'),
      fromSecret('OPENMETAL_CLIENT_SECRET')
    ])
    expect(Object.keys(configMap.data)).toContain('OPENMETAL_API_URL')
    const instructions = readRepoFile(`${baseFolder}/inventory-cronjob.yaml`)
    expect(instructions).toContain(`kubectl create secret generic ${secretName} --from-literal=OPENMETAL_API_KEY=`)
    expect(instructions).toContain('--from-literal=OPENMETAL_CLIENT_ID=… --from-literal=OPENMETAL_CLIENT_SECRET=…')
  })

  describe('it runs', () => {
    let sim: Simulator
    beforeAll(async () => { sim = await startSimulator() })
    afterAll(async () => { await sim.close() })

    /** The container's environment with this Secret (absent keys left out, as optional ones are) and the simulator for OpenMetal. */
    function environmentWith (secret: Readonly<Record<string, string>>): Record<string, string> {
      const environment: Record<string, string> = {}
      for (const variable of inventory.env ?? []) {
        const { configMapKeyRef, secretKeyRef } = variable.valueFrom ?? {}
        const value = variable.value ??
          (configMapKeyRef === undefined ? undefined : { ...configMap.data, OPENMETAL_API_URL: sim.url }[configMapKeyRef.key]) ??
          (secretKeyRef === undefined ? undefined : secret[secretKeyRef.key])
        if (value === undefined && secretKeyRef?.optional !== true) throw new Error(`${variable.name}: no value`)
        if (value !== undefined) environment[variable.name] = value
      }
      return environment
    }

    test.each([
      ['an OAuth client', { OPENMETAL_CLIENT_ID: 'sim-client', OPENMETAL_CLIENT_SECRET: 'sim-secret' }],
      ['an API key', { OPENMETAL_API_KEY: 'sim-api-key' }]
    ])('with %s in the Secret it reports to its log, exit 0 for an organisation with nothing to look at', async (_name, secret) => {
      const run = await runNode([join(root, source)], environmentWith(secret), 30_000)
      expect([run.code, run.output]).toEqual([0, expect.stringMatching(/^SERVERS\n[\s\S]*\n0 server\(s\), 0 IP address\(es\), 0 bought IP block\(s\), 0 finding\(s\)\n$/)])
    }, 40_000)

    test('without the Secret it says so in its log and fails the Job (exit 2)', async () => {
      const run = await runNode([join(root, source)], environmentWith({}), 30_000)
      expect([run.code, run.output]).toEqual([2, expect.stringContaining('ial-inventory: no credentials')])
    }, 40_000)
  })

  test('its pods are locked down like the adapter\'s, and no Service, budget, autoscaler or spread counts them', () => {
    expect(inventoryPod.securityContext).toEqual(pod.securityContext)
    expect(inventory.securityContext).toEqual(container.securityContext)
    expect(inventoryPod.automountServiceAccountToken).toBe(false)
    expect(inventoryPod.enableServiceLinks).toBe(false)
    expect(inventory.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
    expect(inventory.resources.limits?.memory).toMatch(/^\d+(Mi|Gi)$/)
    const labels = job.template.metadata.labels
    const selects = (selector: Record<string, string>): boolean => Object.entries(selector).every(([key, value]) => labels[key] === value)
    const selectors = [
      only<Service>(ha, 'Service').spec.selector,
      only<Deployment>(ha, 'Deployment').spec.selector.matchLabels,
      only<Pdb>(ha, 'PodDisruptionBudget').spec.selector.matchLabels,
      ...(only<Deployment>(ha, 'Deployment').spec.template.spec as PodSpec & { topologySpreadConstraints?: Array<{ labelSelector: { matchLabels: Record<string, string> } }> })
        .topologySpreadConstraints?.map((constraint) => constraint.labelSelector.matchLabels) ?? []
    ]
    expect(selectors.length).toBeGreaterThanOrEqual(4)
    for (const selector of selectors) expect(selects(selector), JSON.stringify(selector)).toBe(false)
  })
})

describe('Prometheus finds /metrics', () => {
  const annotations = deployment.spec.template.metadata.annotations ?? {}

  test('the pods\' prometheus.io annotations name the container\'s port and a path where the server answers its metrics', async () => {
    expect(annotations['prometheus.io/scrape']).toBe('true')
    expect(Number(annotations['prometheus.io/port'])).toBe(container.ports[0]?.containerPort)
    const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }))
    try {
      const response = await app.inject({ method: 'GET', url: annotations['prometheus.io/path'] ?? '' })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/plain/)
      expect(response.body).toContain('# TYPE ial_requests_total counter')
    } finally {
      await app.close()
    }
  })

  test('deploy/kubernetes/monitoring holds a ServiceMonitor that selects the Service and scrapes its http port at that path, and the alerts', () => {
    expect(monitoring.map((manifest) => `${manifest.apiVersion} ${manifest.kind}`).sort()).toEqual(['monitoring.coreos.com/v1 PrometheusRule', 'monitoring.coreos.com/v1 ServiceMonitor'])
    const monitor = only<ServiceMonitor>(monitoring, 'ServiceMonitor')
    const service = only<Service>(base, 'Service')
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels)
    expect(monitor.spec.endpoints).toHaveLength(1)
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'http', path: annotations['prometheus.io/path'] })
    // the Service's http port reaches the container port the annotations name
    expect(service.spec.ports.find((port) => port.name === 'http')?.targetPort).toBe(container.ports[0]?.name)
  })
})

describe('the database\'s address', () => {
  test('never appears as a literal anywhere in deploy/: no Secret, no value, no ConfigMap key, no postgres:// with credentials', () => {
    const literals: string[] = []
    const visit = (node: unknown, where: string): void => {
      if (typeof node === 'string' && /postgres(?:ql)?:\/\//i.test(node)) literals.push(`${where}: ${node}`)
      if (Array.isArray(node)) node.forEach((item, index) => visit(item, `${where}/${index}`))
      else if (typeof node === 'object' && node !== null) {
        const record = node as Record<string, unknown>
        if (record.kind === 'Secret') literals.push(`${where}: a Secret`)
        if (record.name === 'DATABASE_URL' && 'value' in record) literals.push(`${where}: DATABASE_URL with a value`)
        for (const [key, value] of Object.entries(record)) {
          if (key === 'DATABASE_URL') literals.push(`${where}/${key}`)
          visit(value, `${where}/${key}`)
        }
      }
    }
    for (const file of yamlFiles) {
      visit(documentsOf(file), file)
      // comments too: an example may show the shape, never a user and password
      if (/postgres(?:ql)?:\/\/[^\s'"]*@/i.test(readRepoFile(file))) literals.push(`${file}: an address with credentials`)
    }
    expect(literals).toEqual([])
  })
})
