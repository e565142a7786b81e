/**
 * Baseline for the Add benchmark: a grpc-js server with the same proto, the same loader options
 * and the same server options as the add-service, whose Add answers a + b without touching the
 * database (no validation, no ledger, no outbox). The ratio against it is the cost of durability.
 *
 * Run as its own process: `node --import tsx bench/baselines/bareAddServer.ts [PORT]` (default 0: a
 * free port). Prints `listening <port>` once bound; exit 2 on bad arguments.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { portArgument, readBaselineArguments } from './baselineArguments.js';
import { loadAdditionProto } from '../../src/shared/grpc/loadAdditionProto.js';

const [port] = readBaselineArguments(
  'bench/baselines/bareAddServer.ts',
  'grpc-js Addition server whose Add answers a + b without the database.',
  (program) => program.argument('[port]', 'port on 127.0.0.1 (0: a free one)', portArgument, 0),
) as [number];

interface AddRequest {
  a: string;
  b: string;
}

const definition = grpc.loadPackageDefinition(loadAdditionProto()) as unknown as {
  Addition: grpc.ServiceClientConstructor;
};
// The add-service's own server options (src/add-service/createGrpcServer.ts).
const server = new grpc.Server({ 'grpc.max_receive_message_length': 4096, 'grpc.keepalive_permit_without_calls': 1 });
server.addService(definition.Addition.service, {
  Add: (call: grpc.ServerUnaryCall<AddRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    callback(null, {
      sum: (BigInt(call.request.a) + BigInt(call.request.b)).toString(),
      operation_id: randomUUID(),
      replayed: false,
    });
  },
  GetSum: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    callback(null, { sum: '0', applied_events: '0' });
  },
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
