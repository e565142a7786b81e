import { Command, CommanderError } from 'commander';
import type { CliContext } from './cliContext.js';
import { addCommand } from './commands/addCommand.js';
import { cdcCommand } from './commands/cdcCommand.js';
import { clusterCommand } from './commands/clusterCommand.js';
import { doctorCommand } from './commands/doctorCommand.js';
import { loadCommand } from './commands/loadCommand.js';
import { migrateCommand } from './commands/migrateCommand.js';
import { sumCommand } from './commands/sumCommand.js';
import { upCommand } from './commands/upCommand.js';
import { watchCommand } from './commands/watchCommand.js';

/**
 * The `sumstream` command tree. Commander never exits the process: usage errors and help surface as
 * CommanderError (see exitCodeOf), and each action stores its exit code through `setExitCode`.
 */
export function createProgram(ctx: CliContext, setExitCode: (code: number) => void): Command {
  const program = new Command('sumstream')
    .description(
      'SumStream from the command line: run the stack, add, read and watch the sum, check the setup, load-test, resync CDC.',
    )
    .usage('<command> [options]')
    .exitOverride()
    .configureOutput({ writeOut: (text) => ctx.io.out(text.trimEnd()), writeErr: (text) => ctx.io.err(text.trimEnd()) })
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Examples:
  npx sumstream up                           # the whole stack in the foreground (npm start)
  npx sumstream doctor                       # is everything in place? what to fix
  npx sumstream add 2 3                      # prints the sum, the operation id and a read token
  npx sumstream sum --after <read_token>     # the sum, once that addition is applied
  npx sumstream watch --count 5              # follow the sum as it changes
  npx sumstream load --duration 10s --check-sum
  npx sumstream cdc resync                   # after a lost replication slot: republish, stream again

Every command takes --help; all but up, cluster and cdc resync take --json (one JSON document on stdout; watch: one per update).
Configuration: the services' variables (DATABASE_URL, AMQP_URL, GRPC_PORT, SUM_PORT, ...) and
SUMSTREAM_GRPC_TARGET, SUMSTREAM_SUM_URL, SUMSTREAM_RABBIT_MANAGEMENT_URL, SUMSTREAM_AUTH_TOKEN; flags win.
Exit codes: 0 ok, 1 failure (the message says how to fix it), 2 usage error.`,
    );
  const run = async (action: () => Promise<number>): Promise<void> => {
    setExitCode(await action());
  };
  for (const register of [
    upCommand,
    clusterCommand,
    migrateCommand,
    addCommand,
    sumCommand,
    watchCommand,
    doctorCommand,
    loadCommand,
    cdcCommand,
  ])
    register(program, ctx, run);
  return program;
}

/** The exit code of a CommanderError: 0 for --help / --version, 2 for every usage error. */
export function exitCodeOf(error: CommanderError): number {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
}
