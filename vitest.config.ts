import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * Test tiers, by file name (docs/testing.md):
 * - unit   `*.unit.test.ts`: pure code, no server, files in parallel; runs first so a broken build fails fast.
 * - int    `*.int.test.ts`: one component against the real PostgreSQL and RabbitMQ of the global setup.
 * - e2e    `*.e2e.test.ts` and `*.contract.test.ts`: real processes (and Debezium Server) over the wire.
 * - chaos  `*.chaos.test.ts`: the short seeded chaos run, on servers of its own that it kills.
 */
const withServers: TestProjectInlineConfiguration['test'] = {
  globalSetup: ['test/helpers/globalSetup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  // The tier shares one PostgreSQL and one RabbitMQ; the files run one at a time.
  fileParallelism: false,
};

const projects: TestProjectInlineConfiguration[] = [
  { test: { name: 'unit', include: ['test/**/*.unit.test.ts'], testTimeout: 10_000 } },
  { test: { name: 'int', include: ['test/**/*.int.test.ts'], ...withServers } },
  { test: { name: 'e2e', include: ['test/**/*.e2e.test.ts', 'test/**/*.contract.test.ts'], ...withServers } },
  {
    test: {
      name: 'chaos',
      include: ['test/**/*.chaos.test.ts'],
      testTimeout: 300_000,
      hookTimeout: 120_000,
      fileParallelism: false,
    },
  },
];

export default defineConfig({ test: { projects } });
