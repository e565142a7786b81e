import { PORT_KNOBS } from '../../shared/config/portKnobs.js';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../cliErrors.js';
import { parseInt64, parseIntInRange } from '../parseInt64.js';

/** Commander parser of a whole-number flag in [min, max]. */
export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value) => asCommanderError(() => parseIntInRange(value, name, min, max));
}

/** Commander parser of an int64 argument, kept exact as a bigint. */
export function int64Argument(name: string): (value: string) => bigint {
  return (value) => asCommanderError(() => parseInt64(value, name));
}

/** Commander reports InvalidArgumentError as a usage error (exit 2) with the command's help hint. */
function asCommanderError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** `--json` as every command spells it. */
export const JSON_FLAG = ['--json', 'print one JSON document on stdout instead of text'] as const;

/** Text after a command's options: examples and exit codes. */
export function helpFooter(
  examples: string[],
  exitCodes = 'Exit codes: 0 done, 1 failed (the message says how to fix it), 2 usage error.',
): string {
  return `\nExamples:\n${examples.map((line) => `  ${line}`).join('\n')}\n\n${exitCodes}\n`;
}

/** Commander parser of an http(s) base URL flag. */
export function urlOption(name: string): (value: string) => string {
  return (value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidArgumentError(
        `${name} must be a URL such as http://127.0.0.1:${PORT_KNOBS.sumPort.default}; got ${JSON.stringify(value)}.`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new InvalidArgumentError(`${name} must be an http:// or https:// URL; got ${JSON.stringify(value)}.`);
    return value;
  };
}
