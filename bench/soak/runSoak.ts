/**
 * One soak run, start to finish:
 * 1. start the stack with short retention (SoakStack);
 * 2. measure the highest sustained Add rate (measureMaxRate), let it drain, take the sum as baseline;
 * 3. drive `loadFraction` of it open loop for `minutes` (Adds with unique operands, some keyed and
 *    retrying, plus GET /sum readers), a fault every `faultEverySeconds`, a sample every
 *    `sampleSeconds`, unknown outcomes settled against the ledger as they age;
 * 4. drain and check the sum exactly (checkSoakSum);
 * 5. fit every series after the warm-up (fitSeries) and judge it.
 */
import { performance } from 'node:perf_hooks';
import { type ServiceName, SERVICES } from '../../src/dev-stack/index.js';
import { runOpenLoop } from '../../src/load/openLoop.js';
import { RestSumTarget } from '../../src/load/restSumTarget.js';
import { checkSum, readSum } from '../../src/load/sumCheck.js';
import { TargetStats } from '../../src/load/targetStats.js';
import { sleep } from '../../src/shared/backoff.js';
import { waitSlotCaughtUp } from '../../test/chaos/storeChecks.js';
import { checkSoakSum, type SumEvidence } from './checkSoakSum.js';
import { drainAndCheck, readShards } from './drainAndCheck.js';
import { FaultCycle } from './faultCycle.js';
import { type FitWindow, fitSeries } from './fitSeries.js';
import { measureMaxRate } from './measureMaxRate.js';
import { ProcessScraper } from './processScraper.js';
import { OutcomeTally } from './resolveUnknowns.js';
import { type SoakSample, StackSampler } from './sampleStack.js';
import { SoakAddTarget } from './soakAddTarget.js';
import type { SoakOptions } from './soakOptions.js';
import { soakSeries } from './soakSeries.js';
import { SOAK_SLOT, SoakStack } from './soakStack.js';
import { describeSample } from './renderSoakReport.js';
import type { SoakReport } from './soakReport.js';

/** Deadline of one Add, ms. */
const DEADLINE_MS = 3000;
/** An unknown outcome is looked up this long after its last attempt, ms. */
const SETTLE_MS = 15_000;
const DRAIN_TIMEOUT_MS = 120_000;

export interface RunSoakInput {
  options: SoakOptions;
  command: string;
  processEnv: Record<string, string | undefined>;
  log: (line: string) => void;
  signal: AbortSignal;
}

function serviceEnv(options: SoakOptions): Record<ServiceName, Record<string, string>> {
  const r = options.retention;
  return {
    'add-service': {
      LEDGER_PARTITION_SECONDS: String(r.ledgerPartitionSeconds),
      LEDGER_RETENTION_SECONDS: String(r.ledgerRetentionSeconds),
      IDEMPOTENCY_KEY_RETENTION_SECONDS: String(r.idempotencyKeyRetentionSeconds),
    },
    'cdc-relay': {},
    'sum-service': {
      INBOX_RETENTION_SECONDS: String(r.inboxRetentionSeconds),
      INBOX_PRUNE_INTERVAL_SECONDS: String(r.inboxPruneIntervalSeconds),
    },
  };
}

/** Runs the soak and closes the stack; when it fails, the processes' logs are copied to `logsDir`. */
export async function runSoak(input: RunSoakInput, logsDir: string): Promise<SoakReport> {
  const startedAt = new Date();
  const stack = await SoakStack.start({
    processEnv: input.processEnv,
    serviceEnv: serviceEnv(input.options),
    log: input.log,
  });
  let report: SoakReport | undefined;
  try {
    report = await drive(stack, input, startedAt);
    return report;
  } finally {
    await stack.close(report?.ok === true ? undefined : logsDir);
  }
}

