import type { CallOutcome } from './targetStats.js';

/** One endpoint under load: issues a request on connection `slot` and says how it went (never rejects). */
export interface LoadTarget {
  readonly name: 'add' | 'sum';
  /** A human label, e.g. "gRPC Addition/Add 127.0.0.1:50051". */
  readonly label: string;
  /** Opens the connections before the clock starts; throws with a clear message when the endpoint is unreachable. */
  connect(): Promise<void>;
  call(slot: number): Promise<CallOutcome>;
  close(): Promise<void>;
}
