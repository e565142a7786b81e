import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { createSumMetrics } from '../../src/sum-service/sumMetrics.js';
import {
  computeStatus,
  pickBaseline,
  retainSamples,
  type StatusInput,
} from '../../src/sum-service/statusPage/computeStatus.js';
import { histogramDelta, histogramQuantile } from '../../src/shared/metrics/histogramQuantile.js';
import { renderStatusPage } from '../../src/sum-service/statusPage/renderStatusPage.js';
import { sampleFromMetrics, type StatusSample } from '../../src/sum-service/statusPage/statusSample.js';

const sample = (atMs: number, applied: number, counts = [0, 0, 0, 0]): StatusSample => ({
  atMs,
  applied,
  duplicates: 0,
  deadLettered: 0,
  applyRetries: 0,
  endToEnd: { bounds: [0.01, 0.1, 1, Infinity], counts },
  processStartSeconds: atMs / 1000 - 90,
  residentMemoryBytes: 50_000_000,
  eventLoopLagP99Seconds: 0.002,
});

const probes = (overrides: Partial<StatusInput> = {}): StatusInput => ({
  now: sample(20_000, 130, [40, 98, 100, 100]),
  baseline: sample(10_000, 30, [0, 0, 0, 0]),
  queues: {
    main: { name: 'addition', depth: { ok: true, value: { messages_ready: 7, consumers: 1 } } },
    deadLetter: { name: 'addition.dead-letter', depth: { ok: true, value: { messages_ready: 0, consumers: 0 } } },
  },
  slots: { ok: true, value: [{ slot_name: 'sumstream_relay', plugin: 'pgoutput', active: true, lag_bytes: 1234 }] },
  consuming: true,
  databaseProblem: undefined,
  ...overrides,
});

describe('histogramQuantile (as Prometheus histogram_quantile)', () => {
  const histogram = { bounds: [0.01, 0.1, 1, Infinity], counts: [40, 98, 100, 100] };

  it('interpolates inside the bucket holding the rank, the first bucket starting at 0', () => {
    expect(histogramQuantile(0.5, histogram)).toBeCloseTo(0.01 + 0.09 * (10 / 58), 12);
    expect(histogramQuantile(0.2, histogram)).toBeCloseTo(0.005, 12);
    expect(histogramQuantile(0.99, histogram)).toBeCloseTo(0.1 + 0.9 * (1 / 2), 12);
  });

  it('answers the highest finite bound for a rank in +Inf, and nothing for an empty histogram', () => {
    expect(histogramQuantile(0.99, { bounds: [0.01, 0.1, Infinity], counts: [0, 0, 5] })).toBe(0.1);
    expect(histogramQuantile(0.5, { bounds: [0.01, Infinity], counts: [0, 0] })).toBeUndefined();
  });

  it('subtracts an earlier snapshot bucket by bucket, and ignores one from other buckets or before a reset', () => {
    const later = { bounds: [1, Infinity], counts: [10, 12] };
    expect(histogramDelta(later, { bounds: [1, Infinity], counts: [4, 5] })).toEqual({
      bounds: [1, Infinity],
      counts: [6, 7],
    });
    expect(histogramDelta(later, { bounds: [2, Infinity], counts: [4, 5] })).toBe(later);
    expect(histogramDelta(later, { bounds: [1, Infinity], counts: [40, 50] })).toBe(later);
    expect(histogramDelta(later, undefined)).toBe(later);
  });
});

describe('sampleFromMetrics', () => {
  it("reads counters, the end-to-end histogram and the process metrics from the sum-service's own registry", async () => {
    const registry = createRegistry('sum-service');
    const metrics = createSumMetrics(registry);
    metrics.applied.inc(5);
    metrics.duplicates.inc(2);
    metrics.deadLettered.inc({ reason: 'malformed-json' });
    metrics.deadLettered.inc({ reason: 'not-an-addition' }, 2);
    metrics.endToEnd.observe(0.003);
    metrics.endToEnd.observe(20);

    const s = sampleFromMetrics(await registry.getMetricsAsJSON(), 1_000);

    expect(s).toMatchObject({ atMs: 1_000, applied: 5, duplicates: 2, deadLettered: 3, applyRetries: 0 });
    expect(s.endToEnd?.bounds.at(-1)).toBe(Infinity);
    expect(s.endToEnd?.bounds).toEqual([...s.endToEnd!.bounds].sort((a, b) => a - b));
    expect(s.endToEnd?.counts.at(-1)).toBe(2);
    expect(s.endToEnd?.counts.at(-2)).toBe(1); // 20 s is above the highest finite bucket
    expect(s.processStartSeconds).toBeGreaterThan(0);
    expect(s.residentMemoryBytes).toBeGreaterThan(0);
  });

  it('leaves out what the registry does not have', () => {
    const s = sampleFromMetrics([], 5);
    expect(s).toMatchObject({
      applied: 0,
      endToEnd: undefined,
      processStartSeconds: undefined,
      residentMemoryBytes: undefined,
    });
  });
});

