import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

const hasTaskset = spawnSync('bash', ['-c', 'command -v taskset']).status === 0;

/**
 * Which CPUs the server under test and the load client get. On a machine with two or more CPUs the
 * server gets CPU 0 and the client the rest, so that a client busy generating load does not steal
 * the server's CPU (and every server compared gets the same single CPU). Undefined: no pinning.
 */
export function cpuPlan(): { server: string; client: string } | undefined {
  const count = cpus().length;
  if (!hasTaskset || count < 2) return undefined;
  return { server: '0', client: count === 2 ? '1' : `1-${count - 1}` };
}

/** The command line, run under `taskset -c CPUS` when CPUS is given. */
export function pinned(cpuList: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpuList && hasTaskset ? ['taskset', ['-c', cpuList, command, ...args]] : [command, args];
}

/** Moves every thread of a running process to CPUS (`taskset -a -cp`). */
export function pinProcess(pid: number, cpuList: string | undefined): void {
  if (!cpuList || !hasTaskset) return;
  const result = spawnSync('taskset', ['-a', '-cp', cpuList, String(pid)]);
  if (result.status !== 0) throw new Error(`taskset -a -cp ${cpuList} ${pid} failed: ${result.stderr.toString()}`);
}
