/**
 * One chaos run, start to finish (after Jepsen's workloads and TigerBeetle's VOPR: a seeded fault
 * schedule against the real thing, then a checker over what the clients saw):
 *
 * 1. start an own PostgreSQL, RabbitMQ and the three processes (ChaosStack);
 * 2. drive Adds from many concurrent clients (LoadGenerator), some keyed and retrying;
 * 3. inject the seeded schedule of faults, each waiting until its target is back up;
 * 4. stop the load, wait for the pipeline to drain (every ledger row applied, queue empty);
 * 5. check: slot caught up, nothing unacknowledged or dead-lettered, then the history against the
 *    ledger, the inbox and the sum (checkHistory);
 * 6. stop and delete everything; return a ChaosReport.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type ServiceName, SERVICES, sleep } from '../../src/dev-stack/index.js';
import { ChaosStack, SLOT } from './chaosStack.js';
import { checkHistory, type StoreSnapshot, type Verdict } from './checkHistory.js';
import {
  DEAD_LETTER_QUEUE,
  QUEUE,
  readStores,
  retry,
  unacknowledged,
  waitDrained,
  waitSlotCaughtUp,
} from './storeChecks.js';
import { FAULT_KINDS, FAULT_TARGET, type FaultKind, type FaultTarget, injectFault, planFaults } from './faults.js';
import { LoadGenerator, type LoadStats } from './loadClients.js';

export interface ChaosOptions {
  seed: number;
  /** Faults to inject. */
  faults: number;
  /** Concurrent clients. */
  clients: number;
  /** Fault kinds to draw from. Default: all. */
  kinds?: readonly FaultKind[];
  /** Time from one fault's start to the next one's, ms (see `overlap`). Default [500, 1500]. */
  intervalMs?: readonly [number, number];
  /** How long a killed process stays down, ms. Default [0, 1500]. */
  downMs?: readonly [number, number];
  /** Most faults in progress at once (never two on one target); 1: each fault ends before the quiet time to the next starts. Default 3. */
  overlap?: number;
  /** Mean pause between one client's Adds, ms. Default 50. */
  thinkMs?: number;
  /** Share of clients using idempotency keys. Default 0.5. */
  keyedShare?: number;
  /** Deadline of each Add, ms. Default 3000. */
  deadlineMs?: number;
  /** The run fails when draining takes longer than this after the last fault, ms. Default 30000. */
  maxDrainMs?: number;
  /** Load before the first fault, ms. Default 2000. */
  warmupMs?: number;
  /** Keep `.sumstream/chaos/<seed>-<pid>/` (logs, data) after the run. Default: SUMSTREAM_KEEP_TEST_DATA=1. */
  keepData?: boolean;
  /** LOG_LEVEL of the SumStream processes (their logs go to `logs/<service>.log` in the run's folder). Default warn. */
  logLevel?: string;
  /** Progress lines (one per fault). Default: discard. */
  log?: (line: string) => void;
  /** Aborting stops injecting faults; the run still drains and checks. */
  signal?: AbortSignal;
}

export interface FaultRecord {
  index: number;
  kind: FaultKind;
  /** Seconds since the run started. */
  at: number;
  durationMs: number;
  detail: string;
  effective: boolean;
}

export interface ChaosReport {
  seed: number;
  ok: boolean;
  /** Every violated expectation: the checker's, plus drain time, recovery and slot. */
  violations: string[];
  /** The command that replays this schedule and workload. */
  reproduce: string;
  options: Required<Omit<ChaosOptions, 'log' | 'signal' | 'keepData' | 'logLevel'>>;
  durationMs: number;
  faults: FaultRecord[];
  faultsByKind: Record<FaultKind, number>;
  faultsInjected: number;
  faultsSkipped: number;
  aborted: boolean;
  load: LoadStats;
  /** From the end of the last fault (its target back up) to drained; undefined when it never drained. */
  drainMs: number | undefined;
  /** From drained until the slot's confirmed LSN reached the WAL position taken after the drain. */
  slotCatchUpMs: number | undefined;
  /**
   * `addition`: messages_unacknowledged per the management API once drained (consumer still running),
   * and ready messages after the consumer stopped gracefully; `addition.dead-letter`: its depth.
   */
  queues: {
    unacknowledgedAtDrain: number | undefined;
    readyAfterStop: number | undefined;
    deadLettered: number | undefined;
  };
  /** Processes that exited on their own and were restarted by the harness's supervisor. */
  supervisorRestarts: Record<ServiceName, number>;
  unexpectedExits: string[];
  /** The last output lines before each such exit (in the same order). */
  exitOutputs: string[];
  verdict: Verdict | undefined;
  dataDir: string | undefined;
  keptData: boolean;
}

