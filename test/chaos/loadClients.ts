/**
 * The chaos workload: many concurrent gRPC clients calling Addition/Add, each on its own channel,
 * recording every operation in a history the checker reads afterwards.
 *
 * - Every call has a deadline (default 3 s).
 * - A keyed client sends every Add with a fresh idempotency key and, on any failure, retries the same
 *   key with backoff until it is acknowledged or a generous budget runs out (then: unknown outcome).
 * - An unkeyed client never retries: a failure is an unknown outcome (the request may or may not have
 *   committed), recorded with its operands and time window for the checker to resolve through the ledger.
 * Operands, pauses and which clients use keys come from the seed; retry jitter does not need to.
 */
import { setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { loadAdditionProto } from '../../src/shared/grpc/loadAdditionProto.js';
import type { AddOperation } from './checkHistory.js';
import { deriveRng, type Rng } from './prng.js';

export interface LoadOptions {
  /** host:port of the add-service. */
  address: string;
  clients: number;
  seed: number;
  /** Share of clients that use idempotency keys. Default 0.5. */
  keyedShare?: number;
  /** Mean pause between one client's Adds, ms (uniform in [0, 2×]). Default 50. */
  thinkMs?: number;
  /** Deadline of one call, ms. Default 3000. */
  deadlineMs?: number;
  /** How long a keyed Add keeps retrying before its outcome is recorded as unknown, ms. Default 120000. */
  keyedBudgetMs?: number;
}

export interface LoadStats {
  operations: number;
  acknowledged: number;
  unknown: number;
  inFlight: number;
  /** Calls made, retries included. */
  attempts: number;
  /** Failed calls by gRPC status name. */
  errorsByCode: Record<string, number>;
  keyedClients: number;
}

interface AddReply {
  sum: string;
  operation_id: string;
  replayed: boolean;
}

type AdditionStub = grpc.Client & {
  Add(
    request: unknown,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply: AddReply) => void,
  ): void;
};

const NOT_RECORDED = /was not recorded/;

/** Operands: mostly small, some around ±2^50 (sums leave float range, stay inside int64); some negative. */
function operand(rng: Rng): bigint {
  const big = rng() < 0.25;
  const magnitude = big
    ? BigInt(Math.floor(rng() * 2 ** 30)) * 1_048_576n + BigInt(Math.floor(rng() * 1_048_576))
    : BigInt(Math.floor(rng() * 1_000_000));
  return rng() < 0.3 ? -magnitude : magnitude;
}

export class LoadGenerator {
  readonly history: AddOperation[] = [];
  private readonly stopping = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly stubs: AdditionStub[] = [];
  private attempts = 0;
  private readonly errorsByCode: Record<string, number> = {};
  private keyedClients = 0;

  constructor(private readonly options: LoadOptions) {
    setMaxListeners(0, this.stopping.signal); // every client's pause listens to it
  }

  start(): void {
    const { Addition } = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as { Addition: typeof grpc.Client };
    const chooser = deriveRng(this.options.seed, 'keyed-clients');
    for (let i = 0; i < this.options.clients; i++) {
      const keyed = chooser() < (this.options.keyedShare ?? 0.5);
      if (keyed) this.keyedClients++;
      const stub = new Addition(this.options.address, grpc.credentials.createInsecure(), {
        // Reconnect quickly after the add-service comes back (grpc-js defaults back off up to 120 s).
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.min_reconnect_backoff_ms': 100,
      }) as AdditionStub;
      this.stubs.push(stub);
      this.loops.push(this.run(i, stub, keyed));
    }
  }

