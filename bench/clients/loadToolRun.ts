import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SumCheckReport, TargetReport } from '../../src/load/renderReport.js';
import { pinned } from '../cpuPinning.js';
import { REPO_ROOT, runOk } from '../../src/dev-stack/index.js';

/**
 * One run of the load tool (`npm run load`) as its own process; resolves with its report of the one
 * target, and the sum check's when `--check-sum` was given.
 */
export async function loadToolRun(
  args: string[],
  cpuList?: string,
): Promise<TargetReport & { sumCheck?: SumCheckReport | undefined }> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'sumstream-bench-load-'));
  try {
    const [command, fullArgs] = pinned(cpuList, process.execPath, [
      '--import',
      'tsx',
      'src/load/main.ts',
      ...args,
      '--quiet',
      '--no-png',
      '--out',
      out,
    ]);
    await runOk(command, fullArgs, { cwd: REPO_ROOT, timeoutMs: 600_000 });
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as {
      targets: TargetReport[];
      sumCheck?: SumCheckReport;
    };
    const target = report.targets[0];
    if (!target) throw new Error(`the load tool wrote no target report in ${out}`);
    return { ...target, sumCheck: report.sumCheck };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
