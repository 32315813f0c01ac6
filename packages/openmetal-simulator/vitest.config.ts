import { defineProject } from 'vitest/config'

// run alone (`npm test` here) or as one project of the repository's `npm test`
export default defineProject({
  test: {
    name: 'openmetal-simulator',
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks'
  }
})