describe('computeStatus', () => {
  it('measures the rate and the recent latency between the sample and its baseline', () => {
    const status = computeStatus(probes());
    expect(status.window_seconds).toBe(10);
    expect(status.events_applied_per_second).toBe(10);
    expect(status.end_to_end_latency_seconds.recent).toEqual({
      p50: expect.closeTo(0.025517, 6),
      p99: expect.closeTo(0.55, 6),
      events: 100,
    });
    expect(status.end_to_end_latency_seconds.since_start?.events).toBe(100);
    expect(status.generated_at).toBe('1970-01-01T00:00:20.000Z');
  });

  it('has no rate before a second sample, and no recent latency when nothing was applied in the window', () => {
    expect(computeStatus(probes({ baseline: undefined }))).toMatchObject({
      window_seconds: null,
      events_applied_per_second: null,
      end_to_end_latency_seconds: { recent: null },
    });
    const idle = computeStatus(probes({ baseline: sample(10_000, 130, [40, 98, 100, 100]) }));
    expect(idle.events_applied_per_second).toBe(0);
    expect(idle.end_to_end_latency_seconds.recent).toBeNull();
    expect(idle.end_to_end_latency_seconds.since_start?.events).toBe(100);
  });

  it('reports queue depths, slots and a healthy process', () => {
    const status = computeStatus(probes());
    expect(status.queues).toEqual({
      main: { name: 'addition', messages_ready: 7, consumers: 1 },
      dead_letter: { name: 'addition.dead-letter', messages_ready: 0, consumers: 0 },
    });
    expect(status.replication_slots).toEqual({
      slots: [{ slot_name: 'sumstream_relay', plugin: 'pgoutput', active: true, lag_bytes: 1234 }],
    });
    expect(status.health).toEqual({
      status: 'ok',
      problems: [],
      consuming: true,
      database: true,
      uptime_seconds: 90,
      resident_memory_bytes: 50_000_000,
      event_loop_lag_p99_seconds: 0.002,
    });
  });

  it('turns a failed probe into "unknown" with its reason, and a lost dependency into a degraded health with the fix', () => {
    const status = computeStatus(
      probes({
        queues: {
          main: { name: 'addition', depth: { ok: false, reason: 'Not connected to RabbitMQ' } },
          deadLetter: { name: 'addition.dead-letter', depth: { ok: false, reason: 'NOT_FOUND' } },
        },
        slots: { ok: false, reason: 'permission denied for function pg_current_wal_lsn' },
        consuming: false,
        databaseProblem: 'connect ECONNREFUSED',
      }),
    );
    expect(status.queues.main).toEqual({ name: 'addition', unknown: 'Not connected to RabbitMQ' });
    expect(status.replication_slots).toEqual({ unknown: 'permission denied for function pg_current_wal_lsn' });
    expect(status.health.status).toBe('degraded');
    expect(status.health.problems).toEqual([
      'Not consuming from RabbitMQ; see the sum-service log for the connection error.',
      'PostgreSQL does not answer: connect ECONNREFUSED',
    ]);
  });
});

describe('pickBaseline and retainSamples', () => {
  const samples = [sample(1_000, 1), sample(5_000, 2), sample(9_000, 3), sample(13_000, 4)];

  it('measures against the oldest sample within the window, else the newest older one', () => {
    expect(pickBaseline(samples, 14_000, 10_000)?.atMs).toBe(5_000);
    expect(pickBaseline(samples, 30_000, 10_000)?.atMs).toBe(13_000);
    expect(pickBaseline([], 30_000, 10_000)).toBeUndefined();
    expect(pickBaseline(samples, 1_000, 10_000)).toBeUndefined();
  });

  it('keeps the samples within the window plus the newest one before it', () => {
    expect(retainSamples(samples, sample(16_000, 5), 10_000).map((s) => s.atMs)).toEqual([
      5_000, 9_000, 13_000, 16_000,
    ]);
    expect(retainSamples(samples, sample(60_000, 5), 10_000).map((s) => s.atMs)).toEqual([13_000, 60_000]);
  });
});

describe('renderStatusPage', () => {
  const template = '<p id="sum">{{sum}}</p><span>{{appliedEvents}}</span><i>{{renderedAt}}</i>';

  it('fills in the exact digits of a sum beyond 2^53 and the time in UTC', () => {
    const html = renderStatusPage(
      template,
      { sum: '27670116110564327421', appliedEvents: '3' },
      new Date('2025-01-02T03:04:05.678Z'),
    );
    expect(html).toBe('<p id="sum">27670116110564327421</p><span>3</span><i>03:04:05 UTC</i>');
  });

  it('says the sum is unavailable when the store cannot be read, and escapes what it writes', () => {
    expect(renderStatusPage(template, undefined, new Date(0))).toBe(
      '<p id="sum">unavailable</p><span>—</span><i>00:00:00 UTC</i>',
    );
    expect(renderStatusPage('{{sum}}', { sum: '<b>&"\'', appliedEvents: '0' }, new Date(0))).toBe(
      '&#60;b&#62;&#38;&#34;&#39;',
    );
  });
});
