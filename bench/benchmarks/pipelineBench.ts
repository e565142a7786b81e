/**
 * The whole pipeline (add-service, cdc-relay, sum-service, PostgreSQL, RabbitMQ on one machine):
 * 1. Adds as fast as the clients get them accepted, while sampling the backlog (accepted minus
 *    applied), the slot lag and the queue depth. When the backlog stays bounded and drains at
 *    once, the pipeline kept up with the accept rate (ratio 1.0). Otherwise lower open-loop rates
 *    are tried until one is sustained.
 * 2. At half the sustained rate, open loop: end-to-end latency from the Add's commit to the sum
 *    change committed (the sum-service's histogram; GET /sum serves that commit from then on).
 */
import amqp from 'amqplib';
import { sleep } from '../../src/shared/backoff.js';
import { METRIC } from '../../src/shared/metrics/metricNames.js';
import { startStack, type Stack } from '../../test/helpers/startStack.js';
import { type BenchOutcome, type BenchRow, fmt } from '../benchResult.js';
import type { BenchEnvironment } from '../benchEnvironment.js';
import { checkSum } from '../../src/load/sumCheck.js';
import { GHZ_ADD_TOTAL, ghzRun } from '../clients/ghzRun.js';
import { loadToolRun } from '../clients/loadToolRun.js';
import { toolPath } from '../clients/toolPath.js';
import { groupPssMiB, peakSampler, processMemory } from '../processMemory.js';
import {
  bucketQuantile,
  bucketsBetween,
  histogramBuckets,
  metricValue,
  scrapeMetrics,
  shareWithin,
} from '../scrapeMetrics.js';

export interface PipelineBenchOptions {
  durationSeconds: number;
  /** Concurrent Adds of the closed-loop run. */
  concurrency: number;
  connections: number;
}

interface Sample {
  seconds: number;
  accepted: number;
  applied: number;
  slotLagBytes: number;
  queueReady: number;
}

interface Window {
  accepted: number;
  applied: number;
  seconds: number;
  /** Highest backlog (accepted - applied) in the first and the second half of the run. */
  firstHalfBacklog: number;
  secondHalfBacklog: number;
  maxSlotLagBytes: number;
  maxQueueReady: number;
  /** From the end of the load until everything accepted was applied. */
  drainSeconds: number;
}

type Page = 'add' | 'relay' | 'sum';

/** The /metrics pages of the three processes, each fetched once. */
async function scrapeAll(stack: Stack): Promise<Record<Page, string>> {
  const [add, relay, sum] = await Promise.all([
    scrapeMetrics(`http://127.0.0.1:${stack.ports.addMetrics}/metrics`),
    scrapeMetrics(`http://127.0.0.1:${stack.ports.relayMetrics}/metrics`),
    scrapeMetrics(`http://127.0.0.1:${stack.ports.sum}/metrics`),
  ]);
  return { add: add, relay: relay, sum: sum };
}

async function sampleOnce(stack: Stack, channel: amqp.Channel, t0: number): Promise<Sample> {
  const [{ add, relay, sum }, queue] = await Promise.all([scrapeAll(stack), channel.checkQueue('addition')]);
  return {
    seconds: (performance.now() - t0) / 1000,
    accepted: metricValue(add, METRIC.additionsAccepted),
    applied: metricValue(sum, METRIC.eventsApplied),
    slotLagBytes: metricValue(relay, METRIC.relaySlotLag),
    queueReady: queue.messageCount,
  };
}

/** Runs `load` while sampling every 250 ms, then waits for the backlog to drain (at most 60 s). */
async function observe<T>(
  stack: Stack,
  channel: amqp.Channel,
  load: () => Promise<T>,
): Promise<Window & { result: T }> {
  const t0 = performance.now();
  const start = await sampleOnce(stack, channel, t0);
  const samples: Sample[] = [];
  let loading = true;
  const sampler = (async () => {
    while (loading) {
      samples.push(await sampleOnce(stack, channel, t0));
      await sleep(250);
    }
  })();
  let result: T;
  try {
    result = await load();
  } finally {
    loading = false;
    await sampler;
  }
  const end = await sampleOnce(stack, channel, t0);
  let drained = end;
  while (drained.applied - start.applied < end.accepted - start.accepted && drained.seconds - end.seconds < 60) {
    await sleep(20);
    drained = await sampleOnce(stack, channel, t0);
  }
  const half = end.seconds / 2;
  const backlog = (s: Sample): number => s.accepted - start.accepted - (s.applied - start.applied);
  return {
    accepted: end.accepted - start.accepted,
    applied: end.applied - start.applied,
    seconds: end.seconds - start.seconds,
    firstHalfBacklog: Math.max(0, ...samples.filter((s) => s.seconds < half).map(backlog)),
    secondHalfBacklog: Math.max(0, ...samples.filter((s) => s.seconds >= half).map(backlog)),
    maxSlotLagBytes: Math.max(0, ...samples.map((s) => s.slotLagBytes)),
    maxQueueReady: Math.max(0, ...samples.map((s) => s.queueReady)),
    drainSeconds: drained.seconds - end.seconds,
    result,
  };
}

