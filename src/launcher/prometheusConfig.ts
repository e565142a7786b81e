import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './serviceProcess.js';

/** The committed configuration, written for the default ports. */
export const PROMETHEUS_TEMPLATE = path.join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml');
export const ALERTS_FILE = path.join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.yml');

/** Scrape target (`host:port`) of each job. */
export type PrometheusTargets = Record<'add-service' | 'cdc-relay' | 'sum-service' | 'rabbitmq' | 'postgres' | 'prometheus', string>;

export const DEFAULT_TARGETS: PrometheusTargets = {
  'add-service': '127.0.0.1:3001',
  'cdc-relay': '127.0.0.1:3002',
  'sum-service': '127.0.0.1:4000',
  rabbitmq: '127.0.0.1:15692',
  postgres: '127.0.0.1:9187',
  prometheus: '127.0.0.1:9090',
};

/**
 * Renders the committed prometheus.yml for other ports (and optionally another scrape
 * interval): each job's default target is replaced by the one given. Fails loudly if the
 * template no longer has a default target, so the two cannot drift apart silently.
 */
export async function renderPrometheusConfig(targets: PrometheusTargets, options: { scrapeInterval?: string } = {}): Promise<string> {
  let text = await readFile(PROMETHEUS_TEMPLATE, 'utf8');
  for (const [job, target] of Object.entries(targets) as [keyof PrometheusTargets, string][]) {
    const placeholder = `['${DEFAULT_TARGETS[job]}']`;
    if (!text.includes(placeholder)) throw new Error(`${PROMETHEUS_TEMPLATE} has no target ${placeholder} for job ${job}; keep the defaults in step with DEFAULT_TARGETS.`);
    text = text.replace(placeholder, `['${target}']`);
  }
  if (options.scrapeInterval) text = text.replace(/(scrape_interval|evaluation_interval): 5s/g, `$1: ${options.scrapeInterval}`);
  return text;
}
