/**
 * What operators deploy: the Dockerfile, the Kubernetes manifests and .env.example agree
 * with the server they run.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { buildApp } from '../../src/app.ts'
import { ENVIRONMENT, loadConfig } from '../../src/config.ts'

const root = join(import.meta.dirname, '../..')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))

  test('multi-stage on a pinned Node LTS slim base', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1])
    expect(bases).toHaveLength(2)
    for (const base of bases) expect(base).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim$/)
  })

  test('the runtime stage holds production dependencies and the build only, as a non-root user', () => {
    const copies = [...runtime.matchAll(/^COPY (?:--from=\S+ )?(.+) \S+$/gm)].flatMap((match) => match[1]?.split(' ') ?? [])
    expect(copies.sort()).toEqual(['/app/dist', 'package-lock.json', 'package.json'])
    expect(runtime).toMatch(/npm ci --omit=dev/)
    expect(runtime).toMatch(/^USER node$/m)
    expect(runtime).not.toMatch(/COPY .*(src|test)/)
  })

  test('exposes the default port and checks /healthz', () => {
    expect(runtime).toContain(`EXPOSE ${ENVIRONMENT.PORT[0]}`)
    expect(runtime).toMatch(/HOST=0\.0\.0\.0/)
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*\/healthz/)
  })

  test('.dockerignore keeps secrets, tests and local builds out', () => {
    const ignored = read('.dockerignore').split('\n')
    for (const entry of ['node_modules', '.env', 'test', 'dist', '.git']) expect(ignored).toContain(entry)
  })
})

describe('Kubernetes manifests', () => {
  const manifests = readdirSync(join(root, 'deploy/kubernetes')).filter((file) => file.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(read(`deploy/kubernetes/${file}`)).map((document) => document.toJS() as Record<string, any>)) // eslint-disable-line @typescript-eslint/no-explicit-any
  const byKind = (kind: string) => manifests.find((manifest) => manifest.kind === kind)

  test('every resource is listed by the kustomization', () => {
    const kustomization = byKind('Kustomization')
    expect(kustomization?.resources.sort()).toEqual(readdirSync(join(root, 'deploy/kubernetes')).filter((file) => file !== 'kustomization.yaml').sort())
  })

  test('probes and ports are the server\'s', async () => {
    const deployment = byKind('Deployment')
    const container = deployment?.spec.template.spec.containers[0]
    expect(container.ports[0].containerPort).toBe(Number(ENVIRONMENT.PORT[0]))
    const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', OPENMETAL_API_URL: 'http://127.0.0.1:9' }))
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet.port).toBe(container.ports[0].name)
      expect((await app.inject({ method: 'GET', url: probe.httpGet.path })).statusCode).not.toBe(404)
    }
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    await app.close()
    expect(byKind('Service')?.spec.ports[0].targetPort).toBe(container.ports[0].name)
  })

  test('the pod is given time to drain, runs as non-root, and asks for resources', () => {
    const spec = byKind('Deployment')?.spec.template.spec
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(ENVIRONMENT.SHUTDOWN_GRACE_MS[0]))
    expect(spec.securityContext.runAsNonRoot).toBe(true)
    expect(spec.containers[0].resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
  })

  test('the autoscaler and the disruption budget select the deployment', () => {
    const deployment = byKind('Deployment')
    expect(byKind('HorizontalPodAutoscaler')?.spec.scaleTargetRef.name).toBe(deployment?.metadata.name)
    expect(byKind('PodDisruptionBudget')?.spec.selector.matchLabels).toEqual(deployment?.spec.selector.matchLabels)
    expect(deployment?.spec.template.metadata.labels).toMatchObject(deployment?.spec.selector.matchLabels)
  })

  test('the ConfigMap sets only variables the server reads', () => {
    for (const key of Object.keys(byKind('ConfigMap')?.data ?? {})) expect(Object.keys(ENVIRONMENT)).toContain(key)
  })
})

describe('.env.example and the README', () => {
  test('.env.example lists exactly the variables the loader reads, with their defaults', () => {
    const entries = Object.fromEntries(read('.env.example').split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
    expect(entries).toEqual(Object.fromEntries(Object.entries(ENVIRONMENT).map(([name, [value]]) => [name, value])))
  })

  test('the README configuration table names every variable', () => {
    const readme = read('README.md')
    for (const name of Object.keys(ENVIRONMENT)) expect(readme).toContain(`\`${name}\``)
  })
})
