import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Env } from '../shared/config/envReader.js';
import { isPortOpen, sleep } from './exec.js';
import { ALERTS_FILE, type PrometheusTargets, renderPrometheusConfig } from './prometheusConfig.js';
import { stopChild } from './serviceProcess.js';

export interface PrometheusInstanceOptions {
  /** Folder for the rendered config and the TSDB; created if missing. */
  dataDir: string;
  /** Port Prometheus listens on (127.0.0.1). */
  port: number;
  /** Where each job is scraped (one target, or one per replica); `prometheus` is set from `port`. */
  targets: Record<Exclude<keyof PrometheusTargets, 'prometheus'>, string | readonly string[]>;
  /** Scrape and evaluation interval. Default the committed config's (5s). */
  scrapeInterval?: string;
  /** The Prometheus binary. Default `prometheus` on PATH (Debian package `prometheus`). */
  binary?: string;
  /** Environment the child inherits: pass the caller's. */
  env: Env;
  log?: (line: string) => void;
}

export interface ChildInstance {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a Prometheus with the committed config and alert rules, rendered for the given ports. */
export async function startPrometheus(options: PrometheusInstanceOptions): Promise<ChildInstance> {
  await mkdir(path.join(options.dataDir, 'tsdb'), { recursive: true });
  const configFile = path.join(options.dataDir, 'prometheus.yml');
  const config = await renderPrometheusConfig(
    { ...options.targets, prometheus: `127.0.0.1:${options.port}` },
    { scrapeInterval: options.scrapeInterval },
  );
  await writeFile(configFile, config);
  await copyFile(ALERTS_FILE, path.join(options.dataDir, 'alerts.yml'));
  const child = spawnLogged(
    options.binary ?? 'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(options.dataDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      '--storage.tsdb.retention.time=2d',
      '--web.enable-lifecycle',
    ],
    options.env,
    (line) => options.log?.(`prometheus: ${line}`),
  );
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(child, 'Prometheus', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true);
  return { url, process: child, stop: async () => void (await stopChild(child)) };
}

export interface PostgresExporterOptions {
  databaseUrl: string;
  port: number;
  /** Default `prometheus-postgres-exporter` on PATH (Debian package of that name). */
  binary?: string;
  /** Environment the child inherits: pass the caller's. */
  env: Env;
  log?: (line: string) => void;
}

/** Starts prometheus-postgres-exporter against `databaseUrl`. */
export async function startPostgresExporter(options: PostgresExporterOptions): Promise<ChildInstance> {
  const dsn = new URL(options.databaseUrl);
  if (!dsn.searchParams.has('sslmode')) dsn.searchParams.set('sslmode', 'disable');
  const child = spawnLogged(
    options.binary ?? 'prometheus-postgres-exporter',
    [`--web.listen-address=127.0.0.1:${options.port}`],
    { ...options.env, DATA_SOURCE_NAME: dsn.toString() },
    (line) => options.log?.(`postgres-exporter: ${line}`),
  );
  await waitFor(child, 'postgres-exporter', () => isPortOpen(options.port));
  return { url: `http://127.0.0.1:${options.port}`, process: child, stop: async () => void (await stopChild(child)) };
}

function spawnLogged(command: string, args: string[], env: Env, log: (line: string) => void): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.on('error', (error) =>
    log(
      `cannot run ${command}: ${error.message} (install it: apt-get install ${command === 'prometheus' ? 'prometheus' : command})`,
    ),
  );
  for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', log);
  return child;
}

async function waitFor(
  child: ChildProcess,
  name: string,
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) while starting; see its log lines above.`,
      );
    if (await ready()) return;
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not become ready within ${timeoutMs / 1000} s.`);
}
