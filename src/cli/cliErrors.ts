/** Exit codes of every `sumstream` command. */
export const EXIT = {
  /** Done; for `doctor`: nothing failed. */
  ok: 0,
  /** Something failed: a server refused, could not be reached, or a check failed. */
  failure: 1,
  /** The command line (or the environment) is wrong: the message says what to change. */
  usage: 2,
} as const;

/** A bad argument, flag or environment value: exit 2. The message says what to write instead. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure outside the command line (unreachable server, refused request): exit 1. The message says how to fix it. */
export class CliFailure extends Error {
  override name = 'CliFailure';
}
