/**
 * Every series the soak follows, how it is read from a sample, and the criterion it is judged by.
 * Pure. Memory is read as the lowest value of each sample window (ProcessScraper), the rest as
 * sampled. The thresholds (a projected change over the post-warm-up span, relative to the series'
 * median, with a floor so that a small level is not judged on noise; fitSeries also asks that the
 * change be significant):
 *
 * | Series | Fails when the projected change is | Floor |
 * |---|---|---|
 * | RSS, heap used of each process | a growth > 10 % of its median | 8 MiB |
 * | active handles, open fds of each process | a growth > 10 % | 5 |
 * | PostgreSQL backends, RabbitMQ connections and channels | a growth > 10 % | 2 |
 * | total and index size of each table | a growth > 10 % | 1 MiB |
 * | WAL retained by the slot | a growth > 10 % | 64 MiB (four segments: restart_lsn moves in steps) |
 * | queue depth (ready + unacknowledged) | a growth > 10 % | one second of the load |
 * | end-to-end p99 | a growth > 50 % | 25 ms |
 * | achieved Add rate | a decline > 10 % | 0 |
 *
 * Servers' memory, pg_wal's size, the medians and the client's latency are fitted and reported only.
 */
import { type ServiceName, SERVICES } from '../../src/dev-stack/index.js';
import type { Criterion, SeriesInput, SeriesPoint } from './fitSeries.js';
import { SOAK_TABLES, type SoakSample } from './sampleStack.js';

const MIB = 2 ** 20;

const growth = (relative: number, floor: number): Criterion => ({ direction: 'up', relative, floor, judged: true });
const reported: Criterion = { direction: 'up', relative: 0.1, floor: 0, judged: false };

export const SOAK_CRITERIA = {
  memoryMiB: growth(0.1, 8),
  handles: growth(0.1, 5),
  connections: growth(0.1, 2),
  tableMiB: growth(0.1, 1),
  walMiB: growth(0.1, 64),
  /** The floor is one second of the load: set by soakSeries from the rate. */
  queue: growth(0.1, 0),
  e2eP99Ms: growth(0.5, 25),
  addRate: { direction: 'down', relative: 0.1, floor: 0, judged: true } as Criterion,
} as const;

type Read = (s: SoakSample) => number | undefined;

const global = (
  samples: readonly SoakSample[],
  id: string,
  label: string,
  unit: string,
  read: Read,
  criterion: Criterion,
): SeriesInput => ({ id, label, unit, criterion, points: samples.map((s) => ({ t: s.t, v: read(s) })) });

function perProcess(
  samples: readonly SoakSample[],
  service: ServiceName,
  id: string,
  label: string,
  unit: string,
  read: (p: NonNullable<SoakSample['processes'][ServiceName]>) => number,
  criterion: Criterion,
): SeriesInput {
  const points: SeriesPoint[] = samples.map((s) => {
    const p = s.processes[service];
    return p ? { t: s.t, v: read(p), incarnation: String(p.pid), startedAt: p.startedAt } : { t: s.t, v: undefined };
  });
  return { id: `${id}:${service}`, label: `${label}, ${service}`, unit, criterion, points };
}

const mib = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : bytes / MIB);

/** The series of a run; `ratePerSecond` is the open-loop Add rate (the queue's floor is one second of it). */
export function soakSeries(samples: readonly SoakSample[], ratePerSecond: number): SeriesInput[] {
  const series: SeriesInput[] = [];
  for (const service of SERVICES) {
    series.push(
      perProcess(samples, service, 'rss', 'RSS', 'MiB', (p) => p.rssMinBytes / MIB, SOAK_CRITERIA.memoryMiB),
      perProcess(samples, service, 'heap', 'heap used', 'MiB', (p) => p.heapMinBytes / MIB, SOAK_CRITERIA.memoryMiB),
      perProcess(samples, service, 'handles', 'active handles', 'handles', (p) => p.handles, SOAK_CRITERIA.handles),
      perProcess(samples, service, 'fds', 'open fds', 'fds', (p) => p.fds, SOAK_CRITERIA.handles),
    );
  }
  series.push(
    global(
      samples,
      'pg-backends',
      'PostgreSQL backends',
      'backends',
      (s) => s.postgres.backends,
      SOAK_CRITERIA.connections,
    ),
    global(
      samples,
      'rabbit-connections',
      'RabbitMQ connections',
      'connections',
      (s) => s.rabbitmq.connections,
      SOAK_CRITERIA.connections,
    ),
    global(
      samples,
      'rabbit-channels',
      'RabbitMQ channels',
      'channels',
      (s) => s.rabbitmq.channels,
      SOAK_CRITERIA.connections,
    ),
  );
  for (const table of SOAK_TABLES) {
    series.push(
      global(
        samples,
        `table:${table}`,
        `${table} total size`,
        'MiB',
        (s) => mib(s.tables[table]?.totalBytes),
        SOAK_CRITERIA.tableMiB,
      ),
      global(
        samples,
        `indexes:${table}`,
        `${table} index size`,
        'MiB',
        (s) => mib(s.tables[table]?.indexBytes),
        SOAK_CRITERIA.tableMiB,
      ),
    );
  }
  const queued = (s: SoakSample): number | undefined =>
    s.queue.ready === undefined || s.queue.unacknowledged === undefined
      ? undefined
      : s.queue.ready + s.queue.unacknowledged;
  series.push(
    global(
      samples,
      'wal-retained',
      'WAL retained by the slot',
      'MiB',
      (s) => mib(s.wal.retainedBytes),
      SOAK_CRITERIA.walMiB,
    ),
    global(samples, 'queue-depth', 'queue depth (ready + unacked)', 'messages', queued, {
      ...SOAK_CRITERIA.queue,
      floor: Math.max(1, ratePerSecond),
    }),
    global(samples, 'e2e-p99', 'end-to-end p99', 'ms', (s) => s.e2e.p99Ms, SOAK_CRITERIA.e2eP99Ms),
    global(samples, 'add-rate', 'achieved Add rate', 'Adds/s', (s) => s.add.okPerSecond, SOAK_CRITERIA.addRate),
    global(samples, 'e2e-p50', 'end-to-end p50', 'ms', (s) => s.e2e.p50Ms, reported),
    global(samples, 'add-p99', 'Add p99 (client, open loop)', 'ms', (s) => s.add.p99Ms, reported),
    global(
      samples,
      'pg-pss',
      'PostgreSQL memory (PSS, all processes)',
      'MiB',
      (s) => mib(s.postgres.pssBytes),
      reported,
    ),
    global(samples, 'rabbit-pss', 'RabbitMQ memory (PSS)', 'MiB', (s) => mib(s.rabbitmq.pssBytes), reported),
    global(samples, 'wal-dir', 'pg_wal size', 'MiB', (s) => mib(s.wal.dirBytes), reported),
    global(samples, 'soak-rss', 'soak tool RSS', 'MiB', (s) => s.soakRssBytes / MIB, reported),
  );
  return series;
}
