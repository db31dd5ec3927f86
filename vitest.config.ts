import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS entry for everyone; Vite would pick its "module" entry for code
    // it transforms, and two copies of graphql refuse each other's schemas.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('node_modules/graphql/index.js', import.meta.url)) }],
  },
  test: {
    env: { APOLLO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', LOG_LEVEL: 'warn' },
    // Every test must run: a skipped or todo test fails the run (see the reporter).
    reporters: ['default', './test/support/fail-on-skip-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        // Integration and e2e tests share one project, so the real servers start once.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        // Slow fault tests: each kills, freezes or restarts servers of its own (test/support/private-*.ts),
        // but they time things and lean on the shared servers too, so they run after the rest, one file at
        // a time; the shared servers come from the same global setup.
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          maxWorkers: 1,
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
