import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // graphql 16 ships CJS (main) and ESM (module). Node, and so every library, loads the CJS
  // one; Vite would give our sources the ESM one, and `instanceof GraphQLError` would fail.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts'],
    // One Redis Cluster for the run, shared by the contract suites' cluster backends.
    globalSetup: ['./test/global-setup/redis-cluster.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
