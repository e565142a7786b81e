import { PORT_KNOBS } from '../../shared/config/portKnobs.js';
import type { Command } from 'commander';
import type { CliContext } from '../cliContext.js';
import { EXIT, UsageError } from '../cliErrors.js';
import { fetchSum } from '../fetchSum.js';
import { toJson } from '../toJson.js';
import { helpFooter, intOption, JSON_FLAG, urlOption } from './options.js';

/** How much longer than the server's wait this client waits for the answer. */
const CLIENT_MARGIN_MS = 5_000;
/** This client's wait for a plain GET /sum. */
const PLAIN_WAIT_MS = 10_000;
/** The longest wait a sum-service allows (its READ_AFTER_TIMEOUT_MS is at most 10 min): with --after and no --timeout-ms it decides. */
const SERVER_MAX_WAIT_MS = 600_000;

/** `sumstream sum [--after TOKEN] [--timeout-ms N]`: GET /sum, exact. */
export function sumCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('sum')
    .summary('print the running sum (GET /sum), optionally once a given addition is applied')
    .description(
      'Reads the running sum from the sum-service (GET /sum) and prints it exactly (it may exceed 2^53 and int64). ' +
        'With --after TOKEN (the read_token `sumstream add` prints) the sum-service answers once that addition is ' +
        'applied, so the sum printed includes it (GET /sum?after=TOKEN&timeout_ms=N).',
    )
    .option('--after <token>', 'read token from `sumstream add`: wait until that addition is applied')
    .option(
      '--timeout-ms <n>',
      "with --after: how long the sum-service waits, ms (default: the sum-service's)",
      intOption('--timeout-ms', 1, SERVER_MAX_WAIT_MS),
    )
    .option(
      '--url <url>',
      `sum-service base URL (default: $SUMSTREAM_SUM_URL, else http://127.0.0.1:$SUM_PORT, i.e. http://127.0.0.1:${PORT_KNOBS.sumPort.default})`,
      urlOption('--url'),
    )
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      helpFooter(
        [
          'npx sumstream sum',
          'npx sumstream sum --json                      # {"sum":5}',
          'npx sumstream sum --after "$TOKEN" --timeout-ms 5000',
          `npx sumstream sum --url http://127.0.0.1:${PORT_KNOBS.sumPort.default}`,
        ],
        'Exit codes: 0 done, 1 failed (unreachable, 504 not applied in time, 503 store down), 2 usage error (also a malformed token).',
      ),
    )
    .action((options: { after?: string; timeoutMs?: number; url?: string; json?: boolean }) =>
      run(async () => {
        if (options.timeoutMs !== undefined && options.after === undefined)
          throw new UsageError(
            '--timeout-ms is how long the sum-service waits for --after TOKEN; pass --after too, or leave --timeout-ms out.',
          );
        const sum = await fetchSum({
          baseUrl: options.url ?? ctx.config().sumUrl,
          after: options.after,
          timeoutMs: options.timeoutMs,
          requestTimeoutMs:
            options.after === undefined ? PLAIN_WAIT_MS : (options.timeoutMs ?? SERVER_MAX_WAIT_MS) + CLIENT_MARGIN_MS,
        });
        ctx.io.out(options.json ? toJson({ sum }) : sum.toString());
        return EXIT.ok;
      }),
    );
}
