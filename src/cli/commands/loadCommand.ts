import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../cliContext.js';
import { CliFailure } from '../cliErrors.js';
import { defaultOutDir } from '../../load/loadOptions.js';
import { runChild } from '../runChild.js';

/**
 * `sumstream load ...`: the load tool (src/load/main.ts) with the arguments passed through as they are.
 * `--json` (ours) prints the run's report.json on stdout and sends the tool's text to stderr.
 */
export function loadCommand(program: Command, ctx: CliContext, run: (action: () => Promise<number>) => Promise<void>): void {
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
        const tool = path.join(ctx.repoRoot, 'src', 'load', 'main.ts');
        const runTool = (toolArgs: string[], stdout: 'inherit' | 'stderr' = 'inherit') =>
          runChild({ command: process.execPath, args: [...ctx.nodeArgs, tool, ...toolArgs], cwd: process.cwd(), env: ctx.env, stdout, onInterrupt: ctx.onInterrupt });
        if (args.includes('-h') || args.includes('--help')) {
          ctx.io.out(`sumstream load: ${LOAD_HELP}\n`);
          return runTool(['--help']);
        }
        if (!args.includes('--json')) return runTool(args);
        const toolArgs = args.filter((arg) => arg !== '--json');
        let out = outDirOf(toolArgs);
        if (out === undefined) {
          out = defaultOutDir();
          toolArgs.push('--out', out);
        }
        const code = await runTool(toolArgs, 'stderr');
        const report = await readFile(path.resolve(out, 'report.json'), 'utf8').catch(() => undefined);
        if (report === undefined) {
          if (code !== 0) return code;
          throw new CliFailure(`The load tool wrote no ${path.join(out, 'report.json')}; see its output above.`);
        }
        ctx.io.out(report.trimEnd());
        return code;
      }),
    );
}

/** The value of --out (`--out DIR` or `--out=DIR`), if given. */
export function outDirOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--out') return args[i + 1];
    if (arg.startsWith('--out=')) return arg.slice('--out='.length);
  }
  return undefined;
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
