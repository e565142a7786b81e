import { readdir, readFile } from 'node:fs/promises';
import { sleep } from '../src/shared/backoff.js';

/** Resident and peak resident memory (VmRSS, VmHWM) of one process, in MiB; undefined once it is gone. */
export async function processMemory(pid: number): Promise<{ rssMiB: number; peakMiB: number } | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (!status) return undefined;
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/**
 * Proportional set size (MiB) of every process whose command line contains `marker`: shared
 * pages (PostgreSQL's shared buffers, say) are split between the processes that map them, so the
 * total is what the group really occupies.
 */
export async function groupPssMiB(marker: string): Promise<number> {
  let kib = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(marker)) continue;
    const rollup = await readFile(`/proc/${entry}/smaps_rollup`, 'utf8').catch(() => '');
    kib += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
  }
  return kib / 1024;
}

/** Samples `read` every `everyMs` until stopped and keeps the highest value. */
export function peakSampler(read: () => Promise<number>, everyMs = 500): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await read().catch(() => 0));
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
