/** The soak's plots, as charts for renderChart: which series go on which panel. Pure. */
import { type ServiceName, SERVICES } from '../../src/dev-stack/index.js';
import type { SoakFault, SoakFaultKind } from './faultCycle.js';
import { type Chart, type ChartPanel, type ChartSeries, PALETTE } from './renderChart.js';
import { SOAK_TABLES, type SoakSample } from './sampleStack.js';

const MIB = 2 ** 20;
const MARKER: Record<SoakFaultKind, string> = {
  'kill-sum-service': 'kill sum',
  'kill-cdc-relay': 'kill relay',
  'kill-add-service': 'kill add',
  'reset-broker-connections': 'amqp reset',
};

type ProcessSample = NonNullable<SoakSample['processes'][ServiceName]>;

function line(
  samples: readonly SoakSample[],
  label: string,
  color: string,
  read: (s: SoakSample) => number | undefined,
  dashed = false,
): ChartSeries {
  return {
    label,
    color,
    dashed,
    values: samples.map((s) => {
      const v = read(s);
      return v === undefined || !Number.isFinite(v) ? null : [s.t, v];
    }),
  };
}

/** One line per process; a restart (another pid) breaks it. */
function perProcess(samples: readonly SoakSample[], read: (p: ProcessSample) => number): ChartSeries[] {
  return SERVICES.map((service, i) => {
    const values: ChartSeries['values'] = [];
    let pid: number | undefined;
    for (const s of samples) {
      const p = s.processes[service];
      if (!p) {
        values.push(null);
        continue;
      }
      if (pid !== undefined && p.pid !== pid) values.push(null);
      pid = p.pid;
      values.push([s.t, read(p)]);
    }
    return { label: service, color: PALETTE[i]!, values };
  });
}

export interface SoakPlotInput {
  samples: readonly SoakSample[];
  faults: readonly SoakFault[];
  warmupEnd: number;
  end: number;
  /** The open-loop Add rate. */
  ratePerSecond: number;
}

/** The charts by file name (without extension). */
export function soakPlots(input: SoakPlotInput): Record<string, Chart> {
  const { samples } = input;
  const chart = (title: string, panels: ChartPanel[]): Chart => ({
    title,
    panels,
    markers: input.faults.map((f) => ({ t: f.at, label: MARKER[f.kind] })),
    warmupEnd: input.warmupEnd,
    end: input.end,
  });
  const mib = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : bytes / MIB);
  const tablePanel = (
    title: string,
    read: (t: NonNullable<SoakSample['tables']['additions']>) => number,
  ): ChartPanel => ({
    title,
    unit: 'MiB',
    series: SOAK_TABLES.map((table, i) =>
      line(samples, table, PALETTE[i]!, (s) => {
        const t = s.tables[table];
        return t === undefined ? undefined : read(t) / MIB;
      }),
    ),
  });
  return {
    memory: chart('Memory of each process', [
      {
        title: 'Resident memory (process_resident_memory_bytes): lowest of each window, fitted',
        unit: 'MiB',
        series: perProcess(samples, (p) => p.rssMinBytes / MIB),
      },
      {
        title: 'V8 heap used (nodejs_heap_size_used_bytes): lowest of each window, fitted; pale: at the sample',
        unit: 'MiB',
        series: [
          ...perProcess(samples, (p) => p.heapUsedBytes / MIB).map((s) => ({ ...s, label: '', faint: true })),
          ...perProcess(samples, (p) => p.heapMinBytes / MIB),
        ],
      },
      {
        title: 'Servers (PSS of all their processes) and the soak tool',
        unit: 'MiB',
        series: [
          line(samples, 'PostgreSQL', PALETTE[0]!, (s) => mib(s.postgres.pssBytes)),
          line(samples, 'RabbitMQ', PALETTE[1]!, (s) => mib(s.rabbitmq.pssBytes)),
          line(samples, 'soak tool RSS', PALETTE[2]!, (s) => s.soakRssBytes / MIB, true),
        ],
      },
    ]),
    handles: chart('Handles, file descriptors and connections', [
      {
        title: 'Active handles (nodejs_active_handles_total)',
        unit: 'handles',
        series: perProcess(samples, (p) => p.handles),
      },
      { title: 'Open file descriptors (process_open_fds)', unit: 'fds', series: perProcess(samples, (p) => p.fds) },
      {
        title: 'PostgreSQL backends and RabbitMQ connections, channels',
        unit: 'count',
        series: [
          line(samples, 'pg backends', PALETTE[0]!, (s) => s.postgres.backends),
          line(samples, 'pg client backends', PALETTE[0]!, (s) => s.postgres.clientBackends, true),
          line(samples, 'amqp connections', PALETTE[1]!, (s) => s.rabbitmq.connections),
          line(samples, 'amqp channels', PALETTE[2]!, (s) => s.rabbitmq.channels),
        ],
      },
    ]),
    tables: chart('Table sizes (partitions summed)', [
      tablePanel('Total size (pg_total_relation_size)', (t) => t.totalBytes),
      tablePanel('Index size (pg_indexes_size)', (t) => t.indexBytes),
    ]),
    'wal-queue': chart('WAL retained and queue depth', [
      {
        title: "WAL retained by the relay's slot (current LSN - restart_lsn) and pg_wal",
        unit: 'MiB',
        series: [
          line(samples, 'retained by the slot', PALETTE[0]!, (s) => mib(s.wal.retainedBytes)),
          line(samples, 'pg_wal size', PALETTE[1]!, (s) => mib(s.wal.dirBytes), true),
        ],
      },
      {
        title: 'Queue `addition` (management API)',
        unit: 'messages',
        series: [
          line(samples, 'ready', PALETTE[0]!, (s) => s.queue.ready),
          line(samples, 'unacknowledged', PALETTE[1]!, (s) => s.queue.unacknowledged),
        ],
      },
    ]),
    latency: chart('Latency and rate', [
      {
        title: 'End-to-end latency, Add commit to sum committed (per sample window)',
        unit: 'ms',
        series: [
          line(samples, 'p50', PALETTE[2]!, (s) => s.e2e.p50Ms),
          line(samples, 'p99', PALETTE[1]!, (s) => s.e2e.p99Ms),
        ],
      },
      {
        title: 'Adds acknowledged per second (client) and the open-loop target',
        unit: 'Adds/s',
        series: [
          line(samples, 'acknowledged/s', PALETTE[0]!, (s) => s.add.okPerSecond),
          line(samples, 'target', '#777777', () => input.ratePerSecond, true),
          line(samples, 'failed calls/s', PALETTE[3]!, (s) => s.add.errorsPerSecond),
        ],
      },
    ]),
  };
}
