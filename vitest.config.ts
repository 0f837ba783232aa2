import { defineConfig } from 'vitest/config';

// Two projects. `unit` (test/unit/<concern>/): tests that start no process, need no build
// (dist/) and no service; `npm run test:unit` runs them alone, without building. `integration`
// (test/integration/<concern>/): measuring children, the built CLI and package, Python interop,
// chromium, Slurm; they run the built code, so `npm test` and `npm run test:integration`
// build first. Shared helpers live in test/helpers, data in test/fixtures.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
    ],
  },
});
