/** What a soak run found: report.json is this object. */
import type { MachineInfo } from '../benchEnvironment.js';
import type { SumEvidence, SumVerdict } from './checkSoakSum.js';
import type { SoakFault } from './faultCycle.js';
import type { FitWindow, SeriesFit } from './fitSeries.js';
import type { RampStep } from './measureMaxRate.js';
import type { SoakSample } from './sampleStack.js';
import type { SoakOptions } from './soakOptions.js';

export interface SoakReport {
  tool: 'sumstream-soak';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: SoakOptions;
  ramp: { steps: RampStep[]; maxRate: number; sumCheck: string };
  load: {
    ratePerSecond: number;
    deadlineMs: number;
    keyedBudgetMs: number;
    operations: number;
    acknowledged: number;
    replayed: number;
    refused: number;
    dropped: number;
    errorsByCode: Record<string, number>;
    unknown: number;
    unknownRecorded: number;
    unknownNotRecorded: number;
    reads: { ok: number; errors: number };
  };
  faults: SoakFault[];
  /** Processes that exited on their own (the supervisor started them again). */
  unexpectedExits: string[];
  samples: SoakSample[];
  fitWindow: FitWindow;
  fits: SeriesFit[];
  sum: Omit<SumVerdict, 'expectedSum' | 'expectedApplied'> & {
    expectedSum: string;
    expectedApplied: string;
    restSum: string | undefined;
    appliedEvents: string | undefined;
    window: SumEvidence['window'];
    drainMs: number;
  };
  aborted: boolean;
  ok: boolean;
  /** Every failed criterion and violation, one line each. */
  failures: string[];
}
