/**
 * Proportional set size of a process and all its descendants, in bytes: PostgreSQL's backends carry
 * the data folder in no command line of theirs, so they are found as the postmaster's children.
 */
import { readdir, readFile } from 'node:fs/promises';

/** The first line of a pid file (postmaster.pid, rabbitmq.pid), or undefined. */
export async function pidFromFile(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

export async function treePssBytes(rootPid: number): Promise<number> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid > 0) parents.set(Number(entry), ppid);
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, depth = 0; p !== undefined && depth < 64; p = parents.get(p), depth++)
      if (p === rootPid) return true;
    return false;
  };
  let kib = 0;
  for (const pid of [rootPid, ...[...parents.keys()].filter((p) => p !== rootPid && inTree(p))]) {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    kib += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
  }
  return kib * 1024;
}
