import { pinned } from '../cpuPinning.js';
import { runOk } from '../../src/dev-stack/index.js';
import type { ClientResult } from './clientResult.js';

export interface BombardierOptions {
  bombardier: string;
  url: string;
  /** Keep-alive connections, each closed loop. */
  connections: number;
  durationSeconds: number;
  cpuList?: string | undefined;
}

interface BombardierReport {
  result: {
    req2xx: number;
    req1xx: number;
    req3xx: number;
    req4xx: number;
    req5xx: number;
    others: number;
    timeTakenSeconds: number;
    latency: { percentiles: Record<string, number> };
  };
}

/** HTTP GET load with bombardier (Go, fasthttp: a load client that is not Node), closed loop for a fixed time. */
export async function bombardierRun(options: BombardierOptions): Promise<ClientResult> {
  const [command, args] = pinned(options.cpuList, options.bombardier, [
    '-c',
    String(options.connections),
    '-d',
    `${options.durationSeconds}s`,
    '--latencies',
    '--print',
    'result',
    '--format',
    'json',
    options.url,
  ]);
  const { result } = JSON.parse(
    await runOk(command, args, { timeoutMs: (options.durationSeconds + 60) * 1000 }),
  ) as BombardierReport;
  const errors = result.req1xx + result.req3xx + result.req4xx + result.req5xx + result.others;
  const total = result.req2xx + errors;
  return {
    client: 'bombardier',
    ok: result.req2xx,
    errors,
    seconds: result.timeTakenSeconds,
    throughput: total / result.timeTakenSeconds,
    p50Ms: (result.latency.percentiles['50'] ?? Number.NaN) / 1000,
    p99Ms: (result.latency.percentiles['99'] ?? Number.NaN) / 1000,
  };
}
