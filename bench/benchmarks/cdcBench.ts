/**
 * Change data capture, built-in relay against Debezium Server, on the same workload: N Adds are
 * committed while no CDC runs (both slots exist, so both hold the same WAL); then each CDC in
 * turn streams the backlog into RabbitMQ (nothing consumes), timed from the first message in the
 * queue to the N-th. Resident memory is each process's high-water mark (VmHWM).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { sleep } from '../../src/shared/backoff.js';
import { freePort, startDebezium } from '../../src/dev-stack/index.js';
import { commonConfig, defaultTopology } from '../../src/shared/config/commonConfig.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { startStack } from '../../test/helpers/startStack.js';
import { type BenchOutcome, type BenchRow, fmt } from '../benchResult.js';
import type { BenchEnvironment } from '../benchEnvironment.js';
import { loadToolRun } from '../clients/loadToolRun.js';
import { processMemory } from '../processMemory.js';

const TOPOLOGY = defaultTopology();

export interface CdcBenchOptions {
  events: number;
  /** Skip Debezium Server (no Java 21+ / Maven here). */
  debezium: boolean;
}

interface Drain {
  /** From starting the CDC process to the first message in the queue. */
  startSeconds: number;
  /** From the first message to the last. */
  streamSeconds: number;
  eventsPerSecond: number;
  peakMiB: number;
}

/** Polls the queue until it holds `events` messages; the CDC process must be starting when called. */
async function timeDrain(
  channel: amqp.Channel,
  queue: string,
  events: number,
  started: number,
  pid: () => number | undefined,
): Promise<Drain> {
  let first = 0;
  let peakMiB = 0;
  for (;;) {
    const { messageCount } = await channel.checkQueue(queue);
    const now = performance.now();
    if (messageCount > 0 && first === 0) first = now;
    const id = pid();
    if (id !== undefined) peakMiB = Math.max(peakMiB, (await processMemory(id))?.peakMiB ?? 0);
    if (messageCount >= events) {
      const streamSeconds = (now - first) / 1000;
      return {
        startSeconds: (first - started) / 1000,
        streamSeconds,
        eventsPerSecond: events / Math.max(streamSeconds, 0.001),
        peakMiB,
      };
    }
    if (now - started > 600_000)
      throw new Error(`only ${messageCount} of ${events} events reached the queue in 10 minutes`);
    await sleep(20);
  }
}

export async function cdcBench(
  env: BenchEnvironment,
  options: CdcBenchOptions,
  log: (line: string) => void,
): Promise<BenchOutcome> {
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    amqpManagementUrl: env.amqpManagementUrl,
    env: { LOG_LEVEL: 'warn' },
    services: ['add-service'],
  });
  const connection = await amqp.connect(stack.amqpUrl);
  const channel = await connection.createChannel();
  const details: string[] = [];
  const rows: BenchRow[] = [];
  const debeziumSlot = `${stack.slot}_debezium`;
  try {
    await assertTopology(channel, commonConfig({}).topology);
    for (const slot of [stack.slot, debeziumSlot])
      await stack.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    log(`  committing ${fmt.int(options.events)} Adds with no CDC running`);
    await loadToolRun([
      '--target',
      'add',
      '--mode',
      'closed',
      '--workers',
      '100',
      '--connections',
      '8',
      '--duration',
      '10m',
      '--max-requests',
      String(options.events),
      '--grpc',
      `127.0.0.1:${stack.ports.grpc}`,
    ]);
    const outbox = Number((await stack.query<{ n: string }>('SELECT count(*)::text AS n FROM additions'))[0]?.n);
    if (outbox !== options.events) throw new Error(`expected ${options.events} additions, found ${outbox}`);

    const relayStarted = performance.now();
    await stack.start('cdc-relay', { waitReady: false });
    const relay = await timeDrain(
      channel,
      TOPOLOGY.queue,
      options.events,
      relayStarted,
      () => stack.processes.get('cdc-relay')?.pid,
    );
    await stack.kill('cdc-relay', 'SIGTERM');
    log(
      `  relay: ${fmt.rate(relay.eventsPerSecond)}, first message ${relay.startSeconds.toFixed(2)} s after start, peak ${fmt.mib(relay.peakMiB)}`,
    );
    await channel.purgeQueue(TOPOLOGY.queue);

    let debezium: Drain | undefined;
    if (options.debezium) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sumstream-bench-debezium-'));
      const started = performance.now();
      let pid: number | undefined;
      const instance = startDebezium({
        baseEnv: env.processEnv,
        databaseUrl: stack.databaseUrl,
        amqpUrl: stack.amqpUrl,
        dataDir,
        slot: debeziumSlot,
        httpPort: await freePort(),
        javaHome: env.processEnv['JAVA_HOME'],
        startTimeoutMs: 600_000,
        // The slot already holds the workload: stream it, do not snapshot the outbox table as well.
        env: { DEBEZIUM_SOURCE_SNAPSHOT_MODE: 'no_data' },
      });
      instance.then((i) => (pid = i.process.pid)).catch(() => undefined);
      try {
        debezium = await Promise.race([
          timeDrain(channel, TOPOLOGY.queue, options.events, started, () => pid),
          instance.then(() => new Promise<never>(() => undefined)),
        ]);
        if (pid !== undefined) debezium.peakMiB = Math.max(debezium.peakMiB, (await processMemory(pid))?.peakMiB ?? 0);
      } finally {
        await (await instance.catch(() => undefined))?.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
      log(
        `  Debezium Server: ${fmt.rate(debezium.eventsPerSecond)}, first message ${debezium.startSeconds.toFixed(2)} s after start, peak ${fmt.mib(debezium.peakMiB)}`,
      );
    } else details.push('Debezium Server skipped (--no-debezium, or no Java 21+ and Maven).');

    rows.push({
      benchmark: 'CDC throughput',
      measure: `${fmt.int(options.events)} outbox events from the WAL into RabbitMQ (publisher confirms)`,
      sumstream: `relay ${fmt.rate(relay.eventsPerSecond)}`,
      baseline: debezium ? `Debezium Server ${fmt.rate(debezium.eventsPerSecond)}` : 'skipped',
      ratio: debezium ? fmt.ratio(relay.eventsPerSecond / debezium.eventsPerSecond) : '',
      goal: 'reported',
      met: undefined,
    });
    rows.push({
      benchmark: 'CDC resident memory',
      measure: 'peak (VmHWM) while streaming that backlog',
      sumstream: `relay ${fmt.mib(relay.peakMiB)}`,
      baseline: debezium ? `Debezium Server ${fmt.mib(debezium.peakMiB)} (JVM, -Xmx1g)` : 'skipped',
      ratio: debezium ? fmt.ratio(relay.peakMiB / debezium.peakMiB) : '',
      goal: 'reported',
      met: undefined,
    });
    details.push(
      `CDC start to first message: relay ${relay.startSeconds.toFixed(2)} s${debezium ? `, Debezium Server ${debezium.startSeconds.toFixed(2)} s (JVM start)` : ''}; streaming ${fmt.int(options.events)} events took relay ${relay.streamSeconds.toFixed(2)} s${debezium ? `, Debezium Server ${debezium.streamSeconds.toFixed(2)} s` : ''}.`,
    );
    return { rows, details };
  } finally {
    await connection.close().catch(() => undefined);
    await stack.stop();
  }
}
