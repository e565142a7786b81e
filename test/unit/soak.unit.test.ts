import { describe, expect, it } from 'vitest';
import { checkSoakSum, type SumEvidence } from '../../bench/soak/checkSoakSum.js';
import { retainedWindowSeconds } from '../../bench/soak/drainAndCheck.js';
import { type Criterion, fitGroups, fitSeries, type SeriesPoint } from '../../bench/soak/fitSeries.js';
import { matchUnknowns } from '../../bench/soak/resolveUnknowns.js';
import type { SoakSample } from '../../bench/soak/sampleStack.js';
import { parseSoakOptions, RETENTION_DEFAULTS, SoakOptionsError } from '../../bench/soak/soakOptions.js';
import { SOAK_CRITERIA, soakSeries } from '../../bench/soak/soakSeries.js';
import { median, theilSen, theilSenSlope } from '../../bench/soak/theilSen.js';

const line = (n: number, slope: number, intercept: number, every = 10): { t: number; v: number }[] =>
  Array.from({ length: n }, (_, i) => ({ t: i * every, v: intercept + slope * i * every }));

describe('Theil–Sen slope', () => {
  it('takes the median of an odd and an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('recovers a line exactly despite spikes that would drag least squares', () => {
    const points = line(60, 0.5, 100);
    // A fault spike every 20 samples, and one at the very end.
    for (const i of [10, 30, 50, 59]) points[i]!.v += 5000;
    expect(theilSenSlope([points])).toBeCloseTo(0.5, 9);
  });

  it('follows the trend of a GC sawtooth, not its teeth', () => {
    // Heap climbing 6 MiB in 7 samples and collected back, on a slowly rising floor.
    const points = Array.from({ length: 90 }, (_, i) => ({ t: i * 10, v: 40 + (i % 7) + i * 0.01 }));
    expect(theilSenSlope([points])! * 10).toBeCloseTo(0.01, 2);
  });

  it('pools slopes within groups only: restarts that reset the level do not read as a trend', () => {
    // Three incarnations, each flat at its own level (a restarted process starts lower).
    const groups = [line(20, 0, 200), line(20, 0, 120).map((p) => ({ ...p, t: p.t + 200 })), line(20, 0, 160)];
    expect(theilSenSlope(groups)).toBe(0);
    // Fitted as one series the same samples show a trend that is not there.
    expect(theilSenSlope([groups.flat()])).not.toBe(0);
    // A leak of 1/s inside every incarnation is found whatever the resets.
    expect(theilSenSlope([line(20, 1, 200), line(20, 1, 50)])).toBe(1);
  });

  it("brackets the slope with Sen's confidence interval, wide when the series is mostly noise", () => {
    const wobble = (i: number): number => Math.sin(i * 2.3);
    const clean = theilSen([Array.from({ length: 91 }, (_, i) => ({ t: i * 10, v: 100 + 0.2 * i + 5 * wobble(i) }))])!;
    expect(clean.low).toBeLessThan(0.02);
    expect(clean.high).toBeGreaterThan(0.02);
    expect(clean.low).toBeGreaterThan(0);
    const noisy = theilSen([Array.from({ length: 12 }, (_, i) => ({ t: i * 10, v: 100 + 40 * wobble(i) + 1.5 * i }))])!;
    expect(noisy.slope).toBeGreaterThan(0.1);
    expect(noisy.low).toBeLessThan(0);
  });

  it('has no slope without two points at different times', () => {
    expect(theilSenSlope([])).toBeUndefined();
    expect(theilSenSlope([[{ t: 5, v: 1 }], [{ t: 6, v: 2 }]])).toBeUndefined();
  });
});

const window = { from: 100, to: 1000, settleSeconds: 60, minPoints: 6 };
const points = (read: (t: number) => number, pid?: (t: number) => number): SeriesPoint[] =>
  Array.from({ length: 101 }, (_, i) => {
    const t = i * 10;
    const p = pid?.(t);
    return {
      t,
      v: read(t),
      incarnation: p === undefined ? undefined : String(p),
      startedAt: p === undefined ? undefined : p,
    };
  });
const growth: Criterion = { direction: 'up', relative: 0.1, floor: 8, judged: true };

