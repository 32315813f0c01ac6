/**
 * The alerts (deploy/prometheus/rules.yaml, and the same groups in the PrometheusRule of
 * deploy/kubernetes/monitoring): they watch metrics the adapter really exports under those
 * names and labels (read from /metrics of a running adapter, so a renamed metric or label fails
 * here) or kube-state-metrics' series for the manifests' own names; each tells the operator what
 * to do and points at its section of docs/OPERATING.md; promtool's unit tests make each fire,
 * and stay quiet, at least once. `promtool check rules` and `promtool test rules` run here when
 * promtool is installed, and always in CI (scripts/ci/promtool.sh).
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { startHarness, type Harness } from '../helpers/harness.ts'
import { unprovisioned } from '../helpers/lifecycle.ts'
import { readRepoFile, root } from './support.ts'

interface Rule { alert?: string, record?: string, expr: string, for?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
interface RulesFile { groups: Array<{ name: string, rules: Rule[] }> }
interface AlertTest { eval_time: string, alertname: string, exp_alerts?: Array<{ exp_labels?: Record<string, string>, exp_annotations?: Record<string, string> }> }
interface UnitTests { rule_files: string[], tests: Array<{ name?: string, alert_rule_test?: AlertTest[] }> }
interface Matcher { label: string, op: string, value: string }
interface Selector { metric: string, matchers: Matcher[] }

const rulesFile = 'deploy/prometheus/rules.yaml'
const unitTestsFile = 'deploy/prometheus/rules.test.yaml'
const prometheusRuleFile = 'deploy/kubernetes/monitoring/prometheus-rule.yaml'

const rules = parse(readRepoFile(rulesFile)) as RulesFile
const alerts = rules.groups.flatMap((group) => group.rules)
const names = alerts.map((rule) => rule.alert ?? '')

/** Series the alerts read that come from elsewhere than the adapter, and from where. */
const ELSEWHERE: Readonly<Record<string, string>> = {
  kube_deployment_status_replicas_available: 'kube-state-metrics (the Deployment)',
  kube_deployment_status_replicas_unavailable: 'kube-state-metrics (the Deployment)',
  kube_job_status_start_time: 'kube-state-metrics (the inventory CronJob\'s Jobs)',
  kube_job_status_failed: 'kube-state-metrics (the inventory CronJob\'s Jobs)',
  kube_job_status_succeeded: 'kube-state-metrics (the inventory CronJob\'s Jobs)'
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool'])

/**
 * The series selectors of a PromQL expression: metric names with their label matchers.
 * Enough PromQL for these rules: grouping clauses, ranges and offsets are dropped first, and a
 * name followed by `(` is a function or an aggregation.
 */
function selectorsIn (expression: string): Selector[] {
  const cleaned = expression
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+\d+[smhdwy]\b/g, ' ')
  const selectors: Selector[] = []
  for (const [, metric = '', braces, call] of cleaned.matchAll(/([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?(\s*\()?/g)) {
    if ((call !== undefined && braces === undefined) || KEYWORDS.has(metric)) continue
    const matchers = [...(braces ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label = '', op = '', value = '']) => ({ label, op, value }))
    selectors.push({ metric, matchers })
  }
  return selectors
}

/** Every series name /metrics announces (a histogram's _bucket, _sum and _count), with the label names its samples carry. */
function exported (text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>()
  for (const [, name = '', type = ''] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    for (const suffix of type === 'histogram' || type === 'summary' ? ['_bucket', '_sum', '_count', ''] : ['']) series.set(`${name}${suffix}`, new Set())
  }
  for (const [, name = '', labels = ''] of text.matchAll(/^([A-Za-z_:][\w:]*)\{([^}]*)\}/gm)) {
    for (const [, label = ''] of labels.matchAll(/(\w+)="/g)) series.get(name)?.add(label)
  }
  return series
}

describe('the rules', () => {
  test('the PrometheusRule holds exactly the groups of the plain rules file (edit both)', () => {
    const prometheusRule = parse(readRepoFile(prometheusRuleFile)) as { apiVersion: string, kind: string, spec: unknown }
    expect([prometheusRule.apiVersion, prometheusRule.kind]).toEqual(['monitoring.coreos.com/v1', 'PrometheusRule'])
    expect(prometheusRule.spec).toEqual(rules)
  })

  test('every rule is an alert with a severity, a summary, a description and its section of docs/OPERATING.md', () => {
    expect(names.length).toBeGreaterThan(0)
    expect(new Set(names).size).toBe(names.length)
    for (const rule of alerts) {
      expect(rule.alert, rule.expr).toMatch(/^CycleIal[A-Za-z]+$/)
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity)
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(['description', 'runbook', 'summary'])
      expect(rule.annotations?.runbook).toBe(`docs/OPERATING.md#${(rule.alert ?? '').toLowerCase()}`)
    }
  })

  test('docs/OPERATING.md\'s Alerts section explains each alert under its own heading, and no other', () => {
    const operating = readRepoFile('docs/OPERATING.md')
    const from = operating.indexOf('\n## Alerts\n')
    expect(from).toBeGreaterThanOrEqual(0)
    const section = operating.slice(from, operating.indexOf('\n## ', from + 1))
    const headings = [...section.matchAll(/^### (\S+)$/gm)].map((match) => match[1])
    expect(headings.sort()).toEqual([...names].sort())
  })

  test('what the alerts of kube-state-metrics match is what the manifests are called', () => {
    const deployment = parse(readRepoFile('deploy/kubernetes/base/deployment.yaml')) as { metadata: { name: string } }
    const cronJob = parse(readRepoFile('deploy/kubernetes/base/inventory-cronjob.yaml')) as { metadata: { name: string } }
    const matchers = alerts.flatMap((rule) => selectorsIn(rule.expr)).flatMap((selector) => selector.matchers)
    const deployments = matchers.filter((matcher) => matcher.label === 'deployment')
    const jobs = matchers.filter((matcher) => matcher.label === 'job_name')
    expect(deployments.length).toBeGreaterThan(0)
    expect(jobs.length).toBeGreaterThan(0)
    for (const matcher of deployments) expect(matcher).toEqual({ label: 'deployment', op: '=', value: deployment.metadata.name })
    for (const matcher of jobs) {
      expect(matcher.op).toBe('=~')
      // Kubernetes names a CronJob's Jobs <cronjob>-<minutes since the epoch>; a run started by
      // hand (kubectl create job --from=cronjob/...) gets the name it is given
      const pattern = new RegExp(`^(?:${matcher.value})$`)
      expect(`${cronJob.metadata.name}-29412345`).toMatch(pattern)
      expect(`${cronJob.metadata.name}-now`).toMatch(pattern)
      expect('backup-29412345').not.toMatch(pattern)
    }
  })

  test('the selector reader finds names and matchers, not functions, groupings, ranges or offsets', () => {
    expect(selectorsIn('sum by (job, namespace) (rate(a_total{x=~"5..|4\\\\d"}[5m])) / on (job) group_left () max(b offset 30m) > bool 0 or c unless d')).toEqual([
      { metric: 'a_total', matchers: [{ label: 'x', op: '=~', value: '5..|4\\\\d' }] },
      { metric: 'b', matchers: [] },
      { metric: 'c', matchers: [] },
      { metric: 'd', matchers: [] }
    ])
  })
})

describe('the alerts watch what the adapter exports', () => {
  let h: Harness
  let series: Map<string, Set<string>>
  beforeAll(async () => {
    h = await startHarness()
    // samples of every labelled series the alerts match on: OpenMetal calls, requests and
    // probes, and a purchase's leases
    const { provision } = await unprovisioned(h)
    expect((await provision()).status).toBe(200)
    expect((await h.call('GET', '/readyz')).status).toBe(200)
    const metrics = await h.call('GET', '/metrics')
    series = exported(String(metrics.body.raw))
  }, 30_000)
  afterAll(async () => { await h.close() })

  test('every series an alert reads is one /metrics announces, or kube-state-metrics\'; nothing listed from elsewhere goes unused', () => {
    const read = new Set(alerts.flatMap((rule) => selectorsIn(rule.expr)).map((selector) => selector.metric))
    for (const metric of read) expect(series.has(metric) || Object.hasOwn(ELSEWHERE, metric), `${metric}: neither exported nor from elsewhere`).toBe(true)
    for (const metric of Object.keys(ELSEWHERE)) {
      expect(read.has(metric), `${metric} is read by an alert`).toBe(true)
      expect(series.has(metric), `${metric} is the adapter's`).toBe(false)
    }
    // the adapter's own metrics are most of what the alerts read
    expect([...read].filter((metric) => series.has(metric)).sort()).toEqual([
      'ial_connections_closed_total', 'ial_coordination_leases_total', 'ial_coordination_unavailable_total', 'ial_requests_total',
      'openmetal_answer_parts_skipped_total', 'openmetal_calls_refused_total', 'openmetal_calls_total'
    ])
  })

  test('every label an alert matches on an adapter metric is one its samples carry', () => {
    for (const rule of alerts) {
      for (const selector of selectorsIn(rule.expr).filter((candidate) => series.has(candidate.metric))) {
        const labels = series.get(selector.metric) ?? new Set()
        for (const matcher of selector.matchers) expect([...labels], `${rule.alert}: ${selector.metric}{${matcher.label}}`).toContain(matcher.label)
      }
    }
  })
})

describe('promtool\'s unit tests', () => {
  const unitTests = parse(readRepoFile(unitTestsFile)) as UnitTests
  const cases = unitTests.tests.flatMap((group) => group.alert_rule_test ?? [])

  test('run against the rules file, and make every alert fire and stay quiet at least once', () => {
    expect(unitTests.rule_files).toEqual(['rules.yaml'])
    for (const name of names) {
      const own = cases.filter((one) => one.alertname === name)
      expect(own.some((one) => (one.exp_alerts ?? []).length > 0), `${name} fires`).toBe(true)
      expect(own.some((one) => (one.exp_alerts ?? []).length === 0), `${name} stays quiet`).toBe(true)
    }
    for (const one of cases) expect(names, one.alertname).toContain(one.alertname)
  })

  const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0
  test.skipIf(!promtool)('promtool check rules and promtool test rules pass (as scripts/ci/promtool.sh runs them)', () => {
    const check = spawnSync('promtool', ['check', 'rules', rulesFile], { cwd: root, encoding: 'utf8', timeout: 30_000 })
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0)
    const run = spawnSync('promtool', ['test', 'rules', unitTestsFile], { cwd: root, encoding: 'utf8', timeout: 30_000 })
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0)
  })
})
