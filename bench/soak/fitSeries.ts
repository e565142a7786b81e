/**
 * The soak's verdict on one series: its Theil–Sen trend after the warm-up, projected over the
 * post-warm-up span and compared with a tolerance relative to its level. Pure.
 *
 * Process series (memory, handles, descriptors) restart from scratch when the process is killed,
 * so they are fitted per incarnation: samples are grouped by pid, the first `settleSeconds` after
 * each (re)start are left out (a fresh process fills its heap and caches), groups with fewer than
 * `minPoints` samples are dropped, and the slope is the median of the pairwise slopes within the
 * groups (theilSenSlope). The projection applies that slope to the whole post-warm-up span, as if
 * one incarnation had lived through it: a leak of so much per hour in any incarnation counts.
 *
 * A judged series fails when its projected change exceeds the tolerance in the bad direction AND
 * the change is significant: Sen's 95 % confidence interval of the slope lies wholly on that side
 * of zero. The first condition says the change would matter, the second that it is not noise.
 */
import { median, type Point, theilSen } from './theilSen.js';

export interface Criterion {
  /** 'up': growth fails (memory, sizes, latency); 'down': a decline fails (throughput). */
  direction: 'up' | 'down';
  /** Tolerated projected change as a share of the median level. */
  relative: number;
  /** ... but never less than this, in the series' unit. */
  floor: number;
  /** False: fitted and reported, never failing the run. */
  judged: boolean;
}

export interface SeriesPoint {
  t: number;
  /** Undefined when the sample could not be read (the process was down). */
  v: number | undefined;
  /** The process incarnation (its pid) for process series. */
  incarnation?: string | undefined;
  /** When that incarnation started, seconds since the start of the run. */
  startedAt?: number | undefined;
}

export interface SeriesInput {
  id: string;
  label: string;
  unit: string;
  points: readonly SeriesPoint[];
  criterion: Criterion;
}

export interface FitWindow {
  /** End of the warm-up, seconds since the start of the run. */
  from: number;
  /** The last sample's time. */
  to: number;
  settleSeconds: number;
  /** A group (incarnation) with fewer samples in the window is not fitted. */
  minPoints: number;
}

export type FitStatus = 'pass' | 'fail' | 'info' | 'no-data';

export interface SeriesFit {
  id: string;
  label: string;
  unit: string;
  criterion: Criterion;
  status: FitStatus;
  /** Samples fitted, and the incarnations (groups) they came from. */
  points: number;
  groups: number;
  from: number;
  to: number;
  /** Median of the fitted samples. */
  level: number;
  slopePerHour: number;
  /** Sen's 95 % confidence interval of the slope. */
  slopeLowPerHour: number;
  slopeHighPerHour: number;
  /** slope x (to - from), in the series' unit. */
  projected: number;
  tolerance: number;
}

/** The groups of points fitted for `input` in `window` (see the file comment). */
export function fitGroups(points: readonly SeriesPoint[], window: FitWindow): Point[][] {
  const groups: { key: string | undefined; startedAt: number | undefined; points: Point[] }[] = [];
  for (const p of points) {
    // A sample that could not be read neither ends nor starts an incarnation.
    if (p.v === undefined || !Number.isFinite(p.v)) continue;
    let last = groups[groups.length - 1];
    if (!last || last.key !== p.incarnation) {
      // A pid seen again after another one is another incarnation too (pids get reused).
      last = { key: p.incarnation, startedAt: p.startedAt, points: [] };
      groups.push(last);
    }
    const settledAt = last.startedAt === undefined ? -Infinity : last.startedAt + window.settleSeconds;
    if (p.t >= window.from && p.t <= window.to && p.t >= settledAt) last.points.push({ t: p.t, v: p.v });
  }
  return groups.map((g) => g.points).filter((g) => g.length >= window.minPoints);
}

export function fitSeries(input: SeriesInput, window: FitWindow): SeriesFit {
  const groups = fitGroups(input.points, window);
  const values = groups.flat().map((p) => p.v);
  const fit = theilSen(groups);
  const level = median(values);
  const span = Math.max(0, window.to - window.from);
  const { criterion } = input;
  const tolerance = Math.max(criterion.relative * Math.abs(level), criterion.floor);
  const base = {
    id: input.id,
    label: input.label,
    unit: input.unit,
    criterion,
    points: values.length,
    groups: groups.length,
    from: window.from,
    to: window.to,
  };
  if (fit === undefined || Number.isNaN(level))
    return {
      ...base,
      status: 'no-data',
      level,
      slopePerHour: Number.NaN,
      slopeLowPerHour: Number.NaN,
      slopeHighPerHour: Number.NaN,
      projected: Number.NaN,
      tolerance,
    };
  const projected = fit.slope * span;
  const up = criterion.direction === 'up';
  const material = (up ? projected : -projected) > tolerance;
  const significant = up ? fit.low > 0 : fit.high < 0;
  const status: FitStatus = !criterion.judged ? 'info' : material && significant ? 'fail' : 'pass';
  return {
    ...base,
    status,
    level,
    slopePerHour: fit.slope * 3600,
    slopeLowPerHour: fit.low * 3600,
    slopeHighPerHour: fit.high * 3600,
    projected,
    tolerance,
  };
}
