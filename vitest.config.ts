import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // the soak test measures the heap after a real collection
    execArgv: ['--expose-gc'],
    reporters: ['default', './test/helpers/summary-reporter.ts']
  }
})