  /**
   * One keyed Add of 1 + 0 on a channel of its own, retried until acknowledged (or the keyed budget
   * runs out), recorded in the history like every other: the chaos run's "accepting again?" probe.
   */
  async probe(): Promise<AddOperation> {
    const { Addition } = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as { Addition: typeof grpc.Client };
    const stub = new Addition(this.options.address, grpc.credentials.createInsecure()) as AdditionStub;
    const op: AddOperation = {
      index: this.history.length,
      client: -1,
      a: 1n,
      b: 0n,
      idempotencyKey: `chaos-${this.options.seed}-probe-${this.history.length}`,
      invokedAt: Date.now(),
      completedAt: 0,
      attempts: 0,
      outcome: 'unknown',
    };
    this.history.push(op);
    try {
      await this.perform(stub, op);
    } finally {
      stub.close();
    }
    return op;
  }

  /** Stops issuing new Adds and waits for those in flight (keyed ones keep retrying within their budget). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
    for (const stub of this.stubs) stub.close();
  }

  stats(): LoadStats {
    let acknowledged = 0;
    let unknown = 0;
    let inFlight = 0;
    for (const op of this.history) {
      if (op.outcome === 'ok') acknowledged++;
      else if (op.completedAt === 0) inFlight++;
      else unknown++;
    }
    return {
      operations: this.history.length,
      acknowledged,
      unknown,
      inFlight,
      attempts: this.attempts,
      errorsByCode: { ...this.errorsByCode },
      keyedClients: this.keyedClients,
    };
  }

  private async run(client: number, stub: AdditionStub, keyed: boolean): Promise<void> {
    const rng = deriveRng(this.options.seed, `client-${client}`);
    const thinkMs = this.options.thinkMs ?? 50;
    for (let seq = 0; !this.stopping.signal.aborted; seq++) {
      const a = operand(rng);
      const b = operand(rng);
      const pause = rng() * 2 * thinkMs;
      const op: AddOperation = {
        index: this.history.length,
        client,
        a,
        b,
        idempotencyKey: keyed ? `chaos-${this.options.seed}-c${client}-${seq}` : undefined,
        invokedAt: Date.now(),
        completedAt: 0, // 0 while in flight
        attempts: 0,
        outcome: 'unknown',
      };
      this.history.push(op);
      await this.perform(stub, op);
      // After a failure a client waits a little longer before its next Add (it does not retry an unkeyed one).
      const wait = op.outcome === 'ok' ? pause : pause + 250;
      if (wait > 0) await abortableSleep(wait, this.stopping.signal);
    }
  }

  private async perform(stub: AdditionStub, op: AddOperation): Promise<void> {
    const deadlineMs = this.options.deadlineMs ?? 3000;
    const budgetEnds = op.invokedAt + (this.options.keyedBudgetMs ?? 120_000);
    for (;;) {
      op.attempts++;
      this.attempts++;
      const result = await call(stub, op, deadlineMs);
      if ('reply' in result) {
        op.outcome = 'ok';
        op.operationId = result.reply.operation_id;
        op.sum = BigInt(result.reply.sum);
        op.replayed = result.reply.replayed;
        op.lastError = undefined;
        op.claimedNotRecorded = undefined;
        op.completedAt = Date.now();
        return;
      }
      const code = grpc.status[result.error.code] ?? String(result.error.code);
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
      op.lastError = `${code}: ${result.error.details}`;
      op.claimedNotRecorded = result.error.code === grpc.status.UNAVAILABLE && NOT_RECORDED.test(result.error.details);
      if (op.idempotencyKey === undefined || Date.now() >= budgetEnds) {
        op.outcome = 'unknown';
        op.completedAt = Date.now();
        return;
      }
      // Retry the same key: exponential backoff with jitter, 100 ms … 2 s.
      const ceiling = Math.min(2000, 100 * 2 ** Math.min(op.attempts - 1, 5));
      await new Promise((r) => setTimeout(r, ceiling / 2 + (Math.random() * ceiling) / 2));
    }
  }
}

function call(
  stub: AdditionStub,
  op: AddOperation,
  deadlineMs: number,
): Promise<{ reply: AddReply } | { error: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const request = { a: op.a.toString(), b: op.b.toString(), idempotency_key: op.idempotencyKey ?? '' };
    stub.Add(request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error, reply) =>
      resolve(error ? { error } : { reply }),
    );
  });
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
