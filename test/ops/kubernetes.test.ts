/**
 * deploy/kubernetes: the manifests agree with the server they run, and with how it may be
 * scaled. The base (deploy/kubernetes, which names deploy/kubernetes/base) runs ONE replica
 * coordinating its purchases in-process; overlays/ha runs 2 to 10 coordinated through
 * PostgreSQL. Both are built here as kustomize would (resources, JSON 6902 patches, images;
 * checked against `kubectl kustomize` when kubectl is installed). Probe paths are routes that
 * answer in time, the port is the server's, the ConfigMap holds only variables the loader reads
 * (and values it accepts), a pod gets longer to stop than the server takes to drain, the
 * Service, autoscaler and disruption budget all find the Deployment's pods, and the database's
 * address only ever comes from a Secret.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join, posix } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { buildApp } from '../../src/app.ts'
import { ENVIRONMENT, loadConfig } from '../../src/config.ts'
import { readRepoFile, root } from './support.ts'

interface Metadata { name: string, labels?: Record<string, string> }
interface Manifest { apiVersion: string, kind: string, metadata: Metadata }
interface Probe { httpGet: { path: string, port: string | number, scheme?: string }, timeoutSeconds?: number, periodSeconds?: number }
interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef?: { name: string, key: string, optional?: boolean } } }
interface Container {
  name: string
  image: string
  ports: Array<{ name?: string, containerPort: number }>
  env?: EnvVar[]
  envFrom?: Array<{ configMapRef?: { name: string } }>
  readinessProbe: Probe
  livenessProbe: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] }, sleep?: { seconds: number } } }
  resources: { requests?: Record<string, string>, limits?: Record<string, string> }
  securityContext?: { allowPrivilegeEscalation?: boolean, readOnlyRootFilesystem?: boolean, runAsNonRoot?: boolean, capabilities?: { drop?: string[] } }
}
interface Deployment extends Manifest {
  spec: {
    replicas?: number
    strategy?: { type: string, rollingUpdate?: { maxSurge?: number | string, maxUnavailable?: number | string } }
    selector: { matchLabels: Record<string, string> }
    template: {
      metadata: { labels: Record<string, string> }
      spec: { terminationGracePeriodSeconds: number, securityContext?: { runAsNonRoot?: boolean, runAsUser?: number }, containers: Container[] }
    }
  }
}
interface Service extends Manifest { spec: { selector: Record<string, string>, ports: Array<{ name?: string, port: number, targetPort: string | number }> } }
interface Hpa extends Manifest { spec: { scaleTargetRef: { apiVersion: string, kind: string, name: string }, minReplicas: number, maxReplicas: number, metrics: Array<{ type: string, resource?: { name: string } }> } }
interface Pdb extends Manifest { spec: { minAvailable?: number, selector: { matchLabels: Record<string, string> } } }
interface ConfigMap extends Manifest { data: Record<string, string> }
interface PatchTarget { group?: string, version?: string, kind?: string, name?: string }
interface Kustomization extends Manifest {
  resources: string[]
  patches?: Array<{ path: string, target: PatchTarget }>
  images?: Array<{ name: string, newName?: string, newTag?: string }>
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

function withImages (manifest: Manifest, images: NonNullable<Kustomization['images']>): Manifest {
  if (manifest.kind !== 'Deployment') return manifest
  const deployment = structuredClone(manifest as Deployment)
  for (const container of deployment.spec.template.spec.containers) {
    const [, name = '', tag = ''] = /^([^:@]+)((?::|@).*)?$/.exec(container.image) ?? []
    const image = images.find((candidate) => candidate.name === name)
    if (image !== undefined) container.image = `${image.newName ?? name}${image.newTag === undefined ? tag : `:${image.newTag}`}`
  }
  return deployment
}

/** What `kubectl apply -k folder` would send. */
function build (folder: string): Manifest[] {
  const kustomization = kustomizationOf(folder)
  let manifests = kustomization.resources.flatMap((resource) => {
    const path = posix.join(folder, resource)
    return isKustomizationFolder(path) ? build(path) : documentsOf(path) as Manifest[]
  })
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
const top = build('deploy/kubernetes')
const base = build(baseFolder)
const ha = build(haFolder)

const deployment = only<Deployment>(base, 'Deployment')
const pod = deployment.spec.template.spec
const container = pod.containers[0] as Container
const configMap = only<ConfigMap>(base, 'ConfigMap')
const defaultPort = Number(ENVIRONMENT.PORT[0])
const defaults: Readonly<Record<string, readonly [string, string] | undefined>> = ENVIRONMENT
const databaseSecret = { name: 'cycle-ial-openmetal-database', key: 'url' }

/** The value the pod runs with: the ConfigMap's (or env's), or the loader's default when unset or empty. */
function effective (name: string, manifests: readonly Manifest[] = base): string | undefined {
  const value = environmentOf(manifests)[name]
  return value === undefined || value.trim() === '' ? defaults[name]?.[0] : value
}

describe('the files', () => {
  test('every YAML file under deploy/ is a kustomization, or one resource or one patch a kustomization names', () => {
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
      'deploy/kubernetes/base/kustomization.yaml': kustomization,
      'deploy/kubernetes/base/service.yaml': 'v1 Service',
      'deploy/kubernetes/overlays/ha/configmap-patch.yaml': 'patch: replace /data/COORDINATION_REQUIRED',
      'deploy/kubernetes/overlays/ha/deployment-patch.yaml': 'patch: remove /spec/replicas, replace /spec/strategy, add /spec/template/spec/containers/0/env',
      'deploy/kubernetes/overlays/ha/hpa.yaml': 'autoscaling/v2 HorizontalPodAutoscaler',
      'deploy/kubernetes/overlays/ha/kustomization.yaml': kustomization,
      'deploy/kubernetes/overlays/ha/pdb.yaml': 'policy/v1 PodDisruptionBudget'
    })
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
  test.skipIf(!kubectl)('kubectl kustomize builds the same manifests as the small kustomize here', () => {
    const byKind = (manifests: readonly Manifest[]): Manifest[] => [...manifests].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`))
    for (const [folder, built] of [['deploy/kubernetes', top], [baseFolder, base], [haFolder, ha]] as const) {
      const output = execFileSync('kubectl', ['kustomize', join(root, folder)], { encoding: 'utf8', timeout: 30_000 })
      const real = parseAllDocuments(output)
      if (!Array.isArray(real)) throw new Error(`${folder}: kubectl kustomize printed no YAML`)
      expect(byKind(real.map((document) => document.toJS() as Manifest)), folder).toEqual(byKind(built))
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
    expect(graceMs).toBeGreaterThan(Number(ENVIRONMENT.SHUTDOWN_GRACE_MS[0]))
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

  test('every key is a variable the server reads, and the loader accepts the whole map', () => {
    const known = Object.keys(ENVIRONMENT)
    for (const key of Object.keys(configMap.data)) expect(known, key).toContain(key)
    expect(Object.keys(configMap.data)).toEqual(expect.arrayContaining(['OPENMETAL_API_URL', 'PORT', 'HOST', 'SHUTDOWN_GRACE_MS']))
    for (const value of Object.values(configMap.data)) expect(typeof value).toBe('string')
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
