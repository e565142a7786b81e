/**
 * One soak sample: what every process says about itself on /metrics (prom-client's default process
 * metrics), what PostgreSQL and RabbitMQ hold, and the load's last window. Whatever cannot be read
 * at that moment (a process being restarted) is left out of the sample, never guessed.
 */
import { type ServiceName, SERVICES } from '../../src/dev-stack/index.js';
import type { WindowPoint } from '../../src/load/targetStats.js';
import { METRIC } from '../../src/shared/metrics/metricNames.js';
import { bucketQuantile, bucketsBetween, histogramBuckets, metricValue } from '../scrapeMetrics.js';
import type { ProcessScraper } from './processScraper.js';
import { SOAK_APPLICATION, SOAK_SLOT, type SoakStack } from './soakStack.js';
import { pidFromFile, treePssBytes } from './treePssBytes.js';

/** The tables whose size is followed; `additions` (and any other) may be partitioned: leaves are summed. */
export const SOAK_TABLES = ['additions', 'processed_events', 'outbox', 'idempotency_keys'] as const;

export interface ProcessSample {
  pid: number;
  /** process_start_time_seconds, as seconds since the start of the soak (negative: before it). */
  startedAt: number;
  /** At the sample, and the lowest of the once-a-second reads since the previous sample (ProcessScraper). */
  rssBytes: number;
  rssMinBytes: number;
  heapUsedBytes: number;
  heapMinBytes: number;
  handles: number;
  fds: number;
}

export interface TableSample {
  totalBytes: number;
  indexBytes: number;
  /** pg_stat_user_tables.n_live_tup over the leaves: an estimate. */
  rows: number;
  partitions: number;
}

export interface SoakSample {
  /** Seconds since the start of the soak load. */
  t: number;
  at: string;
  /** True when a fault was in progress while the sample was taken. */
  duringFault: boolean;
  processes: Partial<Record<ServiceName, ProcessSample>>;
  postgres: { backends?: number; clientBackends?: number; pssBytes?: number };
  rabbitmq: { connections?: number; channels?: number; memoryBytes?: number; pssBytes?: number };
  /** Tables that exist. */
  tables: Partial<Record<(typeof SOAK_TABLES)[number], TableSample>>;
  /** pg_current_wal_lsn() minus the slot's restart_lsn (WAL the slot holds) and confirmed_flush_lsn; pg_wal's size. */
  wal: { retainedBytes?: number; confirmLagBytes?: number; dirBytes?: number; slotStatus?: string };
  /** The `addition` queue, per the management API (its statistics lag a few seconds). */
  queue: { ready?: number; unacknowledged?: number };
  /** The client's view of the window that ends at `t`. */
  add: { okPerSecond: number; errorsPerSecond: number; dropped: number; p50Ms: number; p99Ms: number };
  reads: { okPerSecond: number; errors: number; p99Ms: number };
  /** Add commit to sum committed, from the sum-service's histogram between this sample and the previous one. */
  e2e: { events: number; p50Ms?: number; p99Ms?: number };
  unknownPending: number;
  /** The soak tool's own resident memory. */
  soakRssBytes: number;
}

export interface SampleInput {
  t: number;
  duringFault: boolean;
  add: WindowPoint;
  reads: WindowPoint | undefined;
  unknownPending: number;
}

const optional = async <T>(read: () => Promise<T>): Promise<T | undefined> => read().catch(() => undefined);

export class StackSampler {
  private previousE2e: Map<number, number> | undefined;

  /** `startedAtMs`: epoch ms of the start of the soak load (t = 0). */
  constructor(
    private readonly stack: SoakStack,
    private readonly scraper: ProcessScraper,
    private readonly startedAtMs: number,
  ) {}

  async sample(input: SampleInput): Promise<SoakSample> {
    const [pages, postgres, tables, wal, rabbitmq, queue] = await Promise.all([
      this.scraper.take(),
      this.postgres(),
      this.tables(),
      this.wal(),
      this.rabbitmq(),
      this.queue(),
    ]);
    const processes: SoakSample['processes'] = {};
    for (const service of SERVICES) {
      const page = pages[service];
      if (!page) continue;
      const { text } = page;
      processes[service] = {
        pid: page.pid,
        startedAt: metricValue(text, 'process_start_time_seconds') - this.startedAtMs / 1000,
        rssBytes: metricValue(text, 'process_resident_memory_bytes'),
        rssMinBytes: page.rssMinBytes,
        heapUsedBytes: metricValue(text, 'nodejs_heap_size_used_bytes'),
        heapMinBytes: page.heapMinBytes,
        handles: metricValue(text, 'nodejs_active_handles_total'),
        fds: metricValue(text, 'process_open_fds'),
      };
    }
    const sumPage = pages['sum-service']?.text;
    let e2e: SoakSample['e2e'] = { events: 0 };
    if (sumPage !== undefined) {
      const buckets = histogramBuckets(sumPage, METRIC.endToEndLatency);
      const window = this.previousE2e ? bucketsBetween(this.previousE2e, buckets) : buckets;
      const events = window.get(Number.POSITIVE_INFINITY) ?? 0;
      e2e =
        events > 0
          ? { events, p50Ms: bucketQuantile(window, 0.5) * 1000, p99Ms: bucketQuantile(window, 0.99) * 1000 }
          : { events };
      this.previousE2e = buckets;
    }
    const windowRate = (w: WindowPoint): number => w.ok / w.seconds;
    return {
      t: input.t,
      at: new Date().toISOString(),
      duringFault: input.duringFault,
      processes,
      postgres,
      rabbitmq,
      tables,
      wal,
      queue,
      add: {
        okPerSecond: windowRate(input.add),
        errorsPerSecond: input.add.errors / input.add.seconds,
        dropped: input.add.dropped,
        p50Ms: input.add.p50Ms,
        p99Ms: input.add.p99Ms,
      },
      reads: input.reads
        ? { okPerSecond: windowRate(input.reads), errors: input.reads.errors, p99Ms: input.reads.p99Ms }
        : { okPerSecond: 0, errors: 0, p99Ms: 0 },
      e2e,
      unknownPending: input.unknownPending,
      soakRssBytes: process.memoryUsage.rss(),
    };
  }

