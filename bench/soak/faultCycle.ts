/**
 * The soak's faults: one every `everySeconds`, cycling through kill -9 of the sum-service, of the
 * cdc-relay and of the add-service (each started again after a second, waiting until it answers its
 * readiness probe), then closing every AMQP connection through the management API. The faults are
 * the chaos harness's own (test/chaos/faults.ts); here they come one at a time, on a fixed period,
 * so that what a soak measures is how state behaves across many recoveries.
 */
import { sleep } from '../../src/shared/backoff.js';
import { type FaultResult, killAndRestart, resetBrokerConnections } from '../../test/chaos/faults.js';
import type { SoakStack } from './soakStack.js';

export const SOAK_FAULT_KINDS = [
  'kill-sum-service',
  'kill-cdc-relay',
  'kill-add-service',
  'reset-broker-connections',
] as const;
export type SoakFaultKind = (typeof SOAK_FAULT_KINDS)[number];

/** How long a killed process stays down before it is started again, ms. */
const DOWN_MS = 1000;

export interface SoakFault {
  index: number;
  kind: SoakFaultKind;
  /** Seconds since the start of the soak load. */
  at: number;
  /** Until the target was back up (ready again, or the connections closed). */
  durationMs: number;
  detail: string;
  /** False when it failed (the process did not come back): a violation. */
  ok: boolean;
}

function inject(stack: SoakStack, kind: SoakFaultKind): Promise<FaultResult> {
  switch (kind) {
    case 'kill-sum-service':
      return killAndRestart(stack, 'sum-service', DOWN_MS);
    case 'kill-cdc-relay':
      return killAndRestart(stack, 'cdc-relay', DOWN_MS);
    case 'kill-add-service':
      return killAndRestart(stack, 'add-service', DOWN_MS);
    case 'reset-broker-connections':
      return resetBrokerConnections(stack);
  }
}

export interface FaultCycleOptions {
  everySeconds: number;
  /** No fault starts after this many seconds since the start. */
  lastStartSeconds: number;
  /** performance.now()-style clock of the start (t = 0), ms. */
  startedAt: number;
  now: () => number;
  log: (line: string) => void;
}

export class FaultCycle {
  readonly faults: SoakFault[] = [];
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** True while a fault is in progress (its target not back yet). */
  busy = false;

  constructor(
    private readonly stack: SoakStack,
    private readonly options: FaultCycleOptions,
  ) {}

  start(): void {
    if (this.options.everySeconds > 0) this.loop = this.run();
  }

  /** Injects no further fault and waits for the one in progress. */
  async stop(): Promise<SoakFault[]> {
    this.stopping.abort();
    await this.loop;
    return this.faults;
  }

  private async run(): Promise<void> {
    const { everySeconds, lastStartSeconds, startedAt, now } = this.options;
    for (let index = 1; index * everySeconds <= lastStartSeconds; index++) {
      const due = startedAt + index * everySeconds * 1000;
      if (!(await sleep(Math.max(0, due - now()), this.stopping.signal))) return;
      const kind = SOAK_FAULT_KINDS[(index - 1) % SOAK_FAULT_KINDS.length]!;
      const began = now();
      this.busy = true;
      let fault: SoakFault;
      try {
        const result = await inject(this.stack, kind);
        fault = {
          index,
          kind,
          at: (began - startedAt) / 1000,
          durationMs: now() - began,
          detail: result.detail,
          ok: true,
        };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        fault = { index, kind, at: (began - startedAt) / 1000, durationMs: now() - began, detail, ok: false };
      } finally {
        this.busy = false;
      }
      this.faults.push(fault);
      this.options.log(
        `[${fault.at.toFixed(0).padStart(5)}s] fault ${index} ${kind}: ${fault.ok ? '' : 'FAILED: '}${fault.detail} (${(fault.durationMs / 1000).toFixed(1)} s)`,
      );
    }
  }
}
