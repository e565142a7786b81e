/**
 * The live progress line on stderr, once a second: per target the rate and p99 of the last second,
 * errors so far and requests in flight. On a terminal it rewrites one line; otherwise (a pipe, a CI
 * log) it writes one line per second.
 */
import type { TargetSnapshot, WindowPoint } from './targetStats.js';

export interface ProgressEntry {
  name: string;
  window: WindowPoint | undefined;
  snapshot: TargetSnapshot;
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

/** "[  3s/30s] add 2001/s err 0 (0.00%) p99 4.10 ms inflight 12 | sum ..." (pure). */
export function formatProgress(elapsedMs: number, durationMs: number, entries: ProgressEntry[]): string {
  const elapsed = `${Math.floor(elapsedMs / 1000)}s`.padStart(String(Math.ceil(durationMs / 1000)).length + 1);
  const parts = entries.map(({ name, window, snapshot }) => {
    const done = snapshot.requests + snapshot.dropped;
    const failed = snapshot.errors + snapshot.dropped;
    const share = done === 0 ? 0 : (100 * failed) / done;
    const rate = window ? `${window.rate.toFixed(0)}/s` : '-/s';
    const p99 = window && window.ok + window.errors > 0 ? formatMs(window.p99Ms) : '-';
    return `${name} ${rate} err ${failed} (${share.toFixed(2)}%) p99 ${p99} inflight ${snapshot.inFlight}`;
  });
  const clock =
    elapsedMs <= durationMs + 999
      ? `[${elapsed}/${Math.ceil(durationMs / 1000)}s]`
      : `[${Math.floor(elapsedMs / 1000)}s, waiting for answers]`;
  return `${clock} ${parts.join(' | ')}`;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressLine {
  private drawn = false;

  constructor(private readonly stream: ProgressStream) {}

  update(text: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** Ends a rewritten line so that what follows starts on a fresh one. */
  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
