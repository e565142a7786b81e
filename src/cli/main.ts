/**
 * The `sumstream` command line (composition root): `npx sumstream --help`.
 *
 * Reads the environment (through src/shared/config, lazily: a command that needs no server does not
 * fail on a bad DATABASE_URL) and the signals, builds the command tree and maps every outcome to an
 * exit code: 0 ok, 1 failure (with the fix), 2 usage error (with what to write instead).
 */
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { ConfigError } from '../shared/config/ConfigError.js';
import { cliConfig, type CliConfig } from './cliConfig.js';
import type { CliContext } from './cliContext.js';
import { CliFailure, EXIT, UsageError } from './cliErrors.js';
import { createProgram, exitCodeOf } from './createProgram.js';
import { toJson } from './toJson.js';

const io: CliContext['io'] = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

// A reader that stops early (`| head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

let config: CliConfig | undefined;
let interruptHandler: ((signal: NodeJS.Signals) => void) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interruptHandler) interruptHandler(signal);
    else process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

const ctx: CliContext = {
  config: () => (config ??= cliConfig(process.env)),
  io,
  env: process.env,
  repoRoot: fileURLToPath(new URL('../../', import.meta.url)),
  nodeArgs: process.execArgv,
  onInterrupt: (handler) => {
    interruptHandler = handler;
  },
};

let exitCode: number = EXIT.ok;
const program = createProgram(ctx, (code) => {
  exitCode = code;
});
let json = false;
program.hook('preAction', (_program, action) => {
  json = action.opts()['json'] === true;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    exitCode = exitCodeOf(error);
  } else {
    const usage = error instanceof UsageError || error instanceof ConfigError;
    exitCode = usage ? EXIT.usage : EXIT.failure;
    const message = (error as Error).message || String(error);
    io.err(`sumstream: ${message}`);
    if (!(usage || error instanceof CliFailure) && error instanceof Error && error.stack) io.err(error.stack);
    if (json) io.out(toJson({ ok: false, exitCode, error: message }));
  }
}
process.exitCode = exitCode;
// Connections some libraries keep (gRPC channels, sockets) must not hold the process open.
setTimeout(() => process.exit(exitCode), 200).unref();
