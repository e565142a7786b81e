/**
 * Reads every process's /metrics each second and keeps, per process incarnation, the lowest heap
 * used and resident memory since the last sample. V8's heap saws between collections by tens of
 * MiB at this load, so a sample at a random phase of that cycle is mostly noise; the lowest value
 * of a window is close to what survived the last collection, which is what a leak raises.
 */
import { type ServiceName, SERVICES } from '../../src/dev-stack/index.js';
import { sleep } from '../../src/shared/backoff.js';
import { metricValue } from '../scrapeMetrics.js';
import type { SoakStack } from './soakStack.js';

export interface ProcessPage {
  pid: number;
  /** The latest /metrics page of that pid. */
  text: string;
  /** Lowest values over the window, from that pid's pages only. */
  heapMinBytes: number;
  rssMinBytes: number;
}

export class ProcessScraper {
  private window: Partial<Record<ServiceName, ProcessPage>> = {};
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly stack: SoakStack,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.loop = (async () => {
      do await this.scrapeAll();
      while (await sleep(this.everyMs, this.stopping.signal));
    })();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  /** Scrapes once more, then returns the window's pages and starts a new window. */
  async take(): Promise<Partial<Record<ServiceName, ProcessPage>>> {
    await this.scrapeAll();
    const window = this.window;
    this.window = {};
    return window;
  }

  private async scrapeAll(): Promise<void> {
    await Promise.all(SERVICES.map((service) => this.scrape(service)));
  }

  private async scrape(service: ServiceName): Promise<void> {
    const pid = this.stack.services[service].child?.pid;
    if (pid === undefined) return;
    const res = await fetch(this.stack.metricsUrls[service], { signal: AbortSignal.timeout(3000) }).catch(
      () => undefined,
    );
    const text = res?.ok ? await res.text().catch(() => undefined) : undefined;
    // A page answered while the process was replaced belongs to neither incarnation for sure.
    if (text === undefined || this.stack.services[service].child?.pid !== pid) return;
    const heap = metricValue(text, 'nodejs_heap_size_used_bytes');
    const rss = metricValue(text, 'process_resident_memory_bytes');
    const previous = this.window[service];
    this.window[service] =
      previous?.pid === pid
        ? {
            pid,
            text,
            heapMinBytes: Math.min(previous.heapMinBytes, heap),
            rssMinBytes: Math.min(previous.rssMinBytes, rss),
          }
        : { pid, text, heapMinBytes: heap, rssMinBytes: rss };
  }
}
