/**
 * What one target's traffic did: a whole-run latency histogram, error counts by kind, and one
 * point per window (about a second) for the over-time plot. Memory is bounded: a window keeps only
 * its summary once closed.
 */
import { LatencyHistogram, type LatencySummary } from './latencyHistogram.js';

/** The outcome of one request. `error` is a short kind such as "UNAVAILABLE", "http_503", "ECONNRESET", "timeout". */
export type CallOutcome = { ok: true } | { ok: false; error: string };

export interface WindowPoint {
  /** Seconds since the start of the run at the end of the window. */
  t: number;
  /** Length of the window, s. */
  seconds: number;
  /** Completed requests (ok + errors) per second in the window. */
  rate: number;
  ok: number;
  errors: number;
  /** Arrivals dropped at the in-flight cap (open loop). */
  dropped: number;
  /** Latency of the requests completed in the window, ms (0 when none). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface TargetSnapshot {
  requests: number;
  ok: number;
  errors: number;
  dropped: number;
  inFlight: number;
}

export class TargetStats {
  readonly whole = new LatencyHistogram(11);
  private window = new LatencyHistogram(11);
  private windowOk = 0;
  private windowErrors = 0;
  private windowDropped = 0;
  private windowStartedAt: number;
  readonly series: WindowPoint[] = [];
  readonly errorsByKind: Record<string, number> = {};
  ok = 0;
  errors = 0;
  dropped = 0;
  inFlight = 0;
  /** Requests started (open loop: arrivals sent; closed loop: calls made). */
  started = 0;
  /** The last closed window, for the progress line. */
  lastWindow: WindowPoint | undefined;

  constructor(private readonly runStartedAt: number) {
    this.windowStartedAt = runStartedAt;
  }

  /** A request completed `latencyMs` after it was due (open loop) or sent (closed loop). */
  complete(latencyMs: number, outcome: CallOutcome): void {
    const micros = latencyMs * 1000;
    this.whole.record(micros);
    this.window.record(micros);
    if (outcome.ok) {
      this.ok++;
      this.windowOk++;
    } else {
      this.errors++;
      this.windowErrors++;
      this.errorsByKind[outcome.error] = (this.errorsByKind[outcome.error] ?? 0) + 1;
    }
  }

  /** An arrival that was not sent because --max-in-flight requests were outstanding. */
  drop(): void {
    this.dropped++;
    this.windowDropped++;
    this.errorsByKind['dropped (in-flight cap)'] = (this.errorsByKind['dropped (in-flight cap)'] ?? 0) + 1;
  }

  /** Closes the current window at time `now` (ms, same clock as the run start) and starts the next. */
  closeWindow(now: number): WindowPoint {
    const seconds = Math.max(0.001, (now - this.windowStartedAt) / 1000);
    const summary = this.window.summary();
    const point: WindowPoint = {
      t: round((now - this.runStartedAt) / 1000, 3),
      seconds: round(seconds, 3),
      rate: round((this.windowOk + this.windowErrors) / seconds, 1),
      ok: this.windowOk,
      errors: this.windowErrors,
      dropped: this.windowDropped,
      p50Ms: round(summary.p50 / 1000, 3),
      p99Ms: round(summary.p99 / 1000, 3),
      maxMs: round(summary.max / 1000, 3),
    };
    this.series.push(point);
    this.lastWindow = point;
    this.window.reset();
    this.windowOk = 0;
    this.windowErrors = 0;
    this.windowDropped = 0;
    this.windowStartedAt = now;
    return point;
  }

  snapshot(): TargetSnapshot {
    return {
      requests: this.ok + this.errors,
      ok: this.ok,
      errors: this.errors,
      dropped: this.dropped,
      inFlight: this.inFlight,
    };
  }

  latency(): LatencySummary {
    return this.whole.summary();
  }
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
