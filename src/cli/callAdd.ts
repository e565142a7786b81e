import * as grpc from '@grpc/grpc-js';
import { loadAdditionProto } from '../shared/grpc/loadAdditionProto.js';
import { CliFailure } from './cliErrors.js';
import { reasonInText } from './connectionErrorReason.js';

export interface CallAddOptions {
  /** add-service address, host:port. */
  target: string;
  a: bigint;
  b: bigint;
  /** Idempotency key; empty or undefined: none. */
  key?: string;
  /** Bearer token for `ADD_AUTH_TOKENS`. */
  token?: string;
  /** Deadline of the call, ms. */
  timeoutMs: number;
}

export interface AddResult {
  /** a + b, exact. */
  sum: bigint;
  operationId: string;
  replayed: boolean;
  /** Opaque token for `GET /sum?after=`; '' when the add-service does not issue one. */
  readToken: string;
}

interface AddReply {
  sum: string;
  operation_id: string;
  replayed: boolean;
  read_token?: string;
}

/** One gRPC Addition/Add call (int64 as decimal strings both ways); failures become CliFailure with the fix. */
export async function callAdd(options: CallAddOptions): Promise<AddResult> {
  const { Addition } = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as { Addition: typeof grpc.Client };
  const client = new Addition(options.target, grpc.credentials.createInsecure()) as grpc.Client & {
    Add(
      request: unknown,
      metadata: grpc.Metadata,
      callOptions: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, reply: AddReply) => void,
    ): void;
  };
  const metadata = new grpc.Metadata();
  if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
  try {
    const reply = await new Promise<AddReply>((resolve, reject) => {
      client.Add(
        { a: options.a.toString(), b: options.b.toString(), idempotency_key: options.key ?? '' },
        metadata,
        { deadline: Date.now() + options.timeoutMs },
        (error, answer) => (error ? reject(error) : resolve(answer)),
      );
    });
    return {
      sum: BigInt(reply.sum),
      operationId: reply.operation_id,
      replayed: reply.replayed,
      readToken: reply.read_token ?? '',
    };
  } catch (error) {
    throw new CliFailure(explainAddError(error as grpc.ServiceError, options), { cause: error });
  } finally {
    client.close();
  }
}

function explainAddError(error: grpc.ServiceError, options: CallAddOptions): string {
  const status = grpc.status[error.code] ?? String(error.code);
  switch (error.code) {
    case grpc.status.UNAVAILABLE: {
      const reason = reasonInText(error.details);
      // Refused or unresolvable: the call never reached it. Otherwise it may have been recorded.
      const neverSent = reason === 'connection refused' || reason === 'host not found';
      return (
        `Cannot reach the add-service at ${options.target}: ${reason ?? error.details}. ` +
        'Start the stack with `npx sumstream up`, or point --grpc / SUMSTREAM_GRPC_TARGET at it.' +
        (neverSent ? '' : ' The addition may or may not be recorded: retry with the same --key to be safe.')
      );
    }
    case grpc.status.DEADLINE_EXCEEDED:
      return (
        `No answer from the add-service at ${options.target} within ${options.timeoutMs} ms; the addition may or may not be recorded. ` +
        `Retry with the same --key${options.key ? ` (${options.key})` : ' (pass one next time)'} to be safe, or raise --timeout-ms.`
      );
    case grpc.status.UNAUTHENTICATED:
      return `The add-service refused the call (UNAUTHENTICATED): ${error.details}. Pass --token or set SUMSTREAM_AUTH_TOKEN to one of its ADD_AUTH_TOKENS.`;
    default:
      return `The add-service refused the call (${status}): ${error.details}`;
  }
}
