/**
 * The positional arguments of the baseline servers (bareAddServer.ts, bareSumServer.ts), read with
 * the shared commander helper: -h prints the usage, bad arguments print the message and exit 2.
 */
import type { Command } from 'commander';
import { parseWholeNumber } from '../../src/shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../../src/shared/cli/parseCommandLine.js';

/** Commander parser of a port to listen on; 0 lets the system pick a free one. */
export function portArgument(text: string): number {
  return parseWholeNumber(text, 'PORT', { min: 0, max: 65535 });
}

/** Parses this process's arguments with the ones `declare` adds; exits on -h and on bad arguments. */
export function readBaselineArguments(
  script: string,
  description: string,
  declare: (program: Command) => Command,
): unknown[] {
  const program = declare(commandLine(`node --import tsx ${script}`, description));
  try {
    const parsed = parseCommandLine(program, process.argv.slice(2), CommandLineError);
    if (parsed !== 'help') return parsed.args;
    process.stdout.write(`${helpText(program)}\n`);
    process.exit(0);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    process.stderr.write(`${script}: ${error.message}\n\n${helpText(program)}\n`);
    process.exit(2);
  }
}