  private async postgres(): Promise<SoakSample['postgres']> {
    const [row] =
      (await optional(() =>
        this.stack.query<{ backends: number; clients: number }>(
          `SELECT count(*) FILTER (WHERE application_name IS DISTINCT FROM $1)::int AS backends,
                  count(*) FILTER (WHERE application_name IS DISTINCT FROM $1 AND backend_type = 'client backend')::int AS clients
             FROM pg_stat_activity`,
          [SOAK_APPLICATION],
        ),
      )) ?? [];
    return {
      backends: row?.backends,
      clientBackends: row?.clients,
      pssBytes: await this.pss('postgres/data/postmaster.pid'),
    };
  }

  private async tables(): Promise<SoakSample['tables']> {
    const rows =
      (await optional(() =>
        this.stack.query<{ name: string; total: number; indexes: number; rows: number; partitions: number }>(
          `WITH t AS (SELECT name, to_regclass(name) AS rel FROM unnest($1::text[]) AS name),
                leaves AS (
                  SELECT t.name, p.relid FROM t, pg_partition_tree(t.rel) AS p WHERE p.isleaf
                  UNION ALL -- a plain table has no partition tree: it is its own leaf
                  SELECT t.name, t.rel FROM t JOIN pg_class c ON c.oid = t.rel WHERE c.relkind = 'r')
           SELECT l.name,
                  coalesce(sum(pg_total_relation_size(l.relid)), 0)::float8 AS total,
                  coalesce(sum(pg_indexes_size(l.relid)), 0)::float8 AS indexes,
                  coalesce(sum(s.n_live_tup), 0)::float8 AS rows,
                  count(*)::int AS partitions
             FROM leaves l LEFT JOIN pg_stat_user_tables s ON s.relid = l.relid
            GROUP BY l.name`,
          [SOAK_TABLES],
        ),
      )) ?? [];
    const tables: SoakSample['tables'] = {};
    for (const r of rows)
      tables[r.name as (typeof SOAK_TABLES)[number]] = {
        totalBytes: r.total,
        indexBytes: r.indexes,
        rows: r.rows,
        partitions: r.partitions,
      };
    return tables;
  }

  private async wal(): Promise<SoakSample['wal']> {
    const [slot] =
      (await optional(() =>
        this.stack.query<{ retained: number | null; lag: number | null; status: string | null }>(
          `SELECT (pg_current_wal_lsn() - restart_lsn)::float8 AS retained,
                  (pg_current_wal_lsn() - confirmed_flush_lsn)::float8 AS lag, wal_status AS status
             FROM pg_replication_slots WHERE slot_name = $1`,
          [SOAK_SLOT],
        ),
      )) ?? [];
    const [dir] =
      (await optional(() =>
        this.stack.query<{ bytes: number }>('SELECT sum(size)::float8 AS bytes FROM pg_ls_waldir()'),
      )) ?? [];
    return {
      retainedBytes: slot?.retained ?? undefined,
      confirmLagBytes: slot?.lag ?? undefined,
      dirBytes: dir?.bytes,
      slotStatus: slot?.status ?? undefined,
    };
  }

  private async rabbitmq(): Promise<SoakSample['rabbitmq']> {
    const json = async <T>(apiPath: string): Promise<T> => {
      const res = await this.stack.management('GET', apiPath);
      if (!res.ok) throw new Error(`${apiPath}: ${res.status}`);
      return (await res.json()) as T;
    };
    const [overview, nodes, pssBytes] = await Promise.all([
      optional(() => json<{ object_totals?: { connections?: number; channels?: number } }>('/api/overview')),
      optional(() => json<{ mem_used?: number }[]>('/api/nodes')),
      this.pss('rabbitmq/rabbitmq.pid'),
    ]);
    return {
      connections: overview?.object_totals?.connections,
      channels: overview?.object_totals?.channels,
      memoryBytes: nodes?.[0]?.mem_used,
      pssBytes,
    };
  }

  /** PSS of the server whose pid file (under the run's folder) is `pidFile`, with all its children. */
  private async pss(pidFile: string): Promise<number | undefined> {
    const pid = await pidFromFile(`${this.stack.runDir}/${pidFile}`);
    return pid === undefined ? undefined : optional(() => treePssBytes(pid));
  }

  private async queue(): Promise<SoakSample['queue']> {
    const res = await optional(() => this.stack.management('GET', '/api/queues/%2F/addition'));
    if (!res?.ok) return {};
    const q = (await res.json().catch(() => ({}))) as { messages_ready?: number; messages_unacknowledged?: number };
    return { ready: q.messages_ready, unacknowledged: q.messages_unacknowledged };
  }
}
