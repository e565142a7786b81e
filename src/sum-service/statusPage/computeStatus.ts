import {
  histogramCount,
  histogramDelta,
  histogramQuantile,
  type CumulativeHistogram,
} from '../../shared/metrics/histogramQuantile.js';
import type { StatusSample } from './statusSample.js';

/** A value that could not be read, and why (shown as "unknown" on the page). */
export interface Unknown {
  unknown: string;
}

export interface QueueDepth {
  /** Messages ready for delivery (not counting those delivered and not yet acknowledged). */
  messages_ready: number;
  consumers: number;
}

export interface SlotLag {
  slot_name: string;
  plugin: string | null;
  active: boolean;
  /** `pg_current_wal_lsn()` minus the slot's confirmed flush LSN; null when the slot has none. */
  lag_bytes: number | null;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  /** Observations the quantiles are estimated from. */
  events: number;
}

/** The body of `GET /status.json`. Quantiles are estimated from histogram buckets, as Prometheus does. */
export interface StatusDocument {
  service: 'sum-service';
  generated_at: string;
  /** Span the rate and the recent latency cover; null until a second sample exists. */
  window_seconds: number | null;
  events_applied_per_second: number | null;
  end_to_end_latency_seconds: { recent: LatencySummary | null; since_start: LatencySummary | null };
  queues: {
    main: { name: string } & (QueueDepth | Unknown);
    dead_letter: { name: string } & (QueueDepth | Unknown);
  };
  replication_slots: { slots: SlotLag[] } | Unknown;
  health: {
    status: 'ok' | 'degraded';
    /** What makes it degraded, each with the fix or where to look. */
    problems: string[];
    consuming: boolean;
    database: boolean;
    uptime_seconds: number | null;
    resident_memory_bytes: number | null;
    event_loop_lag_p99_seconds: number | null;
  };
  /** Counters of this process since it started. */
  totals: { events_applied: number; duplicates_skipped: number; dead_lettered: number; apply_retries: number };
}

export type Probed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface StatusInput {
  now: StatusSample;
  /** The sample rates are measured against (see `pickBaseline`). */
  baseline: StatusSample | undefined;
  queues: {
    main: { name: string; depth: Probed<QueueDepth> };
    deadLetter: { name: string; depth: Probed<QueueDepth> };
  };
  slots: Probed<SlotLag[]>;
  consuming: boolean;
  /** `undefined` when PostgreSQL answered, otherwise the reason. */
  databaseProblem: string | undefined;
}

/** Puts together the status document from one sample, its baseline and the probes' results. Pure. */
export function computeStatus(input: StatusInput): StatusDocument {
  const { now, baseline } = input;
  const seconds = baseline && now.atMs > baseline.atMs ? (now.atMs - baseline.atMs) / 1000 : undefined;
  const problems: string[] = [];
  if (!input.consuming) problems.push('Not consuming from RabbitMQ; see the sum-service log for the connection error.');
  if (input.databaseProblem !== undefined) problems.push(`PostgreSQL does not answer: ${input.databaseProblem}`);
  return {
    service: 'sum-service',
    generated_at: new Date(now.atMs).toISOString(),
    window_seconds: seconds === undefined ? null : round(seconds, 3),
    events_applied_per_second:
      seconds === undefined ? null : round(Math.max(0, now.applied - baseline!.applied) / seconds, 3),
    end_to_end_latency_seconds: {
      recent:
        seconds === undefined || !now.endToEnd ? null : summarize(histogramDelta(now.endToEnd, baseline!.endToEnd)),
      since_start: now.endToEnd ? summarize(now.endToEnd) : null,
    },
    queues: {
      main: { name: input.queues.main.name, ...orUnknown(input.queues.main.depth) },
      dead_letter: { name: input.queues.deadLetter.name, ...orUnknown(input.queues.deadLetter.depth) },
    },
    replication_slots: input.slots.ok ? { slots: input.slots.value } : { unknown: input.slots.reason },
    health: {
      status: problems.length === 0 ? 'ok' : 'degraded',
      problems,
      consuming: input.consuming,
      database: input.databaseProblem === undefined,
      uptime_seconds:
        now.processStartSeconds === undefined
          ? null
          : Math.max(0, Math.round(now.atMs / 1000 - now.processStartSeconds)),
      resident_memory_bytes: now.residentMemoryBytes ?? null,
      event_loop_lag_p99_seconds: now.eventLoopLagP99Seconds ?? null,
    },
    totals: {
      events_applied: now.applied,
      duplicates_skipped: now.duplicates,
      dead_lettered: now.deadLettered,
      apply_retries: now.applyRetries,
    },
  };
}

/**
 * The sample to measure rates against at `nowMs`: the oldest one within the last `windowMs`, or,
 * when none is that recent, the newest older one (a longer span beats no figure at all).
 */
export function pickBaseline(
  samples: readonly StatusSample[],
  nowMs: number,
  windowMs: number,
): StatusSample | undefined {
  const earlier = samples.filter((sample) => sample.atMs < nowMs);
  return earlier.find((sample) => sample.atMs >= nowMs - windowMs) ?? earlier.at(-1);
}

/** The samples worth keeping after `latest` was taken: those within the window, and the newest one before it. */
export function retainSamples(
  samples: readonly StatusSample[],
  latest: StatusSample,
  windowMs: number,
): StatusSample[] {
  const all = [...samples, latest].sort((a, b) => a.atMs - b.atMs);
  const cutoff = latest.atMs - windowMs;
  const firstInside = all.findIndex((sample) => sample.atMs >= cutoff);
  return all.slice(Math.max(0, firstInside - 1));
}

function summarize(histogram: CumulativeHistogram): LatencySummary | null {
  const events = histogramCount(histogram);
  if (events === 0) return null;
  return {
    p50: round(histogramQuantile(0.5, histogram)!, 6),
    p99: round(histogramQuantile(0.99, histogram)!, 6),
    events,
  };
}

function orUnknown<T extends object>(probed: Probed<T>): T | Unknown {
  return probed.ok ? probed.value : { unknown: probed.reason };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