describe('fitSeries', () => {
  it('passes a flat series and fails one whose projected growth exceeds 10 % of its level', () => {
    const flat = fitSeries({ id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: points(() => 150) }, window);
    expect(flat).toMatchObject({ status: 'pass', level: 150, projected: 0, tolerance: 15, points: 91, groups: 1 });
    // 2 MiB a minute over the 15-minute span: +30 MiB on a median of about 165.
    const leak = fitSeries(
      { id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: points((t) => 150 + t / 30) },
      window,
    );
    expect(leak.status).toBe('fail');
    expect(leak.projected).toBeCloseTo(30, 6);
    expect(leak.slopePerHour).toBeCloseTo(120, 6);
  });

  it('leaves out the warm-up: growth that levels off before the window passes', () => {
    const filling = points((t) => Math.min(t, 600) + 50);
    expect(
      fitSeries({ id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: filling }, { ...window, from: 600 })
        .status,
    ).toBe('pass');
    expect(
      fitSeries({ id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: filling }, { ...window, from: 0 })
        .status,
    ).toBe('fail');
  });

  it('does not fail a growth that is within the noise (its interval reaches below zero)', () => {
    const noisy: SeriesPoint[] = Array.from({ length: 12 }, (_, i) => ({
      t: 100 + i * 10,
      v: 100 + 40 * Math.sin(i * 2.3) + 1.5 * i,
    }));
    const fit = fitSeries(
      { id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: noisy },
      { ...window, to: 210 },
    );
    expect(fit.projected).toBeGreaterThan(fit.tolerance);
    expect(fit.slopeLowPerHour).toBeLessThan(0);
    expect(fit.status).toBe('pass');
  });

  it('uses the floor when the level is small', () => {
    const fds = fitSeries(
      { id: 'x', label: 'x', unit: 'fds', criterion: { ...growth, floor: 5 }, points: points((t) => 20 + t / 300) },
      window,
    );
    // +3 fds over the span: more than 10 % of ~21, less than the floor of 5.
    expect(fds).toMatchObject({ status: 'pass', tolerance: 5 });
  });

  it('judges a throughput by its decline, and a reported series never fails', () => {
    const falling = points((t) => 1000 - t / 2);
    const rate: Criterion = { direction: 'down', relative: 0.1, floor: 0, judged: true };
    expect(fitSeries({ id: 'r', label: 'r', unit: '/s', criterion: rate, points: falling }, window).status).toBe(
      'fail',
    );
    expect(
      fitSeries({ id: 'r', label: 'r', unit: '/s', criterion: rate, points: points((t) => 1000 + t) }, window).status,
    ).toBe('pass');
    expect(
      fitSeries({ id: 'r', label: 'r', unit: '/s', criterion: { ...rate, judged: false }, points: falling }, window)
        .status,
    ).toBe('info');
  });

  it('fits per incarnation, leaving out the settle time after each restart and too short incarnations', () => {
    // Restarts at 300 and 900 s; each incarnation warms up for 60 s (+1 MiB/s), then stays flat.
    const restarts = [-50, 300, 900];
    const pid = (t: number): number => restarts.filter((r) => r <= t).pop()!;
    const rss = points((t) => 100 + Math.min(t - pid(t), 60), pid);
    const groups = fitGroups(rss, window);
    // The last incarnation has 11 samples, of which 5 are after its settle time: dropped.
    expect(groups.map((g) => [g[0]!.t, g.length])).toEqual([
      [100, 20],
      [360, 54],
    ]);
    expect(fitSeries({ id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: rss }, window)).toMatchObject({
      status: 'pass',
      projected: 0,
      groups: 2,
    });
  });

  it('says no-data when nothing is left to fit, and skips unreadable samples without splitting an incarnation', () => {
    const none = points(() => Number.NaN);
    expect(fitSeries({ id: 'x', label: 'x', unit: 'MiB', criterion: growth, points: none }, window).status).toBe(
      'no-data',
    );
    const gaps = points(
      (t) => (t % 50 === 0 ? Number.NaN : 100),
      () => 1,
    );
    expect(fitGroups(gaps, window)).toHaveLength(1);
  });
});

describe('soakSeries', () => {
  const sample = (t: number, pid: number): SoakSample => ({
    t,
    at: '',
    duringFault: false,
    processes: {
      'sum-service': {
        pid,
        startedAt: pid,
        rssBytes: 2 ** 27 + 2 ** 20,
        rssMinBytes: 2 ** 27,
        heapUsedBytes: 2 ** 25,
        heapMinBytes: 2 ** 24,
        handles: 10,
        fds: 30,
      },
    },
    postgres: { backends: 12 },
    rabbitmq: {},
    tables: { additions: { totalBytes: 2 ** 24, indexBytes: 2 ** 22, rows: 1000, partitions: 4 } },
    wal: {},
    queue: { ready: 3, unacknowledged: 4 },
    add: { okPerSecond: 900, errorsPerSecond: 0, dropped: 0, p50Ms: 1, p99Ms: 5 },
    reads: { okPerSecond: 20, errors: 0, p99Ms: 1 },
    e2e: { events: 9000, p50Ms: 10, p99Ms: 30 },
    unknownPending: 0,
    soakRssBytes: 2 ** 26,
  });

  it('reads each series in its unit and tags process samples with their incarnation', () => {
    const series = soakSeries([sample(10, 7), sample(20, 8)], 1000);
    const byId = new Map(series.map((s) => [s.id, s]));
    expect(byId.get('rss:sum-service')?.points).toEqual([
      { t: 10, v: 128, incarnation: '7', startedAt: 7 },
      { t: 20, v: 128, incarnation: '8', startedAt: 8 },
    ]);
    expect(byId.get('rss:add-service')?.points[0]?.v).toBeUndefined();
    expect(byId.get('table:additions')?.points[0]?.v).toBe(16);
    expect(byId.get('table:idempotency_keys')?.points[0]?.v).toBeUndefined();
    expect(byId.get('queue-depth')?.points[0]?.v).toBe(7);
    // The queue may grow by one second of the load before it fails.
    expect(byId.get('queue-depth')?.criterion).toEqual({ ...SOAK_CRITERIA.queue, floor: 1000 });
    expect(byId.get('e2e-p99')?.criterion).toMatchObject({ relative: 0.5, floor: 25 });
  });
});

