import { PORT_KNOBS } from '../../shared/config/portKnobs.js';
import type { Command } from 'commander';
import { sleep } from '../../shared/backoff.js';
import type { CliContext } from '../cliContext.js';
import { EXIT } from '../cliErrors.js';
import { endpointUrl } from '../fetchSum.js';
import { followSumStream, type SumUpdate } from '../followSumStream.js';
import { toJson } from '../toJson.js';
import { helpFooter, intOption, JSON_FLAG, urlOption } from './options.js';

/** Longest pause before resuming a dropped stream, ms. */
const MAX_RESUME_DELAY_MS = 5_000;

/** One update as a text line: time (UTC), sum, applied events. */
export function formatSumUpdate(update: SumUpdate, at: Date): string {
  return `${at.toISOString().slice(11, 23)}  sum ${update.sum}  applied_events ${update.appliedEvents}`;
}

/** `sumstream watch [--count N]`: follows GET /sum/stream and prints each update. */
export function watchCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('watch')
    .summary('follow the running sum as it changes (GET /sum/stream, Server-Sent Events)')
    .description(
      "Follows the sum-service's GET /sum/stream and prints one line per update: the time (UTC), the exact sum and " +
        'the number of events applied. Runs until --count updates were printed, or Ctrl-C. A dropped connection is ' +
        'resumed (Last-Event-ID) and said on stderr. With --json, each update is one JSON document on its own line ' +
        '(JSON Lines: a stream has no single end to wait for).',
    )
    .option('--count <n>', 'stop after this many updates', intOption('--count', 1, Number.MAX_SAFE_INTEGER))
    .option(
      '--url <url>',
      `sum-service base URL (default: $SUMSTREAM_SUM_URL, else http://127.0.0.1:$SUM_PORT, i.e. http://127.0.0.1:${PORT_KNOBS.sumPort.default})`,
      urlOption('--url'),
    )
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      helpFooter(
        ['npx sumstream watch', 'npx sumstream watch --count 2', 'npx sumstream watch --json | jq .sum'],
        'Exit codes: 0 after --count updates or Ctrl-C, 1 the stream could not be opened or sent something else, 2 usage error.',
      ),
    )
    .action((options: { count?: number; url?: string; json?: boolean }) =>
      run(async () => {
        const baseUrl = options.url ?? ctx.config().sumUrl;
        const stop = new AbortController();
        ctx.onInterrupt(() => stop.abort());
        let printed = 0;
        let lastEventId: string | undefined;
        let opened = false;
        let failures = 0;
        for (;;) {
          const outcome = await followSumStream({
            baseUrl,
            lastEventId,
            signal: stop.signal,
            onOpen: () => {
              if (opened) ctx.io.err(`watch: resumed ${endpointUrl(baseUrl, 'sum/stream').href}`);
              opened = true;
              failures = 0;
            },
            onUpdate: (update) => {
              ctx.io.out(
                options.json
                  ? toJson({ sum: update.sum, applied_events: update.appliedEvents })
                  : formatSumUpdate(update, new Date()),
              );
              printed++;
              return options.count === undefined || printed < options.count;
            },
          }).catch((error: unknown) => {
            // Before the first update the failure is the answer; later, the stream is resumed.
            if (!opened) throw error;
            ctx.io.err(`watch: ${(error as Error).message}`);
            return { reason: 'closed' as const, lastEventId, retryMs: undefined };
          });
          if (outcome.reason !== 'closed') return EXIT.ok;
          lastEventId = outcome.lastEventId;
          failures++;
          const delay = Math.min(MAX_RESUME_DELAY_MS, (outcome.retryMs ?? 1_000) * 2 ** Math.min(failures - 1, 3));
          ctx.io.err(`watch: the stream closed; resuming in ${(delay / 1000).toFixed(1)} s (Ctrl-C to stop)`);
          if (!(await sleep(delay, stop.signal))) return EXIT.ok;
        }
      }),
    );
}
