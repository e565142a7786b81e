import { type ChildProcess, spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { isPortOpen, sleep } from '../exec.js';
import { REPO_ROOT } from '../serviceProcess.js';
import { type ClusterPlan, HOST_PORTS, hostsOf, LB_PORTS, PG_LB_PORTS } from './clusterPlan.js';

/** The committed load balancer configuration; its addresses come from the environment. */
export const HAPROXY_CONFIG = path.join(REPO_ROOT, 'deploy', 'haproxy', 'haproxy.cfg');
/** Its PostgreSQL side under Patroni, loaded after it when the plan has `pgHa`. */
export const HAPROXY_POSTGRES_CONFIG = path.join(REPO_ROOT, 'deploy', 'haproxy', 'postgres.cfg');

/** The `-f` arguments for this plan. */
export function haproxyConfigFiles(plan: ClusterPlan): string[] {
  return plan.pgHa ? [HAPROXY_CONFIG, HAPROXY_POSTGRES_CONFIG] : [HAPROXY_CONFIG];
}

/** The variables deploy/haproxy/haproxy.cfg reads, for this plan. */
export function haproxyEnv(plan: ClusterPlan): Record<string, string> {
  const env: Record<string, string> = {
    SUMSTREAM_LB_HOST: plan.lbHost,
    SUMSTREAM_LB_GRPC_PORT: String(LB_PORTS.grpc),
    SUMSTREAM_LB_REST_PORT: String(LB_PORTS.rest),
    SUMSTREAM_LB_STATS_PORT: String(LB_PORTS.stats),
    SUMSTREAM_ADD_METRICS_PORT: String(HOST_PORTS.addMetrics),
  };
  for (const [i, h] of hostsOf(plan, 'add-service').entries())
    env[`SUMSTREAM_ADD_SERVICE_${i + 1}`] = `${h.address}:${HOST_PORTS.grpc}`;
  for (const [i, h] of hostsOf(plan, 'sum-service').entries())
    env[`SUMSTREAM_SUM_SERVICE_${i + 1}`] = `${h.address}:${HOST_PORTS.sum}`;
  if (plan.pgHa) {
    env['SUMSTREAM_PG_LB_HOST'] = plan.gateway;
    env['SUMSTREAM_PG_LB_PORT'] = String(PG_LB_PORTS.primary);
    env['SUMSTREAM_PG_REPLICA_LB_PORT'] = String(PG_LB_PORTS.replicas);
    env['SUMSTREAM_PATRONI_PORT'] = String(HOST_PORTS.patroni);
    for (const [i, h] of hostsOf(plan, 'postgres').entries())
      env[`SUMSTREAM_PG_${i + 1}`] = `${h.address}:${HOST_PORTS.postgres}`;
  }
  return env;
}

export interface HaproxyOptions {
  plan: ClusterPlan;
  env: Readonly<Record<string, string | undefined>>;
  logStream: WriteStream;
}

/** Starts HAProxy in the foreground (`-db`) with the committed config; resolves once both frontends listen. */
export async function startHaproxy(options: HaproxyOptions): Promise<ChildProcess> {
  const child = spawn('haproxy', ['-db', ...haproxyConfigFiles(options.plan).flatMap((f) => ['-f', f])], {
    env: { ...options.env, ...haproxyEnv(options.plan) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    createInterface({ input: stream }).on('line', (line) => {
      options.logStream.write(`${line}\n`);
      tail.push(line);
    });
  let failed: string | undefined;
  child.once(
    'error',
    (error) => (failed = `cannot run haproxy: ${error.message}; run \`bash scripts/ensure-system-deps.sh --cluster\``),
  );
  child.once(
    'exit',
    (code, signal) => (failed ??= `haproxy exited (${signal ?? code}): ${tail.slice(-5).join(' | ')}`),
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (failed) throw new Error(failed);
    if (
      (await isPortOpen(LB_PORTS.grpc, options.plan.lbHost)) &&
      (await isPortOpen(LB_PORTS.rest, options.plan.lbHost))
    )
      return child;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen within 15 s: ${tail.slice(-5).join(' | ')}`);
    await sleep(100);
  }
}
