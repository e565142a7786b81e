/**
 * gRPC Add for the soak, driven by the load tool's open loop (runOpenLoop). Unlike the load tool's
 * target it must keep the sum exact through faults for half an hour with bounded memory, so:
 * - every Add has operands of its own (a = OPERAND_BASE + its sequence number), so an Add of unknown
 *   outcome is found in the ledger (or not) by its operands alone, without guessing;
 * - a share of the Adds carry an idempotency key and retry with it, with backoff, until answered
 *   (or `keyedBudgetMs` passes, well inside the key's retention, after which a retry could count twice);
 * - what was acknowledged is kept as a count and a total, never as a history; only the Adds of
 *   unknown outcome are kept, until resolveUnknowns settles them against the ledger.
 */
import * as grpc from '@grpc/grpc-js';
import { loadAdditionProto } from '../../src/shared/grpc/loadAdditionProto.js';
import type { LoadTarget } from '../../src/load/loadTarget.js';
import type { CallOutcome } from '../../src/load/targetStats.js';
import type { UnknownAdd } from './resolveUnknowns.js';

/** Above the load tool's operands (0..99, used by the ramp), so the soak's Adds never match those rows. */
export const OPERAND_BASE = 1_000_000_000n;

export interface SoakAddTargetOptions {
  address: string;
  connections: number;
  /** Deadline of one call, ms. */
  deadlineMs: number;
  /** Share of the Adds sent with an idempotency key. */
  keyedShare: number;
  /** How long a keyed Add keeps retrying before its outcome counts as unknown, ms. */
  keyedBudgetMs: number;
  /** Prefix of this run's idempotency keys. */
  runTag: string;
}

interface AddReply {
  sum: string;
  replayed: boolean;
}

type AdditionStub = grpc.Client & {
  Add(
    request: unknown,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: AddReply) => void,
  ): void;
};

/** Statuses with which the add-service refuses a request before writing it (as the load tool's target). */
const REFUSED = new Set<number>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.OUT_OF_RANGE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNIMPLEMENTED,
]);

/** Low-discrepancy choice of the keyed Adds: exactly `share` of every run of Adds, evenly spread. */
const isKeyed = (sequence: number, share: number): boolean => (sequence * 0.6180339887498949) % 1 < share;

export class SoakAddTarget implements LoadTarget {
  readonly name = 'add' as const;
  readonly label: string;
  private readonly stubs: AdditionStub[] = [];
  private sequence = 0;
  acknowledged = 0;
  acknowledgedTotal = 0n;
  /** Acknowledged answers that replayed an earlier attempt with the same key. */
  replayed = 0;
  wrongAnswers = 0;
  /** Refused before being written (surely not recorded). */
  refused = 0;
  /** Calls that failed, retries included, by gRPC status. */
  readonly errorsByCode: Record<string, number> = {};
  /** Adds of unknown outcome not yet settled against the ledger. */
  pending: UnknownAdd[] = [];
  unknownTotal = 0;

  constructor(private readonly options: SoakAddTargetOptions) {
    this.label = `gRPC Addition/Add ${options.address}`;
    const { Addition } = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as { Addition: typeof grpc.Client };
    for (let i = 0; i < options.connections; i++) {
      this.stubs.push(
        new Addition(options.address, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          // Reconnect quickly after the add-service comes back (grpc-js backs off up to 120 s by default).
          'grpc.initial_reconnect_backoff_ms': 100,
          'grpc.min_reconnect_backoff_ms': 100,
          'grpc.max_reconnect_backoff_ms': 1000,
        }) as AdditionStub,
      );
    }
  }

  async connect(): Promise<void> {
    const deadline = Date.now() + 10_000;
    await Promise.all(
      this.stubs.map(
        (stub) =>
          new Promise<void>((resolve, reject) => stub.waitForReady(deadline, (e) => (e ? reject(e) : resolve()))),
      ),
    );
  }

  async call(slot: number): Promise<CallOutcome> {
    const sequence = this.sequence++;
    const a = OPERAND_BASE + BigInt(sequence);
    const b = BigInt(sequence % 100);
    const key = isKeyed(sequence, this.options.keyedShare) ? `soak-${this.options.runTag}-${sequence}` : undefined;
    const stub = this.stubs[slot % this.stubs.length]!;
    const invokedAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      const result = await this.attempt(stub, a, b, key);
      if ('reply' in result) {
        if (result.reply.sum !== String(a + b)) this.wrongAnswers++;
        this.acknowledged++;
        this.acknowledgedTotal += a + b;
        if (result.reply.replayed) this.replayed++;
        return { ok: true };
      }
      const code = grpc.status[result.error.code] ?? `code_${result.error.code}`;
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
      if (REFUSED.has(result.error.code)) {
        this.refused++;
        return { ok: false, error: code };
      }
      if (key === undefined || Date.now() - invokedAt >= this.options.keyedBudgetMs) {
        this.pending.push({ a, b, invokedAt, completedAt: Date.now() });
        this.unknownTotal++;
        return { ok: false, error: code };
      }
      // Retry the same key: exponential backoff with jitter, 100 ms ... 2 s.
      const ceiling = Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + (Math.random() * ceiling) / 2));
    }
  }

  /** Removes and returns the unknown outcomes that completed before `before` (epoch ms). */
  takeSettled(before: number): UnknownAdd[] {
    const settled = this.pending.filter((u) => u.completedAt < before);
    this.pending = this.pending.filter((u) => u.completedAt >= before);
    return settled;
  }

  private attempt(
    stub: AdditionStub,
    a: bigint,
    b: bigint,
    key: string | undefined,
  ): Promise<{ reply: AddReply } | { error: grpc.ServiceError }> {
    return new Promise((resolve) => {
      const request = { a: a.toString(), b: b.toString(), idempotency_key: key ?? '' };
      stub.Add(request, new grpc.Metadata(), { deadline: Date.now() + this.options.deadlineMs }, (error, reply) =>
        resolve(error ? { error } : { reply: reply! }),
      );
    });
  }

  async close(): Promise<void> {
    for (const stub of this.stubs) stub.close();
  }
}
