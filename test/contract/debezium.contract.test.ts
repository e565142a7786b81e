/**
 * The CDC contract against the real Debezium Server, run as `SUMSTREAM_CDC=debezium npm start` runs
 * it. The server is installed before the tests by scripts/install-test-tools.sh (npm test runs it)
 * into the per-user cache, never fetched here: without it, or without a Java 21+, the suite fails
 * with the command that fixes it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { DEBEZIUM_VERSION, debeziumHome, freePort, startDebezium } from '../../src/dev-stack/index.js';
import { describeCdcContract } from './cdcContract.js';

/** One data folder for every start against the stack: the offsets file is how a restart resumes. */
let dataDir: string | undefined;

describeCdcContract(
  'Debezium Server',
  async (stack) => {
    dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'sumstream-debezium-'));
    const instance = await startDebezium({
      baseEnv: process.env,
      databaseUrl: stack.databaseUrl,
      amqpUrl: stack.amqpUrl,
      dataDir,
      slot: `${stack.slot}_debezium`,
      httpPort: await freePort(),
      installDir: debeziumHome(DEBEZIUM_VERSION, process.env),
      javaHome: process.env['JAVA_HOME'],
      log: (line) => stack.logs.push(`debezium| ${line}`),
    });
    return { stop: instance.stop, kill: instance.kill };
  },
  // A JVM start and the connector's snapshot of the (empty) outbox take seconds; 180 s is
  // startDebezium's own limit, for a loaded machine.
  { startTimeoutMs: 180_000 },
);

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});
