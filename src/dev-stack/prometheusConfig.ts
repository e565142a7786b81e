import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';
import { DEV_STACK_KNOBS } from './devStackConfig.js';
import { REPO_ROOT } from './serviceProcess.js';

/** The committed configuration, written for the default ports. */
export const PROMETHEUS_TEMPLATE = path.join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml');
export const ALERTS_FILE = path.join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.yml');

/** Scrape target (`host:port`) of each job. */
export type PrometheusTargets = Record<
  'add-service' | 'cdc-relay' | 'sum-service' | 'rabbitmq' | 'postgres' | 'prometheus',
  string
>;

export const DEFAULT_TARGETS: PrometheusTargets = {
  'add-service': `127.0.0.1:${PORT_KNOBS.addMetricsPort.default}`,
  'cdc-relay': `127.0.0.1:${PORT_KNOBS.relayMetricsPort.default}`,
  'sum-service': `127.0.0.1:${PORT_KNOBS.sumPort.default}`,
  rabbitmq: `127.0.0.1:${DEV_STACK_KNOBS.rabbitPrometheusPort.default}`,
  postgres: `127.0.0.1:${DEV_STACK_KNOBS.pgExporterPort.default}`,
  prometheus: `127.0.0.1:${DEV_STACK_KNOBS.prometheusPort.default}`,
};

/** The Docker Compose stack's configuration (service hostnames), rendered from the template. */
export const COMPOSE_PROMETHEUS_CONFIG = path.join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.compose.yml');

/** Scrape targets inside docker-compose.yml's network: service name and container port. */
export const COMPOSE_TARGETS: PrometheusTargets = {
  'add-service': `add-service:${PORT_KNOBS.addMetricsPort.default}`,
  'cdc-relay': `cdc-relay:${PORT_KNOBS.relayMetricsPort.default}`,
  'sum-service': `sum-service:${PORT_KNOBS.sumPort.default}`,
  rabbitmq: 'rabbitmq:15692',
  postgres: 'postgres-exporter:9187',
  prometheus: 'prometheus:9090',
};

const COMPOSE_HEADER = [
  '# Prometheus for the Docker Compose stack (docker-compose.yml): service hostnames, container ports.',
  '# GENERATED from prometheus.yml by renderComposePrometheusConfig() in src/dev-stack/prometheusConfig.ts;',
  '# test/int/deployment.int.test.ts fails when the two differ. Edit prometheus.yml, then regenerate:',
  `#   node --import tsx -e "import('./src/dev-stack/prometheusConfig.ts').then(async (m) => process.stdout.write(await m.renderComposePrometheusConfig()))" > deploy/prometheus/prometheus.compose.yml`,
].join('\n');

export interface RenderOptions {
  /** Replaces every `scrape_interval`/`evaluation_interval` of 5s. */
  scrapeInterval?: string;
  /** Replaces the template's leading comment block (the lines before `global:`). */
  header?: string;
}

/**
 * Renders the committed prometheus.yml for other ports (and optionally another scrape
 * interval or header): each job's default target is replaced by the one given. Fails loudly if
 * the template no longer has a default target, so the two cannot drift apart silently.
 */
export async function renderPrometheusConfig(
  targets: Record<keyof PrometheusTargets, string | readonly string[]>,
  options: RenderOptions = {},
): Promise<string> {
  let text = await readFile(PROMETHEUS_TEMPLATE, 'utf8');
  if (options.header !== undefined) text = `${options.header.replace(/\n*$/, '\n')}${text.replace(/^(?:#.*\n)*/, '')}`;
  for (const [job, target] of Object.entries(targets) as [keyof PrometheusTargets, string | readonly string[]][]) {
    const placeholder = `['${DEFAULT_TARGETS[job]}']`;
    if (!text.includes(placeholder))
      throw new Error(
        `${PROMETHEUS_TEMPLATE} has no target ${placeholder} for job ${job}; keep the defaults in step with DEFAULT_TARGETS.`,
      );
    const list = typeof target === 'string' ? [target] : target;
    text = text.replace(placeholder, `[${list.map((t) => `'${t}'`).join(', ')}]`);
  }
  if (options.scrapeInterval)
    text = text.replace(/(scrape_interval|evaluation_interval): 5s/g, `$1: ${options.scrapeInterval}`);
  return text;
}

/** What deploy/prometheus/prometheus.compose.yml must contain. */
export function renderComposePrometheusConfig(): Promise<string> {
  return renderPrometheusConfig(COMPOSE_TARGETS, { header: COMPOSE_HEADER });
}
