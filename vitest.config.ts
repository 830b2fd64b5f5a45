import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@ordo/source'] },
  ssr: { resolve: { conditions: ['@ordo/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
