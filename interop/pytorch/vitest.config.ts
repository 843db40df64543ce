import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Each test starts Python processes; on a loaded machine importing torch alone takes seconds.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
