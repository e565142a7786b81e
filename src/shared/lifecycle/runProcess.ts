import type { Logger } from '../log/createLogger.js';

export interface Closable {
  name: string;
  close(): Promise<void> | void;
}

/**
 * Runs a process's start function; on SIGTERM/SIGINT closes what it returned in reverse
 * order, each bounded by `timeoutMs`, then exits. A start failure is logged with its
 * message (which says how to fix it) and exits 1.
 */
export function runProcess(logger: Logger, start: () => Promise<Closable[]>, timeoutMs = 10_000): void {
  let parts: Closable[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const part of [...parts].reverse()) {
      const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      const outcome = await Promise.race([
        Promise.resolve(part.close()).then(
          () => 'closed',
          (error: unknown) => error,
        ),
        timer,
      ]);
      if (outcome !== 'closed')
        logger.warn({ part: part.name, outcome: String(outcome) }, 'part did not close cleanly');
    }
    logger.info('stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  start().then(
    (started) => {
      parts = started;
    },
    (error: unknown) => {
      logger.fatal({ err: error }, (error as Error).message);
      // Also plainly, for the person reading the terminal.
      process.stderr.write(`\nCannot start: ${(error as Error).message}\n`);
      logger.flush?.();
      setTimeout(() => process.exit(1), 50);
    },
  );
}

/** Loads a process's configuration; an invalid one is reported plainly (no stack trace) and exits 1. */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    process.stderr.write(`Cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
