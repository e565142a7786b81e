import type { CliConfig } from './cliConfig.js';

/** Where a command writes: results to stdout, progress and errors to stderr. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** What the composition root hands every command. */
export interface CliContext {
  /** The configuration from the environment, resolved on first use (a bad variable is a usage error then). */
  config(): CliConfig;
  io: CliIo;
  /** Environment for child processes (`up`, `load`). */
  env: NodeJS.ProcessEnv;
  /** The repository root (where `scripts/` and `src/` are). */
  repoRoot: string;
  /** Node flags this process runs with (the tsx loader), for child Node processes. */
  nodeArgs: string[];
  /**
   * Takes over Ctrl-C and SIGTERM for the running command (the handler gets the signal's name).
   * Without one, the CLI exits at once with 130 / 143.
   */
  onInterrupt(this: void, handler: (signal: NodeJS.Signals) => void): void;
}
