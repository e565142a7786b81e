import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CliFailure } from './cliErrors.js';

export interface RunChildOptions {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the child's stdout goes: ours (default) or our stderr (when stdout is kept for JSON). */
  stdout?: 'inherit' | 'stderr';
  /** Registers the handler that passes Ctrl-C / SIGTERM on to the child. */
  onInterrupt(handler: (signal: NodeJS.Signals) => void): void;
}

/**
 * Runs a command in the foreground with our terminal and resolves with its exit code (128 + n when
 * a signal ended it). Ctrl-C and SIGTERM are passed on, so the child shuts down its own way and
 * the CLI exits when it has.
 */
export function runChild(options: RunChildOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['inherit', options.stdout === 'stderr' ? process.stderr : 'inherit', 'inherit'],
    });
    // A terminal's Ctrl-C reaches the child too (same process group); the children stop once however often asked.
    options.onInterrupt((signal) => child.kill(signal));
    child.once('error', (error) =>
      reject(new CliFailure(`Cannot run ${options.command}: ${error.message}`, { cause: error })),
    );
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 1)));
  });
}
