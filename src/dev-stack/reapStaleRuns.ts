import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive, sleep } from './exec.js';

/**
 * Kills the PostgreSQL and RabbitMQ servers of earlier runs under `root` (folders run-*, each with
 * an owner.pid) whose owning process is gone (crash, SIGKILL), and deletes their data.
 */
export async function reapStaleRuns(root: string): Promise<void> {
  const entries = existsSync(root) ? await readdir(root) : [];
  for (const entry of entries.filter((e) => e.startsWith('run-'))) {
    const dir = path.join(root, entry);
    const owner = Number(await readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
    if (owner > 0 && isProcessAlive(owner)) continue;
    const pids: number[] = [];
    for (const [file, exe] of [
      ['postgres/data/postmaster.pid', 'postgres'],
      ['rabbitmq/rabbitmq.pid', 'beam'],
    ] as const) {
      const pid = await firstLinePid(path.join(dir, file));
      // Only kill it if the pid still belongs to such a server (pids get reused).
      const cmd = pid === undefined ? '' : await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (pid !== undefined && cmd.includes(exe) && cmd.includes(dir)) pids.push(pid);
    }
    for (const pid of pids) process.kill(pid, 'SIGKILL'); // PostgreSQL's children exit with the postmaster
    for (let i = 0; i < 50 && pids.some(isProcessAlive); i++) await sleep(100);
    await rm(dir, { recursive: true, force: true });
  }
}

async function firstLinePid(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]);
  return pid > 0 ? pid : undefined;
}
