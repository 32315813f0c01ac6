/**
 * Bulkheads between tenants. Every OpenMetal call runs in a compartment: a tenant (its
 * credential hash), the public catalog, or the readiness probe. A compartment has at most
 * `perCompartment` calls on the wire and `queuePerCompartment` more waiting for a turn; a call
 * past that is refused at once (OpenMetalBusyError), so a tenant whose OpenMetal hangs fills
 * only its own compartment. All compartments together have at most `total` calls on the wire
 * (the pool's connections), and a freed place goes to the waiting compartments in turn, one
 * call each, not to whichever queued most.
 *
 * Why the total: undici queues a request that finds every connection busy and does not drop
 * it when its signal aborts; the request fails only once a connection frees up (undici 7.30:
 * a queued request whose signal aborted at 200 ms failed at 2 s, when the call ahead of it
 * ended). Waiting here instead, where an abort leaves the queue at once, keeps undici's queue
 * empty, so a deadline holds while a call waits for a connection too.
 */
import { OpenMetalBusyError } from './errors.ts'

export interface BulkheadLimits {
  /** calls of one compartment on the wire at once */
  readonly perCompartment: number
  /** calls of one compartment waiting for a turn; any more are refused */
  readonly queuePerCompartment: number
  /** calls on the wire at once, all compartments together */
  readonly total: number
}

interface Compartment {
  readonly name: string
  running: number
  /** FIFO of the calls waiting for a turn: each is started by calling it */
  readonly waiting: Array<() => void>
}

function abortReason (signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

export class Bulkhead {
  private readonly limits: BulkheadLimits
  private readonly compartments = new Map<string, Compartment>()
  /** compartments with calls waiting, in the order their next call gets a place */
  private readonly turns = new Set<Compartment>()
  private running = 0

  constructor (limits: BulkheadLimits) {
    this.limits = limits
  }

  /**
   * Runs `task` once the compartment has a place, holding the place until it settles. The wait
   * counts against `signal`: when it aborts, the call leaves the queue at once and the promise
   * rejects with the signal's reason.
   */
  async run<T> (name: string, signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    const compartment = await this.enter(name, signal)
    try {
      return await task()
    } finally {
      this.leave(compartment)
    }
  }

  private enter (name: string, signal: AbortSignal | undefined): Compartment | Promise<Compartment> {
    if (signal?.aborted === true) throw abortReason(signal)
    let compartment = this.compartments.get(name)
    if (compartment === undefined) {
      compartment = { name, running: 0, waiting: [] }
      this.compartments.set(name, compartment)
    }
    if (compartment.waiting.length === 0 && compartment.running < this.limits.perCompartment && this.running < this.limits.total) {
      this.start(compartment)
      return compartment
    }
    if (compartment.waiting.length >= this.limits.queuePerCompartment) {
      const refused = new OpenMetalBusyError(compartment.running, compartment.waiting.length)
      this.forgetIfIdle(compartment)
      throw refused
    }
    const queued = compartment
    return new Promise<Compartment>((resolve, reject) => {
      const onAbort = (): void => {
        const index = queued.waiting.indexOf(turn)
        if (index >= 0) queued.waiting.splice(index, 1)
        if (queued.waiting.length === 0) this.turns.delete(queued)
        this.forgetIfIdle(queued)
        reject(abortReason(signal as AbortSignal))
      }
      const turn = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(queued)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      queued.waiting.push(turn)
      this.turns.add(queued)
    })
  }

  private start (compartment: Compartment): void {
    compartment.running++
    this.running++
  }

  private leave (compartment: Compartment): void {
    compartment.running--
    this.running--
    this.giveTurns()
    this.forgetIfIdle(compartment)
  }

  /** Free places go to the waiting compartments in turn: one call each, then to the back of the line. */
  private giveTurns (): void {
    while (this.running < this.limits.total) {
      let next: Compartment | undefined
      for (const candidate of this.turns) {
        if (candidate.running < this.limits.perCompartment) {
          next = candidate
          break
        }
      }
      const turn = next?.waiting.shift()
      if (next === undefined || turn === undefined) return
      this.turns.delete(next)
      if (next.waiting.length > 0) this.turns.add(next)
      this.start(next)
      turn()
    }
  }

  private forgetIfIdle (compartment: Compartment): void {
    if (compartment.running === 0 && compartment.waiting.length === 0 && this.compartments.get(compartment.name) === compartment) {
      this.compartments.delete(compartment.name)
    }
  }
}
