/**
 * deploy/kubernetes: the manifests agree with the server they run. Probe paths are routes
 * that answer in time, the port is the server's, the ConfigMap holds only variables the
 * loader reads (and values it accepts), a pod gets longer to stop than the server takes to
 * drain, and the Service, autoscaler and disruption budget all find the Deployment's pods.
 */
import { readdirSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { buildApp } from '../../src/app.ts'
import { ENVIRONMENT, loadConfig } from '../../src/config.ts'
import { readRepoFile, root } from './support.ts'

interface Metadata { name: string, labels?: Record<string, string> }
interface Probe { httpGet: { path: string, port: string | number, scheme?: string }, timeoutSeconds?: number, periodSeconds?: number }
interface Container {
  name: string
  image: string
  ports: Array<{ name?: string, containerPort: number }>
  envFrom?: Array<{ configMapRef?: { name: string } }>
  readinessProbe: Probe
  livenessProbe: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] }, sleep?: { seconds: number } } }
  resources: { requests?: Record<string, string>, limits?: Record<string, string> }
  securityContext?: { allowPrivilegeEscalation?: boolean, readOnlyRootFilesystem?: boolean, runAsNonRoot?: boolean, capabilities?: { drop?: string[] } }
}
interface Deployment {
  metadata: Metadata
  spec: {
    replicas?: number
    selector: { matchLabels: Record<string, string> }
    template: {
      metadata: { labels: Record<string, string> }
      spec: { terminationGracePeriodSeconds: number, securityContext?: { runAsNonRoot?: boolean, runAsUser?: number }, containers: Container[] }
    }
  }
}
interface Service { metadata: Metadata, spec: { selector: Record<string, string>, ports: Array<{ name?: string, port: number, targetPort: string | number }> } }
interface Hpa { spec: { scaleTargetRef: { apiVersion: string, kind: string, name: string }, minReplicas: number, maxReplicas: number, metrics: Array<{ type: string, resource?: { name: string } }> } }
interface Pdb { spec: { minAvailable?: number, selector: { matchLabels: Record<string, string> } } }
interface ConfigMap { metadata: Metadata, data: Record<string, string> }
interface Kustomization { resources: string[], images?: Array<{ name: string, newName?: string, newTag?: string }> }

const directory = 'deploy/kubernetes'
const files = readdirSync(join(root, directory)).filter((file) => /\.ya?ml$/.test(file)).sort()
const documents = files.map((file) => {
  const parsed = parseAllDocuments(readRepoFile(`${directory}/${file}`))
  if (!Array.isArray(parsed)) throw new Error(`${file}: not YAML`)
  for (const document of parsed) if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`)
  return { file, manifests: parsed.map((document) => document.toJS() as { apiVersion: string, kind: string }) }
})
const manifests = documents.flatMap((entry) => entry.manifests)

function only<T> (kind: string): T {
  const found = manifests.filter((manifest) => manifest.kind === kind)
  expect(found, kind).toHaveLength(1)
  return found[0] as T
}

const deployment = only<Deployment>('Deployment')
const pod = deployment.spec.template.spec
const container = pod.containers[0] as Container
const configMap = only<ConfigMap>('ConfigMap')
const defaultPort = Number(ENVIRONMENT.PORT[0])

/** The value the pod runs with: the ConfigMap's, or the loader's default when unset or empty. */
function effective (name: keyof typeof ENVIRONMENT): string {
  const value = configMap.data[name]
  return value === undefined || value.trim() === '' ? ENVIRONMENT[name][0] : value
}

describe('the manifests', () => {
  test('one resource per file, each of the expected kind and API version, all listed by the kustomization', () => {
    const kinds = Object.fromEntries(documents.map(({ file, manifests: inFile }) => {
      expect(inFile, file).toHaveLength(1)
      return [file, `${inFile[0]?.apiVersion} ${inFile[0]?.kind}`]
    }))
    expect(kinds).toEqual({
      'configmap.yaml': 'v1 ConfigMap',
      'deployment.yaml': 'apps/v1 Deployment',
      'hpa.yaml': 'autoscaling/v2 HorizontalPodAutoscaler',
      'kustomization.yaml': 'kustomize.config.k8s.io/v1beta1 Kustomization',
      'pdb.yaml': 'policy/v1 PodDisruptionBudget',
      'service.yaml': 'v1 Service'
    })
    expect([...only<Kustomization>('Kustomization').resources].sort()).toEqual(files.filter((file) => file !== 'kustomization.yaml'))
  })

  test('the image is pinned to a tag, and the kustomization\'s image override names it', () => {
    expect(container.image).toMatch(/^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/)
    expect(container.image).not.toMatch(/:latest$/)
    const images = only<Kustomization>('Kustomization').images ?? []
    expect(images.map((image) => image.name)).toContain(container.image.split(/[:@]/)[0])
    for (const image of images) expect(image.newTag ?? '').not.toBe('latest')
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
    const service = only<Service>('Service')
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
  test('the Deployment takes its environment from it', () => {
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }])
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

  test('it holds nothing secret', () => {
    for (const key of Object.keys(configMap.data)) expect(key).not.toMatch(/SECRET|PASSWORD|TOKEN|API_KEY|CLIENT_ID/)
  })
})

describe('autoscaling and disruptions', () => {
  test('the HorizontalPodAutoscaler scales the Deployment on CPU, from at least two replicas', () => {
    const hpa = only<Hpa>('HorizontalPodAutoscaler')
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name })
    expect(hpa.spec.metrics.map((metric) => `${metric.type}/${metric.resource?.name}`)).toEqual(['Resource/cpu'])
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas)
  })

  test('a Deployment an autoscaler owns sets no replicas (each apply would reset the count)', () => {
    const targets = manifests.filter((manifest) => manifest.kind === 'HorizontalPodAutoscaler').map((hpa) => (hpa as unknown as Hpa).spec.scaleTargetRef)
    expect(targets.length).toBeGreaterThan(0)
    for (const target of targets) {
      const owned = manifests.filter((manifest) => manifest.kind === target.kind && manifest.apiVersion === target.apiVersion && (manifest as unknown as Deployment).metadata.name === target.name) as unknown as Deployment[]
      expect(owned, `${target.kind} ${target.name}`).toHaveLength(1)
      for (const scaled of owned) expect(scaled.spec, `${target.kind} ${target.name}`).not.toHaveProperty('replicas')
    }
  })

  test('the PodDisruptionBudget selects the Deployment\'s pods and still lets a node drain', () => {
    const pdb = only<Pdb>('PodDisruptionBudget')
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels)
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels)
    expect(pdb.spec.minAvailable).toBe(1)
    // minAvailable equal to the replica count (the autoscaler's floor) would block every drain
    expect(pdb.spec.minAvailable).toBeLessThan(only<Hpa>('HorizontalPodAutoscaler').spec.minReplicas)
  })
})
