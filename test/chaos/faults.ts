/**
 * The faults a chaos run injects, and the seeded schedule that orders them. Each fault is a
 * function on a ChaosStack that returns once the thing it broke is back up (the process answers
 * its probe, the server accepts connections), with a line saying what it did.
 */
import { type ServiceName, sleep } from '../../src/dev-stack/index.js';
import { type ChaosStack, SLOT } from './chaosStack.js';
import { deriveRng, intBetween, shuffle, weightedPick } from './prng.js';

export const FAULT_KINDS = [
  'kill-add-service',
  'kill-cdc-relay',
  'kill-sum-service',
  'restart-rabbitmq',
  'restart-postgres',
  'terminate-walsender',
  'reset-broker-connections',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What a fault breaks; two faults on one target never run at once. */
export type FaultTarget = 'add-service' | 'cdc-relay' | 'sum-service' | 'rabbitmq' | 'postgres';
export const FAULT_TARGET: Record<FaultKind, FaultTarget> = {
  'kill-add-service': 'add-service',
  'kill-cdc-relay': 'cdc-relay',
  'kill-sum-service': 'sum-service',
  'restart-rabbitmq': 'rabbitmq',
  'reset-broker-connections': 'rabbitmq',
  'restart-postgres': 'postgres',
  'terminate-walsender': 'postgres',
};

/** Relative frequency of each kind. A RabbitMQ stop/start takes ~13 s, so it stays a small share. */
export const FAULT_WEIGHTS: Record<FaultKind, number> = {
  'kill-add-service': 3,
  'kill-cdc-relay': 3,
  'kill-sum-service': 3,
  'restart-rabbitmq': 0.5,
  'restart-postgres': 1,
  'terminate-walsender': 2,
  'reset-broker-connections': 2,
};

export interface PlannedFault<K extends string = FaultKind> {
  /** 1-based position in the schedule. */
  index: number;
  kind: K;
  /** Time from the previous fault's start (or end, when faults do not overlap) to this one's, ms. */
  delayMs: number;
  /** For kills: how long the process stays dead before it is started again, ms. */
  downMs: number;
}

export interface ScheduleOptions<K extends string = FaultKind> {
  seed: number;
  count: number;
  kinds: readonly K[];
  /** Relative frequency of each kind. Default FAULT_WEIGHTS (the single-node run's). */
  weights?: Readonly<Record<K, number>>;
  /** Time between faults, ms, uniform in [min, max]. */
  intervalMs: readonly [number, number];
  /** How long a killed process stays down, ms, uniform in [min, max]. Default [0, 1500]. */
  downMs?: readonly [number, number];
}

/**
 * The seeded schedule: when there are at least as many faults as kinds, every kind appears at least
 * once; the rest are drawn by weight; the order is shuffled. Same options, same schedule.
 */
export function planFaults<K extends string = FaultKind>(options: ScheduleOptions<K>): PlannedFault<K>[] {
  if (options.kinds.length === 0) throw new Error('no fault kinds to schedule');
  const rng = deriveRng(options.seed, 'schedule');
  const weights = options.weights ?? (FAULT_WEIGHTS as Readonly<Record<string, number>>);
  const kinds: K[] = options.count >= options.kinds.length ? [...options.kinds] : [];
  const weighted = options.kinds.map((kind) => ({ item: kind, weight: weights[kind] ?? 1 }));
  while (kinds.length < options.count) kinds.push(weightedPick(rng, weighted));
  shuffle(rng, kinds);
  const [minInterval, maxInterval] = options.intervalMs;
  const [minDown, maxDown] = options.downMs ?? [0, 1500];
  return kinds.map((kind, i) => ({
    index: i + 1,
    kind,
    delayMs: intBetween(rng, minInterval, maxInterval),
    downMs: intBetween(rng, minDown, maxDown),
  }));
}

export interface FaultResult {
  /** What was done, for the progress line. */
  detail: string;
  /** False when the fault found nothing to break (e.g. no walsender to terminate); it is reported as skipped. */
  effective: boolean;
}

const SERVICE_OF: Partial<Record<FaultKind, ServiceName>> = {
  'kill-add-service': 'add-service',
  'kill-cdc-relay': 'cdc-relay',
  'kill-sum-service': 'sum-service',
};

export async function injectFault(stack: ChaosStack, fault: PlannedFault): Promise<FaultResult> {
  const service = SERVICE_OF[fault.kind];
  if (service) return killAndRestart(stack, service, fault.downMs);
  switch (fault.kind) {
    case 'restart-rabbitmq':
      return restartRabbit(stack);
    case 'restart-postgres':
      return restartPostgres(stack);
    case 'terminate-walsender':
      return terminateWalsender(stack);
    case 'reset-broker-connections':
      return resetBrokerConnections(stack);
    default:
      throw new Error(`unknown fault kind ${fault.kind}`);
  }
}

/** `kill -9`, stay down for `downMs`, start again and wait until it answers its readiness probe. */
export async function killAndRestart(
  stack: Pick<ChaosStack, 'services'>,
  service: ServiceName,
  downMs: number,
): Promise<FaultResult> {
  const managed = stack.services[service];
  const pid = managed.child?.pid;
  await managed.kill9();
  await sleep(downMs);
  const readyMs = await managed.start();
  return {
    detail: `pid ${pid} killed, down ${downMs} ms, ready ${(readyMs / 1000).toFixed(1)} s after start`,
    effective: true,
  };
}

/** Graceful RabbitMQ stop and start (data kept); the processes reconnect on their own. */
export async function restartRabbit(stack: ChaosStack): Promise<FaultResult> {
  const t0 = Date.now();
  await stack.rabbit.restart();
  return { detail: `broker stopped and started in ${((Date.now() - t0) / 1000).toFixed(1)} s`, effective: true };
}

/** `pg_ctl restart -m fast`: every connection is closed, in-flight transactions are rolled back. */
export async function restartPostgres(stack: ChaosStack): Promise<FaultResult> {
  const t0 = Date.now();
  await stack.postgres.restart('fast');
  return { detail: `fast restart in ${((Date.now() - t0) / 1000).toFixed(1)} s`, effective: true };
}

/** Drops the relay's replication connection (`pg_terminate_backend` on the slot's walsender). */
export async function terminateWalsender(stack: ChaosStack, waitMs = 30_000): Promise<FaultResult> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const rows = await stack
      .query<{ pid: number; terminated: boolean }>(
        'SELECT active_pid AS pid, pg_terminate_backend(active_pid) AS terminated FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
        [SLOT],
      )
      .catch(() => []);
    const hit = rows.find((r) => r.terminated);
    if (hit) return { detail: `walsender pid ${hit.pid} terminated`, effective: true };
    if (Date.now() > deadline)
      return { detail: `no active walsender on slot ${SLOT} within ${waitMs} ms`, effective: false };
    await sleep(100); // the relay is between sessions; wait for it to stream again
  }
}

/** Closes every AMQP connection through the management API (the relay's and the consumer's). */
export async function resetBrokerConnections(
  stack: Pick<ChaosStack, 'management'>,
  waitMs = 30_000,
): Promise<FaultResult> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const list = await stack
      .management('GET', '/api/connections')
      .then(async (res) =>
        res.ok ? ((await res.json()) as { name: string; client_properties?: { connection_name?: string } }[]) : [],
      )
      .catch(() => []);
    const closed: string[] = [];
    for (const connection of list) {
      const res = await stack
        .management('DELETE', `/api/connections/${encodeURIComponent(connection.name)}`, {
          'x-reason': 'chaos: broker connection reset',
        })
        .catch(() => undefined);
      if (res?.ok) closed.push(connection.client_properties?.connection_name ?? connection.name);
    }
    if (closed.length > 0)
      return { detail: `closed ${closed.length} connections (${closed.join(', ')})`, effective: true };
    if (Date.now() > deadline) return { detail: `no AMQP connections to close within ${waitMs} ms`, effective: false };
    await sleep(200);
  }
}
