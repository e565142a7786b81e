import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';

/** The repository's public proto. */
export const ADDITION_PROTO_PATH = fileURLToPath(new URL('../../../proto/addition.proto', import.meta.url));

/**
 * Loads `proto/addition.proto` with int64 as decimal strings (no precision loss) and
 * snake_case field names as written in the proto.
 */
export function loadAdditionProto(path: string = ADDITION_PROTO_PATH): protoLoader.PackageDefinition {
  return protoLoader.loadSync(path, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
}
