/** Reading an OpenMetal answer in a test: what came out and what was skipped, or why it failed. */
import type { TSchema } from 'typebox'
import { readAnswer, type SkippedPart } from '../../src/openmetal/tolerant-reader.ts'
import { UnreadableAnswer } from '../../src/openmetal/errors.ts'
import type { Operation } from '../../src/openmetal/operations.ts'

/** readAnswer, with what it skipped. */
export function read<S extends TSchema> (schema: S, body: unknown, operation: Operation = 'getCloudStats'): { value: ReturnType<typeof readAnswer<S>>, skipped: SkippedPart[] } {
  const skipped: SkippedPart[] = []
  const value = readAnswer(schema, body, operation, (part) => { skipped.push(part) })
  return { value, skipped }
}

/** The UnreadableAnswer reading `body` throws. */
export function failure (schema: TSchema, body: unknown): UnreadableAnswer {
  try {
    readAnswer(schema, body, 'getCloudStats')
  } catch (error) {
    if (error instanceof UnreadableAnswer) return error
    throw error
  }
  throw new Error('expected the answer to be unreadable')
}