export const CHAOS_DEFAULTS = {
  faults: 200,
  clients: 50,
  intervalMs: [500, 1500] as const,
  downMs: [0, 1500] as const,
  overlap: 3,
  thinkMs: 50,
  keyedShare: 0.5,
  deadlineMs: 3000,
  maxDrainMs: 30_000,
  warmupMs: 2000,
};

/** `npm run chaos -- …` with every option that differs from the defaults, plus seed, faults and clients. */
export function reproduceCommand(o: ChaosReport['options']): string {
  const args = [`--seed ${o.seed}`, `--faults ${o.faults}`, `--clients ${o.clients}`];
  if (o.kinds.length !== FAULT_KINDS.length || o.kinds.some((k, i) => k !== FAULT_KINDS[i]))
    args.push(`--kinds ${o.kinds.join(',')}`);
  if (o.intervalMs.join('-') !== CHAOS_DEFAULTS.intervalMs.join('-')) args.push(`--interval ${o.intervalMs.join('-')}`);
  if (o.downMs.join('-') !== CHAOS_DEFAULTS.downMs.join('-')) args.push(`--down ${o.downMs.join('-')}`);
  if (o.overlap !== CHAOS_DEFAULTS.overlap) args.push(`--overlap ${o.overlap}`);
  if (o.thinkMs !== CHAOS_DEFAULTS.thinkMs) args.push(`--think ${o.thinkMs}`);
  if (o.keyedShare !== CHAOS_DEFAULTS.keyedShare) args.push(`--keyed ${o.keyedShare}`);
  if (o.deadlineMs !== CHAOS_DEFAULTS.deadlineMs) args.push(`--deadline ${o.deadlineMs}`);
  if (o.maxDrainMs !== CHAOS_DEFAULTS.maxDrainMs) args.push(`--max-drain ${o.maxDrainMs / 1000}`);
  if (o.warmupMs !== CHAOS_DEFAULTS.warmupMs) args.push(`--warmup ${o.warmupMs}`);
  return `npm run chaos -- ${args.join(' ')}`;
}

