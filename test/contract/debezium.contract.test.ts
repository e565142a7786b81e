/**
 * The CDC contract against the real Debezium Server (fetched once with Maven into
 * .sumstream/cache/debezium/, then cached), run as `SUMSTREAM_CDC=debezium npm start` runs it.
 * Skipped only on a machine without `java` or `mvn`; with them it runs for real, and a Java too old
 * for Debezium Server (it needs 21+) fails with the fix.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { startDebezium } from '../../src/dev-stack/index.js';
import { freePort } from '../helpers/freePort.js';
import { describeCdcContract } from './cdcContract.js';

const missing = ['java', 'mvn'].filter((tool) => spawnSync('bash', ['-c', `command -v ${tool}`]).status !== 0);
/** One data folder for every start against the stack: the offsets file is how a restart resumes. */
let dataDir: string | undefined;

describeCdcContract(
  'Debezium Server',
  async (stack) => {
    dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'sumstream-debezium-'));
    const instance = await startDebezium({
      databaseUrl: stack.databaseUrl,
      amqpUrl: stack.amqpUrl,
      dataDir,
      slot: `${stack.slot}_debezium`,
      httpPort: await freePort(),
      javaHome: process.env['JAVA_HOME'],
      log: (line) => stack.logs.push(`debezium| ${line}`),
    });
    return { stop: instance.stop, kill: instance.kill };
  },
  {
    skip: missing.length > 0 ? `${missing.join(' and ')} not installed (Debezium Server is fetched with Maven and runs on Java 21+)` : undefined,
    // The first start on a machine may download Debezium Server (about 780 MB) and unpack it.
    startTimeoutMs: 600_000,
  },
);

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});
