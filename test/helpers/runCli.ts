import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI exactly as `npx sumstream` runs it: the bin script npm links. */
const BIN = path.join(REPO_ROOT, 'bin', 'sumstream');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `sumstream <args>` from the repository root with exactly `env`. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(BIN, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `sumstream <args>` to completion: its exit code and output. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return collectCli(spawnCli(args, env));
}

/** Waits for a started CLI to exit and returns what it wrote. */
export function collectCli(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
