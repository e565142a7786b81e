/**
 * The one way the project's tools read their command line: a commander program that never exits
 * the process and never writes anything itself. Parsing either returns the options (and the
 * positional arguments), returns 'help' for -h/--help, or throws the tool's own error type with
 * a message for the user; the tool decides what to print and its exit code (2 for bad options).
 *
 * Value parsers (see commandLineValues.ts) throw CommandLineError from inside commander; a tool's
 * own parsers may throw its own error type directly. Both surface as that type, message unchanged.
 */
import { Command, CommanderError, type OptionValues } from 'commander';

/** A bad command line; the message says what to change. Tools see it as their own error type. */
export class CommandLineError extends Error {
  override name = 'CommandLineError';
}

/** Widest help line, whatever the terminal: the same text on a terminal, in a pipe and in tests. */
const HELP_WIDTH = 110;

/**
 * A commander program for one tool: `name` is how the user runs it (shown after "Usage:").
 * Add options and `.argument()`s, then hand it to parseCommandLine.
 */
export function commandLine(name: string, description?: string): Command {
  const program = new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined })
    .configureHelp({ helpWidth: HELP_WIDTH })
    .helpOption('-h, --help', 'this text')
    // An action makes commander check the positional arguments (missing, too many) as it parses.
    .action(() => undefined);
  if (description !== undefined) program.description(description);
  return program;
}

export interface ParsedCommandLine<O extends OptionValues> {
  options: O;
  /** The positional arguments, each through its `.argument()` parser (its default when absent). */
  args: unknown[];
}

/**
 * Parses `argv` (without node and the script) with `program` (from commandLine). Returns 'help'
 * for -h/--help; throws `ErrorType` for anything wrong with the command line.
 */
export function parseCommandLine<O extends OptionValues>(
  program: Command,
  argv: readonly string[],
  ErrorType: new (message: string) => Error,
): ParsedCommandLine<O> | 'help' {
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof ErrorType) throw error;
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') return 'help';
      throw new ErrorType(sentence(error.message));
    }
    if (error instanceof CommandLineError) throw new ErrorType(error.message);
    throw error;
  }
  return { options: program.opts<O>(), args: program.processedArgs };
}

/** The tool's help text, as -h prints it; `after` follows the options. */
export function helpText(program: Command, after?: string): string {
  const text = program.helpInformation().trimEnd();
  return after === undefined ? text : `${text}\n\n${after}`;
}

/** "error: unknown option '--x'" -> "Unknown option '--x'": the tool prefixes its own name. */
function sentence(message: string): string {
  const bare = message.replace(/^error: /, '');
  return bare.charAt(0).toUpperCase() + bare.slice(1);
}
