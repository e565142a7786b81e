import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT, stopChild } from '../src/dev-stack/index.js';

export interface Script {
  child: ChildProcess;
  pid: number;
  /** Every output line so far (stdout and stderr). */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Runs a TypeScript file of the repository as its own process (`node --import tsx FILE ...args`)
 * and resolves once one of its output lines matches `ready`.
 */
export async function spawnScript(
  file: string,
  args: string[],
  ready: RegExp,
  env?: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<Script> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${file} did not print ${ready} within ${timeoutMs} ms:\n${lines.slice(-10).join('\n')}`)),
      timeoutMs,
    );
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (ready.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code}:\n${lines.slice(-10).join('\n')}`));
    });
  });
  return { child, pid: child.pid!, lines, stop: async () => void (await stopChild(child, 5_000)) };
}
