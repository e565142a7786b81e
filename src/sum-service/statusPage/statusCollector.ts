import type pg from 'pg';
import type { Registry } from 'prom-client';
import {
  computeStatus,
  pickBaseline,
  type Probed,
  type QueueDepth,
  retainSamples,
  type SlotLag,
} from './computeStatus.js';
import { readSlotLag } from './readSlotLag.js';
import { sampleFromMetrics, type StatusSample } from './statusSample.js';

export interface StatusCollectorOptions {
  /** This process's metrics (counters, the end-to-end histogram, default process metrics). */
  registry: Registry;
  /** Where the slot lag is read and the health check runs. */
  db: Pick<pg.Pool, 'query'>;
  /** Passive check of a queue (never declares it). */
  checkQueue: (queue: string) => Promise<{ messageCount: number; consumerCount: number }>;
  /** Whether the consumer is consuming right now. */
  consuming: () => boolean;
  /** Names of the main queue and the dead-letter queue. */
  queues: { main: string; deadLetter: string };
  /** How long one computed status is served to every caller, ms. Default 1000. */
  cacheMs?: number;
  /** Span the rate and recent latency are measured over, ms. Default 10000. */
  windowMs?: number;
  /** Longest wait for RabbitMQ or PostgreSQL per probe before it counts as unknown, ms. Default 2000. */
  probeTimeoutMs?: number;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Computes `GET /status.json` on demand, at most once per `cacheMs` however many pages poll it
 * (callers arriving during a computation share it). Each call also records a sample of the
 * metrics, so rates and recent latency are measured between the polls themselves; no timer runs.
 */
export class StatusCollector {
  private samples: StatusSample[] = [];
  private cached: { atMs: number; body: string } | undefined;
  private computing: Promise<string> | undefined;
  private readonly cacheMs: number;
  private readonly windowMs: number;
  private readonly probeTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: StatusCollectorOptions) {
    this.cacheMs = options.cacheMs ?? 1_000;
    this.windowMs = options.windowMs ?? 10_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
    this.now = options.now ?? Date.now;
    if (this.windowMs <= this.cacheMs)
      throw new Error(
        `StatusCollector windowMs (${this.windowMs}) must exceed cacheMs (${this.cacheMs}), or no rate can be measured.`,
      );
  }

  /** The status document as JSON text. */
  json(): Promise<string> {
    if (this.cached && this.now() - this.cached.atMs < this.cacheMs) return Promise.resolve(this.cached.body);
    this.computing ??= this.compute().finally(() => (this.computing = undefined));
    return this.computing;
  }

  private async compute(): Promise<string> {
    const { registry, db, queues } = this.options;
    const [metrics, main, deadLetter, slots, database] = await Promise.all([
      registry.getMetricsAsJSON(),
      this.probe(() => this.queueDepth(queues.main)),
      this.probe(() => this.queueDepth(queues.deadLetter)),
      this.probe<SlotLag[]>(() => readSlotLag(db)),
      this.probe(() => db.query('SELECT 1')),
    ]);
    const sample = sampleFromMetrics(metrics, this.now());
    const baseline = pickBaseline(this.samples, sample.atMs, this.windowMs);
    this.samples = retainSamples(this.samples, sample, this.windowMs);
    const body = JSON.stringify(
      computeStatus({
        now: sample,
        baseline,
        queues: {
          main: { name: queues.main, depth: main },
          deadLetter: { name: queues.deadLetter, depth: deadLetter },
        },
        slots,
        consuming: this.options.consuming(),
        databaseProblem: database.ok ? undefined : database.reason,
      }),
    );
    this.cached = { atMs: sample.atMs, body };
    return body;
  }

  private async queueDepth(queue: string): Promise<QueueDepth> {
    const { messageCount, consumerCount } = await this.options.checkQueue(queue);
    return { messages_ready: messageCount, consumers: consumerCount };
  }

  /** Runs one probe with a time limit; a failure becomes its reason instead of failing the page. */
  private async probe<T>(run: () => Promise<T>): Promise<Probed<T>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.probeTimeoutMs} ms`)), this.probeTimeoutMs);
    });
    try {
      return { ok: true, value: await Promise.race([run(), timeout]) };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
