import path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../cliContext.js';
import { runChild } from '../runChild.js';
import { helpFooter } from './options.js';

/** `sumstream up`: exactly what `npm start` runs (scripts/start.sh: system dependencies, then the dev stack). */
export function upCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('up')
    .summary('run the whole stack in the foreground (what `npm start` runs)')
    .description(
      'Runs what `npm start` runs (scripts/start.sh → src/dev-stack/main.ts): installs missing system packages, starts ' +
        'project-owned PostgreSQL and RabbitMQ under .sumstream/ (unless DATABASE_URL / AMQP_URL point elsewhere), then ' +
        'add-service, cdc-relay and sum-service with prefixed logs, restarting any that crashes. Ctrl-C stops everything. ' +
        "Every knob of docs/configuration.md applies. Its output is the processes' logs, so it has no --json.",
    )
    .addHelpText(
      'after',
      helpFooter(
        [
          'npx sumstream up',
          'SUMSTREAM_CDC=debezium npx sumstream up',
          'DATABASE_URL=postgres://me:secret@db:5432/sumstream npx sumstream up',
        ],
        'Exit codes: 0 after Ctrl-C, 1 the stack could not start (the message says why).',
      ),
    )
    .action(() =>
      run(() =>
        runChild({
          command: 'bash',
          args: [path.join(ctx.repoRoot, 'scripts', 'start.sh')],
          cwd: ctx.repoRoot,
          env: ctx.env,
          onInterrupt: ctx.onInterrupt,
        }),
      ),
    );
}
