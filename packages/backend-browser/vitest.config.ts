import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // tfjs keeps one global engine per process: run files in separate forks, tests in order.
    pool: 'forks',
    setupFiles: ['./test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
