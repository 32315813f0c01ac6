/**
 * What a benchmark row says of the run: whether it fails it, and the word the table prints for
 * it. A row under its target passes a CI run when it stays within its CI line (the target sits
 * inside this machine's noise, see BENCHMARKS.md): the table says "CI ok" for it, never "NO".
 */

export interface Row {
  name: string
  connections: number
  requests: number
  p50: number
  p99: number
  rps: number
  upstreamPerRequest: number
  /** 'count': the row counts events that must not happen (target: at most `target` of them) */
  ideal: { metric: 'p50' | 'p99' | 'rps' | 'count', value: number, why: string, unit?: string }
  ratio: number
  target: number
  met: boolean
  /** where CI draws the line when the target itself sits inside this machine's noise (see BENCHMARKS.md) */
  ciFloor?: number
  /** the same for a latency row: CI fails it only above this p50 (ms) */
  ciCeiling?: number
  /** each round of an alternating measurement, raw requests/s included */
  rounds?: Array<Record<string, number>>
}

/** Whether a row fails the run: a missed target, or in CI, for a row with a CI line, crossing that line. */
export function failsRun (row: Row, ci: boolean): boolean {
  if (ci && row.ciFloor !== undefined) return row.ratio < row.ciFloor
  if (ci && row.ciCeiling !== undefined) return row.p50 > row.ciCeiling
  return !row.met
}

/** The table's last column: "yes" (target met), "NO" (the run fails on it), "CI ok" (missed, but within its CI line). */
export function verdictOf (row: Row, ci: boolean): 'yes' | 'NO' | 'CI ok' {
  if (row.met) return 'yes'
  return failsRun(row, ci) ? 'NO' : 'CI ok'
}
