import { PORT_KNOBS } from '../../shared/config/portKnobs.js';
import type { Command } from 'commander';
import { callAdd } from '../callAdd.js';
import type { CliContext } from '../cliContext.js';
import { EXIT, UsageError } from '../cliErrors.js';
import { toJson } from '../toJson.js';
import { helpFooter, int64Argument, intOption, JSON_FLAG } from './options.js';

/** Idempotency keys as the add-service accepts them: 1-128 printable ASCII characters, no spaces. */
const KEY = /^[\x21-\x7e]{1,128}$/;

/** `sumstream add A B [--key K]`: one gRPC Addition/Add call, its answer printed. */
export function addCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('add')
    .summary('add A + B through gRPC Addition/Add and print the answer')
    .description(
      'Calls gRPC Addition/Add on the add-service. A and B are int64 (kept exact: no rounding past 2^53). ' +
        'Prints the sum a + b, the operation id (the event id followed through the pipeline), whether the answer ' +
        'replays an earlier call with the same --key, and the read token that `sumstream sum --after` waits on.',
    )
    .argument('<a>', 'first operand, int64', int64Argument('A'))
    .argument('<b>', 'second operand, int64', int64Argument('B'))
    .option(
      '--key <key>',
      'idempotency key: a retry with the same key is counted once (1-128 printable ASCII, no spaces)',
    )
    .option(
      '--grpc <host:port>',
      `add-service address (default: $SUMSTREAM_GRPC_TARGET, else 127.0.0.1:$GRPC_PORT, i.e. 127.0.0.1:${PORT_KNOBS.grpcPort.default})`,
    )
    .option('--token <token>', 'bearer token when the add-service requires one (default: $SUMSTREAM_AUTH_TOKEN)')
    .option('--timeout-ms <n>', 'deadline of the call in ms', intOption('--timeout-ms', 1, 600_000), 10_000)
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      helpFooter([
        'npx sumstream add 2 3',
        'npx sumstream add 9223372036854775807 -1 --key order-42',
        'npx sumstream add -5 3 --json',
        'TOKEN=$(npx sumstream add 2 3 --json | jq -r .read_token) && npx sumstream sum --after "$TOKEN"',
      ]),
    )
    .action(
      (
        a: bigint,
        b: bigint,
        options: { key?: string; grpc?: string; token?: string; timeoutMs: number; json?: boolean },
      ) =>
        run(async () => {
          if (options.key !== undefined && !KEY.test(options.key)) {
            throw new UsageError(
              `--key must be 1-128 printable ASCII characters without spaces; got ${JSON.stringify(options.key)}.`,
            );
          }
          const config = ctx.config();
          const result = await callAdd({
            target: options.grpc ?? config.grpcTarget,
            a,
            b,
            key: options.key,
            token: options.token ?? config.authToken,
            timeoutMs: options.timeoutMs,
          });
          if (options.json) {
            ctx.io.out(
              toJson({
                sum: result.sum,
                operation_id: result.operationId,
                replayed: result.replayed,
                read_token: result.readToken,
              }),
            );
          } else {
            ctx.io.out(
              [
                `sum           ${result.sum}`,
                `operation_id  ${result.operationId}`,
                `replayed      ${result.replayed}`,
                `read_token    ${result.readToken || '(none: this add-service issues no read tokens)'}`,
              ].join('\n'),
            );
            if (result.readToken)
              ctx.io.err(
                `Read the sum once this addition is applied: npx sumstream sum --after ${shellWord(result.readToken)}`,
              );
          }
          return EXIT.ok;
        }),
    );
}

/** The token as one shell word: as it is when that is safe, else single-quoted (the token is opaque). */
export function shellWord(text: string): string {
  return /^[\w.:@%+=,/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
