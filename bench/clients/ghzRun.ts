import { ADDITION_PROTO_PATH } from '../../src/shared/grpc/loadAdditionProto.js';
import { pinned } from '../cpuPinning.js';
import { runOk } from '../../src/dev-stack/index.js';
import type { ClientResult } from './clientResult.js';

export interface GhzOptions {
  ghz: string;
  address: string;
  /** Concurrent workers. */
  concurrency: number;
  /** HTTP/2 connections the workers share. */
  connections: number;
  durationSeconds: number;
  /** Constant request rate (ghz --rps) instead of as fast as the workers go. */
  rps?: number;
  cpuList?: string | undefined;
}

/** Every call adds 2 + 3: the sum must grow by this much per OK answer. */
export const GHZ_ADD_TOTAL = 5n;

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number> | null;
}

/** Unary Addition/Add calls with ghz (Go: a load client that is not Node), closed loop for a fixed time. */
export async function ghzRun(options: GhzOptions): Promise<ClientResult> {
  const [command, args] = pinned(options.cpuList, options.ghz, [
    '--insecure',
    '--proto',
    ADDITION_PROTO_PATH,
    '--call',
    'Addition.Add',
    '-d',
    '{"a":"2","b":"3"}',
    '-c',
    String(options.concurrency),
    '--connections',
    String(options.connections),
    '-z',
    `${options.durationSeconds}s`,
    ...(options.rps ? ['--rps', String(options.rps)] : []),
    '--format',
    'json',
    options.address,
  ]);
  const report = JSON.parse(
    await runOk(command, args, { timeoutMs: (options.durationSeconds + 60) * 1000 }),
  ) as GhzReport;
  const ok = report.statusCodeDistribution['OK'] ?? 0;
  // When the time is up, ghz closes its connections under the calls still in flight (at most one
  // per worker): those are the end of the run, not answers of the server.
  const cutOff = Math.min(
    options.concurrency,
    Object.entries(report.errorDistribution ?? {})
      .filter(
        ([message]) => message.includes('transport is closing') || message.includes('client connection is closing'),
      )
      .reduce((total, [, count]) => total + count, 0),
  );
  const percentile = (p: number): number =>
    (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? Number.NaN) / 1e6;
  const errorKinds = Object.entries(report.errorDistribution ?? {}).map(([message, count]) => `${count} x ${message}`);
  return {
    client: 'ghz',
    errorKinds,
    cutOff,
    ok,
    errors: report.count - ok - cutOff,
    seconds: report.total / 1e9,
    throughput: report.rps,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
  };
}
