/**
 * What the OpenMetal client tells of its answers, for the operator: parts skipped as
 * unreadable (counted every time, logged once per kind and interval so a poll does not flood
 * the log), and how the clean-up of an address Cycle never heard of ended.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { OpenMetalClientOptions } from '../openmetal/client.ts'
import type { LabelledWritesOptions } from '../openmetal/labelled-writes.ts'
import type { Metrics } from './metrics.ts'

/** How long one kind of skipped answer part is logged once, rather than on every poll. */
const SKIP_LOG_INTERVAL_MS = 10 * 60_000

export function upstreamReports (log: FastifyBaseLogger, metrics: Metrics): Pick<OpenMetalClientOptions, 'onSkipped'> & Pick<LabelledWritesOptions, 'onCleanup'> {
  const lastLogged = new Map<string, number>()
  return {
    onSkipped ({ operation, path, kind, problem }) {
      metrics.skipped(operation)
      // one line per kind of part, however many entries of that kind (list positions and map keys
      // are not kinds), with the first entry met as an example of where
      const key = `${operation} ${kind} ${problem}`
      const now = Date.now()
      if ((lastLogged.get(key) ?? 0) > now - SKIP_LOG_INTERVAL_MS) return
      if (lastLogged.size >= 1000) lastLogged.clear()
      lastLogged.set(key, now)
      log.warn({ operation, path: kind.slice(0, 200), example: path.slice(0, 200), problem }, 'skipped a part of an OpenMetal answer that could not be read')
    },
    onCleanup ({ prefixId, outcome }) {
      const entry = { operation: 'createIpAddress', prefixId, outcome }
      if (outcome === 'deleted') log.info(entry, 'deleted an address whose create had no usable answer (Cycle never received it)')
      else log.warn(entry, 'an address whose create had no usable answer may be left at OpenMetal: ial-inventory lists it as orphaned-ip')
    }
  }
}
