import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../src/dev-stack/index.js';
import type { LoadReport } from '../../src/load/renderReport.js';
import { type Stack, startStack } from '../helpers/startStack.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the load tool as its own process, as `npm run load -- ...` does. */
function runLoadTool(args: string[], timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/load/main.ts', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('load tool (npm run load) against a real stack', () => {
  let stack: Stack;
  let outRoot: string;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
    outRoot = await mkdtemp(path.join(tmpdir(), 'sumstream-load-'));
  });

  afterAll(async () => {
    await stack?.stop();
    if (outRoot) await rm(outRoot, { recursive: true, force: true });
  });

  it(
    'runs 3 s open loop against gRPC Add and GET /sum, writes the reports and passes the sum check',
    { timeout: 120_000 },
    async () => {
      const out = path.join(outRoot, 'open');
      const before = await stack.sum();
      const run = await runLoadTool([
        '--target',
        'both',
        '--mode',
        'open',
        '--rate',
        '100',
        '--connections',
        '20',
        '--duration',
        '3s',
        '--grpc',
        `127.0.0.1:${stack.ports.grpc}`,
        '--rest',
        `http://127.0.0.1:${stack.ports.sum}`,
        '--out',
        out,
        '--check-sum',
        '--no-png',
      ]);
      expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);

      for (const file of ['report.json', 'report.md', 'report.html', 'plot-add.svg', 'plot-sum.svg'])
        expect(existsSync(path.join(out, file)), file).toBe(true);
      const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as LoadReport;
      expect(report.targets.map((t) => t.name)).toEqual(['add', 'sum']);
      for (const target of report.targets) {
        expect(target.requests, target.name).toBeGreaterThan(0);
        expect(target.ok, `${target.name}: ${JSON.stringify(target.errorsByKind)}`).toBeGreaterThan(0);
        expect(target.latencyMs.p99).toBeGreaterThan(0);
        expect(target.latencyMs.max).toBeGreaterThanOrEqual(target.latencyMs.p99);
        expect(target.series.length).toBeGreaterThan(0);
      }
      // 3 s × 100/s arrivals per target: an open loop sends them all (answered or not).
      expect(report.targets[0]!.requests + report.targets[0]!.dropped).toBe(300);

      const check = report.sumCheck!;
      expect(check.status, check.message).toBe('PASS');
      expect(BigInt(check.before)).toBe(before);
      expect(BigInt(check.after)).toBe(await stack.sum());
      expect(check.acknowledgedAdds).toBe(report.targets[0]!.ok);
      if (check.uncertainAdds === 0) expect(BigInt(check.after)).toBe(before + BigInt(check.acknowledgedTotal));
      expect(run.stderr).toMatch(/sum check PASS/);
      expect(run.stderr).toMatch(/exact only when nothing else writes/);

      const markdown = await readFile(path.join(out, 'report.md'), 'utf8');
      const rows = markdown.split('\n').filter((line) => /^\| (gRPC Add|REST GET \/sum) \|/.test(line));
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        const cells = row
          .split('|')
          .slice(2, -1)
          .map((cell) => cell.trim());
        expect(cells).toHaveLength(14);
        for (const cell of cells) expect(cell).toMatch(/^[\d,]+(\.\d+)?%?$/);
      }
      expect(run.stdout).toContain('| target | requests |');
      const html = await readFile(path.join(out, 'report.html'), 'utf8');
      expect(html).toContain('<svg');
      expect(html).toContain('Sum check: PASS');
    },
  );

  it('stops a closed loop after --max-requests and still checks the sum', { timeout: 120_000 }, async () => {
    const out = path.join(outRoot, 'closed');
    const run = await runLoadTool([
      '--target',
      'add',
      '--mode',
      'closed',
      '--connections',
      '4',
      '--workers',
      '8',
      '--duration',
      '20s',
      '--max-requests',
      '200',
      '--grpc',
      `127.0.0.1:${stack.ports.grpc}`,
      '--rest',
      `http://127.0.0.1:${stack.ports.sum}`,
      '--out',
      out,
      '--check-sum',
      '--no-png',
      '--quiet',
    ]);
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as LoadReport;
    expect(report.settings.mode).toBe('closed');
    expect(report.targets).toHaveLength(1);
    expect(report.targets[0]!.requests).toBe(200);
    expect(report.sumCheck?.status, report.sumCheck?.message).toBe('PASS');
  });

  it('prints report.json alone on stdout with --json, the text on stderr', { timeout: 120_000 }, async () => {
    const out = path.join(outRoot, 'json');
    const run = await runLoadTool([
      '--target',
      'sum',
      '--rate',
      '50',
      '--connections',
      '4',
      '--duration',
      '1s',
      '--rest',
      `http://127.0.0.1:${stack.ports.sum}`,
      '--out',
      out,
      '--no-png',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(await readFile(path.join(out, 'report.json'), 'utf8'));
    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report.tool).toBe('sumstream-load');
    expect(report.targets.map((t) => t.name)).toEqual(['sum']);
    expect(report.targets[0]!.ok).toBeGreaterThan(0);
    expect(run.stderr).toContain('| target | requests |');
    expect(run.stderr).toMatch(/sumstream-load: wrote report\.json/);
  });

  it('exits 2 with the message and the usage for bad options, and 0 with the usage for --help', async () => {
    const bad = await runLoadTool(['--rate', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(
      /^sumstream-load: --rate "fast" is not a whole number\n\nUsage: npm run load -- \[options\]/,
    );
    const unknown = await runLoadTool(['--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^sumstream-load: Unknown option '--bogus'/);
    const help = await runLoadTool(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run load -- \[options\]/);
    expect(help.stdout).toContain('--json');
  });

  it('refuses a target that is not on this machine, before sending anything', async () => {
    const run = await runLoadTool(['--grpc', '192.0.2.10:50051', '--duration', '1s']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refusing to send load to "192\.0\.2\.10".*127\.0\.0\.0\/8, ::1 or localhost/);
  });
});