/** Bounded: the backlog did not keep growing (second half at most 1.5x the first plus 250 ms of traffic) and drained within 2 s. */
function bounded(w: Window): boolean {
  const rate = w.accepted / w.seconds;
  return w.secondHalfBacklog <= 1.5 * w.firstHalfBacklog + rate * 0.25 && w.drainSeconds <= 2;
}

function describe(w: Window): string {
  return `accepted ${fmt.int(w.accepted)} (${fmt.rate(w.accepted / w.seconds)}), applied during the run ${fmt.int(w.applied)}, backlog max ${fmt.int(w.firstHalfBacklog)} / ${fmt.int(w.secondHalfBacklog)} (first / second half), slot lag max ${fmt.int(w.maxSlotLagBytes)} B, queue ready max ${fmt.int(w.maxQueueReady)}, drained ${w.drainSeconds.toFixed(2)} s after the load`;
}

export async function pipelineBench(
  env: BenchEnvironment,
  options: PipelineBenchOptions,
  log: (line: string) => void,
): Promise<BenchOutcome> {
  const stack = await startStack({
    databaseUrl: env.databaseUrl,
    amqpManagementUrl: env.amqpManagementUrl,
    env: { LOG_LEVEL: 'warn' },
  });
  const connection = await amqp.connect(stack.amqpUrl);
  const channel = await connection.createChannel();
  const details: string[] = [];
  const rows: BenchRow[] = [];
  const grpc = `127.0.0.1:${stack.ports.grpc}`;
  const addArgs = [
    '--target',
    'add',
    '--connections',
    String(options.connections),
    '--duration',
    `${options.durationSeconds}s`,
    '--grpc',
    grpc,
    '--rest',
    `http://127.0.0.1:${stack.ports.sum}`,
  ];
  const ghz = toolPath('ghz', env.processEnv);
  try {
    const infra = {
      postgres: peakSampler(() => groupPssMiB(`${env.runDir}/postgres`)),
      rabbitmq: peakSampler(() => groupPssMiB(`${env.runDir}/rabbitmq`)),
    };
    // The lightest client available (ghz: Go) leaves the most CPU to the pipeline. Without a rate:
    // as fast as Adds are accepted. Either way GET /sum must end exactly where the answers say.
    const client = ghz ? 'ghz' : 'sumstream-load';
    // Returns the Add p99 and the check to run once the load is over (outside the observed window).
    const drive = async (rate?: number): Promise<{ addP99: number; verify: () => Promise<void> }> => {
      if (!ghz) {
        const report = await loadToolRun([
          ...addArgs,
          '--check-sum',
          ...(rate
            ? ['--mode', 'open', '--rate', String(rate)]
            : ['--mode', 'closed', '--workers', String(options.concurrency)]),
        ]);
        return { addP99: report.latencyMs.p99, verify: async () => undefined };
      }
      const before = await stack.sum();
      const result = await ghzRun({
        ghz,
        address: grpc,
        concurrency: rate ? Math.max(16, Math.min(options.concurrency, Math.ceil(rate / 50))) : options.concurrency,
        connections: options.connections,
        durationSeconds: options.durationSeconds,
        rps: rate,
      });
      const verify = async () => {
        if (result.errors > 0)
          throw new Error(`${result.errors} Adds failed during the pipeline run: ${result.errorKinds?.join('; ')}`);
        // Calls cut off when the time was up may or may not have been recorded.
        const cut = BigInt(result.cutOff ?? 0);
        const check = await checkSum({
          read: () => stack.sum(),
          before,
          acknowledgedAdds: result.ok,
          acknowledgedTotal: GHZ_ADD_TOTAL * BigInt(result.ok),
          uncertainAdds: Number(cut),
          uncertainTotal: GHZ_ADD_TOTAL * cut,
          drainTimeoutMs: 60_000,
        });
        if (check.status !== 'PASS') throw new Error(`pipeline run: ${check.message}`);
      };
      return { addP99: result.p99Ms, verify };
    };

    // 1. As fast as Adds are accepted.
    const full = await observe(stack, channel, () => drive());
    await full.result.verify();
    const acceptRate = full.accepted / full.seconds;
    log(`  pipeline at the accept rate: ${describe(full)}`);
    details.push(
      `Pipeline, closed loop (${options.concurrency} concurrent Adds, ${client}): ${describe(full)}; GET /sum equal to the answers' total afterwards.`,
    );
    // Bounded at the accept rate: the pipeline sustains all of it (ratio 1 by definition).
    let sustained = bounded(full) ? acceptRate : 0;
    for (const share of [0.9, 0.8, 0.7, 0.6, 0.5]) {
      if (sustained > 0) break;
      const rate = Math.round(acceptRate * share);
      const w = await observe(stack, channel, () => drive(rate));
      await w.result.verify();
      log(`  pipeline at ${rate}/s: ${describe(w)}`);
      details.push(`Pipeline at ${fmt.rate(rate)} (${client}): ${describe(w)}.`);
      if (bounded(w)) sustained = w.accepted / w.seconds;
    }
    rows.push({
      benchmark: 'Pipeline sustained rate',
      measure: 'highest Add rate with backlog, slot lag and queue depth bounded / accept rate',
      sumstream:
        sustained > 0
          ? `${fmt.rate(sustained)} (applied ${fmt.rate(full.applied / full.seconds)} during the run, drained ${full.drainSeconds.toFixed(2)} s after)`
          : `none down to ${fmt.rate(acceptRate * 0.5)}`,
      baseline: `${fmt.rate(acceptRate)} accepted (closed loop, whole stack running)`,
      ratio: fmt.ratio(sustained / acceptRate),
      goal: '1.0x',
      met: sustained / acceptRate >= 0.99,
    });

    // 2. Latency at half that rate.
    const rate = Math.max(1, Math.round((sustained > 0 ? sustained : acceptRate * 0.5) / 2));
    // Where the time goes: each stage's histogram over the same run.
    const stages: { label: string; page: Page; metric: string }[] = [
      { label: 'Add transaction', page: 'add', metric: METRIC.addTransactionDuration },
      { label: 'relay publish-to-confirm', page: 'relay', metric: METRIC.relayConfirmDuration },
      { label: 'queue (publish to delivery)', page: 'sum', metric: METRIC.queueTime },
      { label: 'apply transaction', page: 'sum', metric: METRIC.applyDuration },
    ];
    const pagesBefore = await scrapeAll(stack);
    const half = await observe(stack, channel, () => drive(rate));
    await half.result.verify();
    const addP99 = half.result.addP99;
    const pagesAfter = await scrapeAll(stack);
    const between = (page: Page, metric: string) =>
      bucketsBetween(histogramBuckets(pagesBefore[page], metric), histogramBuckets(pagesAfter[page], metric));
    const buckets = between('sum', METRIC.endToEndLatency);
    const stageLines = stages.map((stage) => {
      const b = between(stage.page, stage.metric);
      return `${stage.label} p50 ${fmt.ms(bucketQuantile(b, 0.5) * 1000)} / p99 ${fmt.ms(bucketQuantile(b, 0.99) * 1000)}`;
    });
    details.push(`End-to-end latency by stage at ${fmt.rate(rate)}: ${stageLines.join('; ')}.`);
    const p50 = bucketQuantile(buckets, 0.5) * 1000;
    const p99 = bucketQuantile(buckets, 0.99) * 1000;
    const within50 = shareWithin(buckets, 0.05);
    log(
      `  pipeline at ${rate}/s: ${describe(half)}; end-to-end p50 ${fmt.ms(p50)}, p99 ${fmt.ms(p99)}, ${(within50 * 100).toFixed(2)} % within 50 ms`,
    );
    details.push(
      `Pipeline at ${fmt.rate(rate)} (half the sustained rate, ${client}): ${describe(half)}; Add p99 ${fmt.ms(addP99)}; end-to-end: ${fmt.int(buckets.get(Number.POSITIVE_INFINITY) ?? 0)} events, ${(within50 * 100).toFixed(2)} % within 50 ms (histogram buckets, quantiles interpolated inside a bucket).`,
    );
    rows.push({
      benchmark: 'End-to-end latency',
      measure: `Add commit -> sum committed, at ${fmt.rate(rate)} (50 % of sustained)`,
      sumstream: `p50 ${fmt.ms(p50)}, p99 ${fmt.ms(p99)}`,
      baseline: '',
      ratio: '',
      goal: 'p99 < 50 ms',
      met: within50 >= 0.99,
    });

    // Resident memory of every process at its peak (VmHWM: the kernel's high-water mark).
    const memory: string[] = [];
    for (const [name, child] of stack.processes) {
      const m = await processMemory(child.pid!);
      if (m) memory.push(`${name} ${fmt.mib(m.peakMiB)}`);
    }
    memory.push(
      `PostgreSQL (all processes, PSS) ${fmt.mib(await infra.postgres.stop())}`,
      `RabbitMQ (PSS) ${fmt.mib(await infra.rabbitmq.stop())}`,
    );
    rows.push({
      benchmark: 'Resident memory at peak',
      measure: 'after the pipeline runs (VmHWM; PSS sampled for the servers)',
      sumstream: memory.join(', '),
      baseline: '',
      ratio: '',
      goal: 'reported',
      met: undefined,
    });
    return { rows, details };
  } finally {
    await connection.close().catch(() => undefined);
    await stack.stop();
  }
}
