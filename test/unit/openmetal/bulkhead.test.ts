/** Unit tests of src/openmetal/bulkhead.ts. */
import { describe, expect, test } from 'vitest'
import { Bulkhead } from '../../../src/openmetal/bulkhead.ts'
import { OpenMetalBusyError } from '../../../src/openmetal/errors.ts'

/** Calls the test ends by hand, recording which have started, in order. */
function calls () {
  const started: string[] = []
  const finish = new Map<string, () => void>()
  return {
    started,
    task: (name: string) => async (): Promise<string> => {
      started.push(name)
      await new Promise<void>((resolve) => finish.set(name, resolve))
      return name
    },
    finish (name: string): void {
      const end = finish.get(name)
      if (end === undefined) throw new Error(`${name} has not started`)
      end()
    }
  }
}

/** Lets every settled promise run its continuations. */
async function settle (): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve))
}

describe('Bulkhead', () => {
  test('runs at most perCompartment calls of one compartment at once; the rest wait in order', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 2, queuePerCompartment: 10, total: 10 })
    const { started, task, finish } = calls()
    const runs = ['a1', 'a2', 'a3', 'a4'].map((name) => bulkhead.run('tenant-a', undefined, task(name)))
    await settle()
    expect(started).toEqual(['a1', 'a2'])
    finish('a2')
    await settle()
    expect(started).toEqual(['a1', 'a2', 'a3'])
    finish('a1')
    finish('a3')
    await settle()
    finish('a4')
    expect(await Promise.all(runs)).toEqual(['a1', 'a2', 'a3', 'a4'])
  })

  test('refuses at once a call past the queue bound, without touching the calls under way or waiting', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 2, queuePerCompartment: 3, total: 10 })
    const { started, task, finish } = calls()
    const accepted = ['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => bulkhead.run('tenant-a', undefined, task(name)))
    const refused = await bulkhead.run('tenant-a', undefined, task('a6')).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenMetalBusyError)
    expect(refused).toMatchObject({ running: 2, waiting: 3 })
    await settle()
    expect(started).toEqual(['a1', 'a2'])
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) {
      await settle()
      finish(name)
    }
    expect(await Promise.all(accepted)).toHaveLength(5)
    expect(started).not.toContain('a6')
  })

  test('a full compartment refuses only its own tenant: another tenant runs at once', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 0, total: 4 })
    const { started, task, finish } = calls()
    const a = bulkhead.run('tenant-a', undefined, task('a1'))
    await expect(bulkhead.run('tenant-a', undefined, task('a2'))).rejects.toBeInstanceOf(OpenMetalBusyError)
    const b = bulkhead.run('tenant-b', undefined, task('b1'))
    await settle()
    expect(started).toEqual(['a1', 'b1'])
    finish('a1')
    finish('b1')
    expect([await a, await b]).toEqual(['a1', 'b1'])
  })

  test('a waiting call leaves the queue when its signal aborts, with the signal\'s reason, and its place goes to the next', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 2, total: 10 })
    const { started, task, finish } = calls()
    const first = bulkhead.run('tenant-a', undefined, task('a1'))
    const deadline = new AbortController()
    const waiting = bulkhead.run('tenant-a', deadline.signal, task('a2'))
    const next = bulkhead.run('tenant-a', undefined, task('a3'))
    const reason = new DOMException('request deadline', 'TimeoutError')
    deadline.abort(reason)
    // it leaves at once, while the call ahead of it still holds the only place
    await expect(waiting).rejects.toBe(reason)
    // and its place in the queue is free again: the queue holds one more
    const another = bulkhead.run('tenant-a', undefined, task('a4'))
    finish('a1')
    await settle()
    expect(started).toEqual(['a1', 'a3'])
    finish('a3')
    await settle()
    finish('a4')
    expect(await Promise.all([first, next, another])).toEqual(['a1', 'a3', 'a4'])
    expect(started).not.toContain('a2')
  })

  test('a call whose signal has already aborted never starts', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 4, queuePerCompartment: 4, total: 4 })
    const { started, task } = calls()
    const reason = new Error('gone')
    await expect(bulkhead.run('tenant-a', AbortSignal.abort(reason), task('a1'))).rejects.toBe(reason)
    expect(started).toEqual([])
  })

  test('a failing call gives its place back', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 1, total: 1 })
    await expect(bulkhead.run('tenant-a', undefined, async () => { throw new Error('503') })).rejects.toThrow('503')
    expect(await bulkhead.run('tenant-a', undefined, async () => 'next')).toBe('next')
  })

  test('never more than total calls on the wire, all compartments together', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 3, queuePerCompartment: 10, total: 4 })
    const { started, task } = calls()
    for (const tenant of ['a', 'b', 'c']) for (let i = 1; i <= 3; i++) void bulkhead.run(tenant, undefined, task(`${tenant}${i}`))
    await settle()
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1'])
  })

  test('freed places go to the waiting tenants in turn, not to the one that queued most', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 4, queuePerCompartment: 10, total: 2 })
    const { started, task, finish } = calls()
    // tenant a fills the pool and queues four more; b and c queue one each after it
    for (let i = 1; i <= 6; i++) void bulkhead.run('a', undefined, task(`a${i}`))
    void bulkhead.run('b', undefined, task('b1'))
    void bulkhead.run('c', undefined, task('c1'))
    await settle()
    expect(started).toEqual(['a1', 'a2'])
    for (const name of ['a1', 'a2', 'a3', 'b1', 'c1', 'a4']) {
      finish(name)
      await settle()
    }
    // a's third call was first in line; then b and c each got a turn before a's fourth and fifth
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'a4', 'a5', 'a6'])
  })

  test('a compartment blocked by its own limit does not hold up another that may run', async () => {
    const bulkhead = new Bulkhead({ perCompartment: 1, queuePerCompartment: 10, total: 3 })
    const { started, task, finish } = calls()
    void bulkhead.run('a', undefined, task('a1'))
    void bulkhead.run('a', undefined, task('a2'))
    void bulkhead.run('b', undefined, task('b1'))
    void bulkhead.run('b', undefined, task('b2'))
    await settle()
    expect(started).toEqual(['a1', 'b1'])
    finish('b1')
    await settle()
    // a waits ahead of b in line but may not run (a1 holds its only place): b's next call goes
    expect(started).toEqual(['a1', 'b1', 'b2'])
  })
})
