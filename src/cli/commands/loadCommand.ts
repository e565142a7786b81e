import path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../cliContext.js';
import { runChild } from '../runChild.js';

/**
 * `sumstream load ...`: the load tool (src/load/main.ts), run as its own process with the arguments
 * passed through as they are; its --json prints the run's report.json on stdout and sends its text
 * to stderr. Its exit code is ours.
 */
export function loadCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('load')
    .summary('send bounded load to the stack and report (the load tool: `npm run load`)')
    .usage('[load tool options] [--json]')
    .description('Runs the load tool (src/load/main.ts, as `npm run load -- ...` does) with these arguments.')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action((args: string[]) =>
      run(async () => {
        const help = args.includes('-h') || args.includes('--help');
        if (help) ctx.io.out(`sumstream load: ${LOAD_HELP}\n`);
        return runChild({
          command: process.execPath,
          args: [...ctx.nodeArgs, path.join(ctx.repoRoot, 'src', 'load', 'main.ts'), ...(help ? ['--help'] : args)],
          cwd: process.cwd(),
          env: ctx.env,
          onInterrupt: ctx.onInterrupt,
        });
      }),
    );
}

const LOAD_HELP = `the load tool, with its own options (below) passed through as they are.

Usage: npx sumstream load [load tool options] [--json]

  --json   print the run's report.json on stdout (one JSON document); the tool's text goes to stderr

Examples:
  npx sumstream load --target both --mode open --rate 300 --connections 100 --duration 30s --check-sum
  npx sumstream load --target add --mode closed --workers 50 --duration 10s --json | jq .targets[0].latencyMs
  npx sumstream load --help

Exit codes: the tool's: 0 done (and the sum check passed), 1 the sum check failed, the stack could not be
reached or no request succeeded, 2 bad options.

The load tool's own help (it also runs as \`npm run load -- ...\`):`;
