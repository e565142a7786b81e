/**
 * gRPC Addition/Add under load: `connections` distinct HTTP/2 channels (each with its own subchannel
 * pool, so they do not collapse into one shared connection), random a, b in 0..99 like the
 * original's k6 script, and the running total of what the service acknowledged, for the sum check.
 */
import * as grpc from '@grpc/grpc-js';
import { loadAdditionProto } from '../shared/grpc/loadAdditionProto.js';
import type { LoadTarget } from './loadTarget.js';
import type { CallOutcome } from './targetStats.js';

interface AddReply {
  sum: string;
}

type AdditionStub = grpc.Client & {
  Add(
    request: unknown,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: AddReply) => void,
  ): void;
};

/** Statuses with which the add-service refuses a request before writing it: such an Add surely did not count. */
const NOT_RECORDED = new Set<number>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.OUT_OF_RANGE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNIMPLEMENTED,
  grpc.status.ALREADY_EXISTS,
]);

export interface GrpcAddTargetOptions {
  address: string;
  connections: number;
  timeoutMs: number;
}

export class GrpcAddTarget implements LoadTarget {
  readonly name = 'add' as const;
  readonly label: string;
  private readonly stubs: AdditionStub[] = [];
  /** Sum of a + b over every acknowledged Add. */
  acknowledgedTotal = 0n;
  acknowledged = 0;
  /** Sum of a + b over failed Adds that may have been recorded anyway (deadline passed, connection lost ...). */
  uncertainTotal = 0n;
  uncertain = 0;

  constructor(private readonly options: GrpcAddTargetOptions) {
    this.label = `gRPC Addition/Add ${options.address}`;
    const { Addition } = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as { Addition: typeof grpc.Client };
    for (let i = 0; i < options.connections; i++) {
      this.stubs.push(
        new Addition(options.address, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.primary_user_agent': `sumstream-load/${i}`,
        }) as AdditionStub,
      );
    }
  }

  async connect(): Promise<void> {
    const deadline = Date.now() + Math.max(10_000, this.options.timeoutMs);
    // Connect in batches so thousands of handshakes do not all start in the same tick.
    const batch = 200;
    for (let i = 0; i < this.stubs.length; i += batch) {
      await Promise.all(
        this.stubs
          .slice(i, i + batch)
          .map(
            (stub) =>
              new Promise<void>((resolve, reject) =>
                stub.waitForReady(deadline, (error) =>
                  error
                    ? reject(
                        new Error(
                          `cannot connect to the add-service at ${this.options.address}: ${error.message}. Is the stack running (npm start)? Is --grpc right?`,
                        ),
                      )
                    : resolve(),
                ),
              ),
          ),
      );
    }
  }

  call(slot: number): Promise<CallOutcome> {
    const a = Math.floor(Math.random() * 100);
    const b = Math.floor(Math.random() * 100);
    const stub = this.stubs[slot % this.stubs.length]!;
    return new Promise((resolve) => {
      stub.Add(
        { a: String(a), b: String(b) },
        new grpc.Metadata(),
        { deadline: Date.now() + this.options.timeoutMs },
        (error, reply) => {
          if (error) {
            if (!NOT_RECORDED.has(error.code)) {
              this.uncertain++;
              this.uncertainTotal += BigInt(a + b);
            }
            resolve({ ok: false, error: grpc.status[error.code] ?? `code_${error.code}` });
            return;
          }
          if (reply?.sum !== String(a + b)) {
            // Recorded, but with a wrong answer: count it as an error and as uncertain for the sum.
            this.uncertain++;
            this.uncertainTotal += BigInt(a + b);
            resolve({ ok: false, error: 'wrong_answer' });
            return;
          }
          this.acknowledged++;
          this.acknowledgedTotal += BigInt(a + b);
          resolve({ ok: true });
        },
      );
    });
  }

  async close(): Promise<void> {
    for (const stub of this.stubs) stub.close();
  }
}
