import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // one run, one summary: the server's tests and each workspace package's own
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          include: ['test/**/*.test.ts'],
          // the soak test measures the heap after a real collection
          execArgv: ['--expose-gc']
        }
      },
      'packages/*'
    ],
    reporters: ['default', './test/helpers/summary-reporter.ts']
  }
})
