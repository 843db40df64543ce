import { defineConfig } from 'vitest/config';

/** `pnpm soak`: the long WebGL run, kept out of `pnpm test` (minutes on a software renderer). */
export default defineConfig({
  test: {
    include: ['test/**/*.soak.ts'],
    pool: 'forks',
    hookTimeout: 180_000,
  },
});