const evidence = (overrides: Partial<SumEvidence> = {}): SumEvidence => ({
  baselineSum: 1000n,
  baselineApplied: 10n,
  acknowledged: 5,
  acknowledgedTotal: 500n,
  recorded: 1,
  recordedTotal: 7n,
  notRecorded: 2,
  unresolved: 0,
  wrongAnswers: 0,
  restSum: 1507n,
  appliedEvents: 16n,
  window: { seconds: 90, ledgerRows: 4, inInbox: 4 },
  deadLettered: 0,
  unacknowledged: 0,
  slotCaughtUp: true,
  drained: true,
  ...overrides,
});

describe('checkSoakSum', () => {
  it('passes when GET /sum and the applied count are exactly the baseline plus acknowledged and recorded Adds', () => {
    expect(checkSoakSum(evidence())).toMatchObject({
      ok: true,
      expectedSum: 1507n,
      expectedApplied: 16n,
      lost: 0,
      doubleCounted: 0,
      violations: [],
    });
  });

  it('names a wrong sum, a lost and a double-counted Add', () => {
    expect(checkSoakSum(evidence({ restSum: 1500n })).violations).toEqual([
      'sum: GET /sum answered 1500, expected 1507 (difference -7)',
    ]);
    expect(checkSoakSum(evidence({ appliedEvents: 15n, drained: false }))).toMatchObject({ ok: false, lost: 1 });
    expect(checkSoakSum(evidence({ appliedEvents: 18n }))).toMatchObject({ ok: false, doubleCounted: 2 });
  });

  it('fails on retained ledger rows missing from the inbox, unresolved outcomes, dead letters and an unread sum', () => {
    const v = checkSoakSum(
      evidence({
        window: { seconds: 90, ledgerRows: 4, inInbox: 3 },
        unresolved: 2,
        deadLettered: 1,
        restSum: undefined,
        slotCaughtUp: false,
      }),
    );
    expect(v.notInInbox).toBe(1);
    expect(v.violations).toHaveLength(5);
  });
});

describe('unknown outcomes', () => {
  it('are recorded exactly when the ledger holds a row with their operands', () => {
    const add = (a: bigint) => ({ a, b: a % 100n, invokedAt: 0, completedAt: 1 });
    const { recorded, notRecorded } = matchUnknowns(
      [add(1_000_000_001n), add(1_000_000_002n)],
      [
        { a: 1_000_000_002n, b: 2n },
        { a: 1_000_000_001n, b: 3n },
      ],
    );
    expect(recorded.map((u) => u.a)).toEqual([1_000_000_002n]);
    expect(notRecorded.map((u) => u.a)).toEqual([1_000_000_001n]);
  });
});

describe('soak options', () => {
  it('defaults to 30 minutes at half the highest rate, a warm-up of twice the longest retention', () => {
    expect(parseSoakOptions([])).toMatchObject({
      minutes: 30,
      warmupMinutes: 6,
      loadFraction: 0.5,
      faultEverySeconds: 180,
      sampleSeconds: 10,
      retention: RETENTION_DEFAULTS,
      outDir: undefined,
    });
    // Shorter retention: the five-minute minimum.
    expect(parseSoakOptions(['--ledger-retention-seconds', '60'])).toMatchObject({ warmupMinutes: 5 });
    expect(
      parseSoakOptions(['--minutes', '3', '--warmup-minutes', '1', '--fault-every-seconds', '60', '--out', '/tmp/x']),
    ).toMatchObject({ minutes: 3, warmupMinutes: 1, faultEverySeconds: 60, outDir: '/tmp/x' });
    expect(parseSoakOptions(['--help'])).toBe('help');
  });

  it('refuses a run with nothing after the warm-up, and fractions out of range', () => {
    expect(() => parseSoakOptions(['--minutes', '6'])).toThrow(SoakOptionsError);
    expect(() => parseSoakOptions(['--load-fraction', '0'])).toThrow(/--load-fraction/);
    expect(() => parseSoakOptions(['--keyed-share', '1.5'])).toThrow(/--keyed-share/);
  });

  it('compares ledger and inbox over the window both retentions keep', () => {
    expect(retainedWindowSeconds(RETENTION_DEFAULTS)).toBe(90);
    expect(retainedWindowSeconds({ ...RETENTION_DEFAULTS, inboxRetentionSeconds: 0 })).toBe(150);
    expect(retainedWindowSeconds({ ...RETENTION_DEFAULTS, inboxRetentionSeconds: 0, ledgerRetentionSeconds: 0 })).toBe(
      86_400,
    );
  });
});