export async function runChaos(input: ChaosOptions): Promise<ChaosReport> {
  const options: ChaosReport['options'] = {
    seed: input.seed >>> 0,
    faults: input.faults,
    clients: input.clients,
    kinds: input.kinds ?? FAULT_KINDS,
    intervalMs: input.intervalMs ?? CHAOS_DEFAULTS.intervalMs,
    downMs: input.downMs ?? CHAOS_DEFAULTS.downMs,
    overlap: Math.max(1, input.overlap ?? CHAOS_DEFAULTS.overlap),
    thinkMs: input.thinkMs ?? CHAOS_DEFAULTS.thinkMs,
    keyedShare: input.keyedShare ?? CHAOS_DEFAULTS.keyedShare,
    deadlineMs: input.deadlineMs ?? CHAOS_DEFAULTS.deadlineMs,
    maxDrainMs: input.maxDrainMs ?? CHAOS_DEFAULTS.maxDrainMs,
    warmupMs: input.warmupMs ?? CHAOS_DEFAULTS.warmupMs,
  };
  const keepData = input.keepData ?? process.env['SUMSTREAM_KEEP_TEST_DATA'] === '1';
  const t0 = Date.now();
  const transcript: string[] = [];
  const say = (line: string): void => {
    const stamped = `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`;
    transcript.push(stamped);
    input.log?.(stamped);
  };
  const schedule = planFaults({
    seed: options.seed,
    count: options.faults,
    kinds: options.kinds,
    intervalMs: options.intervalMs,
    downMs: options.downMs,
  });
  const violations: string[] = [];
  const faults: FaultRecord[] = [];
  let stack: ChaosStack | undefined;
  let load: LoadGenerator | undefined;
  let drainMs: number | undefined;
  let slotCatchUpMs: number | undefined;
  let unacknowledgedAtDrain: number | undefined;
  let depths: Record<string, number> = {};
  let verdict: Verdict | undefined;
  let aborted = false;

  say(
    `chaos run seed=${options.seed}: ${options.faults} faults (${options.kinds.join(', ')}), ${options.clients} clients`,
  );
  try {
    stack = await ChaosStack.start({ seed: options.seed, log: say, env: { LOG_LEVEL: input.logLevel ?? 'warn' } });
    load = new LoadGenerator({
      address: stack.grpcAddress,
      clients: options.clients,
      seed: options.seed,
      keyedShare: options.keyedShare,
      thinkMs: options.thinkMs,
      deadlineMs: options.deadlineMs,
    });
    load.start();
    await sleep(options.warmupMs);
    say(
      `load: ${options.clients} clients (${load.stats().keyedClients} with idempotency keys), ${load.stats().acknowledged} Adds acknowledged during warm-up`,
    );

    // Faults start `delayMs` after the previous one started (with --overlap 1: after it ended), so
    // several can be in progress at once, but never two on one target (see FAULT_TARGET), and a
    // target is left alone for `delayMs` after its previous fault ended.
    let lastFaultEnd = Date.now();
    const busy = new Map<FaultTarget, Promise<void>>();
    const targetRecoveredAt = new Map<FaultTarget, number>();
    const inProgress = new Set<Promise<void>>();
    let stopSchedule = false;
    for (const fault of schedule) {
      if (input.signal?.aborted) {
        aborted = true;
        say(`aborted: ${schedule.length - faults.length - inProgress.size} faults not injected`);
        break;
      }
      if (options.overlap <= 1) await Promise.all(inProgress);
      await sleep(fault.delayMs);
      const target = FAULT_TARGET[fault.kind];
      while (busy.has(target) || inProgress.size >= options.overlap)
        await Promise.race([busy.get(target) ?? Promise.race(inProgress)]);
      // A target gets at least the same quiet time after its previous fault ended (else a process that
      // is hit twice in a row would live for a fraction of a second: a crash loop, not a fault).
      const quietUntil = (targetRecoveredAt.get(target) ?? 0) + fault.delayMs;
      if (Date.now() < quietUntil) await sleep(quietUntil - Date.now());
      if (stopSchedule) break;
      const started = Date.now();
      const running: Promise<void> = injectFault(stack, fault).then(
        async (result) => {
          lastFaultEnd = Math.max(lastFaultEnd, Date.now());
          faults.push({
            index: fault.index,
            kind: fault.kind,
            at: (started - t0) / 1000,
            durationMs: Date.now() - started,
            detail: result.detail,
            effective: result.effective,
          });
          say(
            `fault ${String(fault.index).padStart(3)}/${schedule.length} ${fault.kind.padEnd(24)} ${result.effective ? '' : 'SKIPPED: '}${result.detail} | ${await progress(stack!, load!)}`,
          );
        },
        (error: unknown) => {
          lastFaultEnd = Math.max(lastFaultEnd, Date.now());
          faults.push({
            index: fault.index,
            kind: fault.kind,
            at: (started - t0) / 1000,
            durationMs: Date.now() - started,
            detail: (error as Error).message,
            effective: true,
          });
          violations.push(
            `recovery: after fault ${fault.index} (${fault.kind}) the stack did not come back: ${(error as Error).message}`,
          );
          say(
            `fault ${fault.index}/${schedule.length} ${fault.kind}: the stack did not recover; stopping the fault schedule\n${(error as Error).message}`,
          );
          stopSchedule = true;
        },
      );
      const settled = running.finally(() => {
        targetRecoveredAt.set(target, Date.now());
        busy.delete(target);
        inProgress.delete(settled);
      });
      busy.set(target, settled);
      inProgress.add(settled);
      if (stopSchedule) break;
    }
    await Promise.all(inProgress);
    faults.sort((x, y) => x.index - y.index);

    // Stop the load (keyed Adds in flight retry until answered), then wait for the pipeline to drain.
    say('faults done; stopping the load');
    await load.stop();
    const stats = load.stats();
    say(
      `load stopped: ${stats.acknowledged} acknowledged, ${stats.unknown} unknown outcomes, ${stats.attempts} calls; waiting for the pipeline to drain`,
    );
    const drainedAt = await waitDrained(stack, Math.max(options.maxDrainMs * 4, 120_000));
    if (drainedAt === undefined) {
      violations.push(
        `drain: the pipeline did not drain within ${Math.max(options.maxDrainMs * 4, 120_000) / 1000} s of the last fault`,
      );
      say('NOT drained');
    } else {
      drainMs = drainedAt - lastFaultEnd;
      say(`drained ${(drainMs / 1000).toFixed(1)} s after the last fault`);
      if (drainMs > options.maxDrainMs)
        violations.push(
          `drain: took ${(drainMs / 1000).toFixed(1)} s after the last fault (limit ${options.maxDrainMs / 1000} s)`,
        );
    }

    const restSum = await retry(() => stack!.restSum(), 10_000).catch(() => undefined);
    const slot = await waitSlotCaughtUp(stack, SLOT, 30_000);
    slotCatchUpMs = slot.caughtUp ? slot.ms : undefined;
    say(
      slot.caughtUp
        ? `slot ${SLOT} confirmed ${slot.confirmedLsn} ≥ ${slot.targetLsn} after ${slot.ms} ms`
        : `slot ${SLOT} stuck at ${slot.confirmedLsn} (< ${slot.targetLsn})`,
    );
    unacknowledgedAtDrain = await unacknowledged(stack, 15_000);

    // Stop the relay, let the consumer take what is left, then stop it gracefully: anything it held
    // unacknowledged returns to the queue and is counted by checkQueue.
    await stack.services['cdc-relay'].stop();
    await retry(async () => {
      const depth = (await stack!.queueDepths([QUEUE]))[QUEUE];
      if (depth !== 0) throw new Error(`${depth} ready`);
    }, 15_000).catch(() => undefined);
    await stack.services['sum-service'].stop();
    await stack.services['add-service'].stop();
    depths = await retry(() => stack!.queueDepths([QUEUE, DEAD_LETTER_QUEUE]), 15_000);
    say(
      `queues after stopping the consumer: ${QUEUE} ${depths[QUEUE]}, ${DEAD_LETTER_QUEUE} ${depths[DEAD_LETTER_QUEUE]}; reading the stores`,
    );

    const snapshot: StoreSnapshot = {
      ...(await readStores(stack)),
      restSum,
      queues: {
        ready: depths[QUEUE] ?? -1,
        unacknowledged: unacknowledgedAtDrain ?? 0,
        deadLettered: depths[DEAD_LETTER_QUEUE] ?? -1,
      },
      slot,
    };
    verdict = checkHistory(load.history, snapshot);
    violations.push(...verdict.violations);
    say(`checked: ${verdict.ledgerRows} ledger rows, ${verdict.inboxRows} inbox rows, ${violations.length} violations`);
  } catch (error) {
    violations.push(`harness: ${(error as Error).stack ?? String(error)}`);
    say(`harness error: ${(error as Error).message}`);
    await load?.stop().catch(() => undefined);
  } finally {
    if (stack) {
      const keep = keepData || violations.length > 0;
      await writeFile(path.join(stack.dir, 'chaos.log'), `${transcript.join('\n')}\n`).catch(() => undefined);
      await stack.close(keep).catch((error: unknown) => say(`cleanup failed: ${(error as Error).message}`));
    }
  }

  const faultsByKind = Object.fromEntries(options.kinds.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of faults) if (f.effective) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
  const supervisorRestarts = Object.fromEntries(
    SERVICES.map((s) => [s, stack?.services[s].unexpectedExits.length ?? 0]),
  ) as Record<ServiceName, number>;
  return {
    seed: options.seed,
    ok: violations.length === 0,
    violations,
    reproduce: reproduceCommand(options),
    options,
    durationMs: Date.now() - t0,
    faults,
    faultsByKind,
    faultsInjected: faults.filter((f) => f.effective).length,
    faultsSkipped: faults.filter((f) => !f.effective).length,
    aborted,
    load: load?.stats() ?? {
      operations: 0,
      acknowledged: 0,
      unknown: 0,
      inFlight: 0,
      attempts: 0,
      errorsByCode: {},
      keyedClients: 0,
    },
    drainMs,
    slotCatchUpMs,
    queues: { unacknowledgedAtDrain, readyAfterStop: depths[QUEUE], deadLettered: depths[DEAD_LETTER_QUEUE] },
    supervisorRestarts,
    unexpectedExits: SERVICES.flatMap((s) => stack?.services[s].unexpectedExits ?? []),
    exitOutputs: SERVICES.flatMap((s) => stack?.services[s].exitOutputs ?? []),
    verdict,
    dataDir: stack?.dir,
    keptData: stack !== undefined && (keepData || violations.length > 0),
  };
}

/** `acked 5123 unknown 12 | ledger 5200 applied 5010`, or `?` for what cannot be read right now. */
async function progress(stack: ChaosStack, load: LoadGenerator): Promise<string> {
  const stats = load.stats();
  const counts = await stack
    .query<{ ledger: string; applied: string }>(
      'SELECT (SELECT count(*) FROM additions) AS ledger, (SELECT count(*) FROM processed_events) AS applied',
    )
    .then((rows) => `ledger ${rows[0]?.ledger} applied ${rows[0]?.applied}`)
    .catch(() => 'ledger ? applied ?');
  return `acked ${stats.acknowledged} unknown ${stats.unknown} | ${counts}`;
}