async function drive(stack: SoakStack, input: RunSoakInput, startedAt: Date): Promise<SoakReport> {
  const { options, log, signal } = input;
  const failures: string[] = [];

  // 2. The highest rate, then a quiet stack to start from.
  log(`ramp: closed loop up to ${options.rampWorkers} concurrent Adds for ${options.rampSeconds} s`);
  const ramp = await measureMaxRate({
    address: stack.grpcAddress,
    sumMetricsUrl: stack.metricsUrls['sum-service'],
    seconds: options.rampSeconds,
    workers: options.rampWorkers,
    connections: options.connections,
    log,
  });
  const rampCheck = await checkSum({
    read: () => readSum(stack.sumUrl, 3000),
    before: 0n,
    acknowledgedAdds: ramp.acknowledged,
    acknowledgedTotal: ramp.acknowledgedTotal,
    uncertainAdds: ramp.uncertain,
    uncertainTotal: ramp.uncertainTotal,
    drainTimeoutMs: 60_000,
  });
  if (rampCheck.status !== 'PASS') failures.push(`ramp: ${rampCheck.message}`);
  await waitSlotCaughtUp(stack, SOAK_SLOT, 30_000);
  const baseline = await readShards(stack);
  const rate = Math.max(1, Math.round(ramp.maxRate * options.loadFraction));
  log(
    `ramp: highest sustained rate ${Math.round(ramp.maxRate)}/s; soak at ${rate}/s (${options.loadFraction} of it); ${rampCheck.message}`,
  );

  // 3. The soak load, faults and samples.
  const keyedBudgetMs = Math.min(30_000, (options.retention.idempotencyKeyRetentionSeconds * 1000) / 2);
  const target = new SoakAddTarget({
    address: stack.grpcAddress,
    connections: options.connections,
    deadlineMs: DEADLINE_MS,
    keyedShare: options.keyedShare,
    keyedBudgetMs,
    runTag: `${startedAt.getTime().toString(36)}`,
  });
  await target.connect();
  const reader =
    options.readersPerSecond > 0
      ? new RestSumTarget({ baseUrl: stack.sumUrl, connections: 4, timeoutMs: 3000 })
      : undefined;
  const tally = new OutcomeTally(stack, target);
  const durationMs = options.minutes * 60_000;
  const t0 = performance.now();
  const scraper = new ProcessScraper(stack);
  scraper.start();
  const sampler = new StackSampler(stack, scraper, Date.now());
  const addStats = new TargetStats(t0);
  const readStats = new TargetStats(t0);
  const loads = Promise.all([
    runOpenLoop(target, addStats, {
      rate,
      startAt: t0,
      durationMs,
      maxRequests: undefined,
      maxInFlight: Math.max(1000, rate * 10),
      connections: options.connections,
      signal,
    }),
    reader
      ? runOpenLoop(reader, readStats, {
          rate: options.readersPerSecond,
          startAt: t0,
          durationMs,
          maxRequests: undefined,
          maxInFlight: 1000,
          connections: 4,
          signal,
        })
      : Promise.resolve(),
  ]);
  const faults = new FaultCycle(stack, {
    everySeconds: options.faultEverySeconds,
    lastStartSeconds: options.minutes * 60 - Math.min(30, options.faultEverySeconds / 2),
    startedAt: t0,
    now: () => performance.now(),
    log,
  });
  faults.start();
  const samples: SoakSample[] = [];
  for (let k = 1; k * options.sampleSeconds * 1000 <= durationMs; k++) {
    if (!(await sleep(Math.max(0, t0 + k * options.sampleSeconds * 1000 - performance.now()), signal))) break;
    const now = performance.now();
    const sample = await sampler.sample({
      t: Math.round((now - t0) / 100) / 10,
      duringFault: faults.busy,
      add: addStats.closeWindow(now),
      reads: reader ? readStats.closeWindow(now) : undefined,
      unknownPending: target.pending.length,
    });
    samples.push(sample);
    log(describeSample(sample));
    await tally.settle(Date.now() - SETTLE_MS);
  }
  log('load over: waiting for the Adds in flight');
  await loads;
  const faultRecords = await faults.stop();
  await scraper.stop();
  await target.close();
  await reader?.close();

  // 4. Settle the last unknown outcomes, drain, check.
  if (target.pending.length > 0) {
    await sleep(SETTLE_MS);
    for (let attempt = 0; attempt < 5 && target.pending.length > 0; attempt++) {
      await tally.settle(Date.now());
      if (target.pending.length > 0) await sleep(2000);
    }
  }
  const unresolved = target.pending.length;
  const expectedApplied = baseline.applied + BigInt(target.acknowledged + tally.recorded);
  log(`draining: ${target.acknowledged} acknowledged + ${tally.recorded} recorded unknown outcomes to apply`);
  const drain = await drainAndCheck(stack, expectedApplied, options.retention, DRAIN_TIMEOUT_MS);
  const evidence: SumEvidence = {
    baselineSum: baseline.sum,
    baselineApplied: baseline.applied,
    acknowledged: target.acknowledged,
    acknowledgedTotal: target.acknowledgedTotal,
    recorded: tally.recorded,
    recordedTotal: tally.recordedTotal,
    notRecorded: tally.notRecorded,
    unresolved,
    wrongAnswers: target.wrongAnswers,
    ...drain,
  };
  const sum = checkSoakSum(evidence);
  failures.push(...sum.violations);
  for (const fault of faultRecords)
    if (!fault.ok) failures.push(`fault ${fault.index} (${fault.kind}): ${fault.detail}`);
  const unexpectedExits = SERVICES.flatMap((s) => stack.services[s].unexpectedExits);
  failures.push(...unexpectedExits.map((exit) => `crash: ${exit}`));

  // 5. Fits.
  const fitWindow: FitWindow = {
    from: options.warmupMinutes * 60,
    to: samples[samples.length - 1]?.t ?? 0,
    settleSeconds: options.settleSeconds,
    minPoints: Math.max(3, Math.ceil(60 / options.sampleSeconds)),
  };
  const fits = soakSeries(samples, rate).map((series) => fitSeries(series, fitWindow));
  for (const fit of fits) if (fit.status === 'fail') failures.push(`trend: ${fit.label}`);
  const add = addStats.snapshot();
  return {
    tool: 'sumstream-soak',
    command: input.command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: stack.machine,
    options,
    ramp: { steps: ramp.steps, maxRate: ramp.maxRate, sumCheck: rampCheck.message },
    load: {
      ratePerSecond: rate,
      deadlineMs: DEADLINE_MS,
      keyedBudgetMs,
      operations: add.requests,
      acknowledged: target.acknowledged,
      replayed: target.replayed,
      refused: target.refused,
      dropped: add.dropped,
      errorsByCode: target.errorsByCode,
      unknown: target.unknownTotal,
      unknownRecorded: tally.recorded,
      unknownNotRecorded: tally.notRecorded,
      reads: { ok: readStats.ok, errors: readStats.errors },
    },
    faults: faultRecords,
    unexpectedExits,
    samples,
    fitWindow,
    fits,
    sum: {
      ...sum,
      expectedSum: String(sum.expectedSum),
      expectedApplied: String(sum.expectedApplied),
      restSum: drain.restSum === undefined ? undefined : String(drain.restSum),
      appliedEvents: drain.appliedEvents === undefined ? undefined : String(drain.appliedEvents),
      window: drain.window,
      drainMs: drain.drainMs,
    },
    aborted: signal.aborted,
    ok: failures.length === 0,
    failures,
  };
}
