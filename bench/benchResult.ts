/** One line of the results table. */
export interface BenchRow {
  benchmark: string;
  /** What was measured, e.g. "throughput, bombardier (64 connections)". */
  measure: string;
  /** SumStream's figure, formatted. */
  sumstream: string;
  /** The baseline's figure, formatted ('' when the row has no baseline). */
  baseline: string;
  /** SumStream / baseline ('' when not a ratio). */
  ratio: string;
  /** The goal, e.g. ">= 0.85x". */
  goal: string;
  /** Whether the goal was met; undefined when the row is informational. */
  met: boolean | undefined;
}

/** What a benchmark returns: table rows and free-form detail lines for the report. */
export interface BenchOutcome {
  rows: BenchRow[];
  details: string[];
}

export const fmt = {
  rate: (perSecond: number): string => `${Math.round(perSecond).toLocaleString('en-US')}/s`,
  ms: (ms: number): string =>
    Number.isNaN(ms) ? 'n/a' : `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`,
  ratio: (value: number): string => `${value.toFixed(3)}x`,
  mib: (value: number): string => `${Math.round(value)} MiB`,
  int: (value: number): string => Math.round(value).toLocaleString('en-US'),
};

/** Mean of numbers (NaN for none). */
export function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}
