/**
 * Static checks of the Grafana provisioning and the SumStream dashboard (Grafana is not run in
 * tests; test/int/promtool.int.test.ts checks that every expression parses, and the Prometheus
 * end-to-end test queries them against live data).
 *
 * The metric catalogue is built from the code: each process's registry (createRegistry + its
 * create*Metrics), so a renamed metric, a gauge fed to rate(), or a histogram read as a summary
 * fails here instead of drawing an empty panel.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createAddMetrics } from '../../src/add-service/addMetrics.js';
import { createRelayMetrics } from '../../src/cdc-relay/relayMetrics.js';
import { createRegistry } from '../../src/shared/metrics/createRegistry.js';
import { METRIC } from '../../src/shared/metrics/metricNames.js';
import { createSumMetrics } from '../../src/sum-service/sumMetrics.js';
import {
  alertExpressions,
  DASHBOARD_FILE,
  dashboardExpressions,
  dashboardPanels,
  loadDashboard,
  REPO_ROOT,
  withGrafanaVariables,
} from '../helpers/dashboardExpressions.js';

const GRAFANA_DIR = path.join(REPO_ROOT, 'deploy', 'grafana');
const DATASOURCE_FILE = path.join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml');
const DASHBOARD_PROVIDER_FILE = path.join(GRAFANA_DIR, 'provisioning', 'dashboards', 'sumstream.yml');
const DASHBOARD_MOUNT = '/var/lib/grafana/dashboards';
const DATASOURCE = { type: 'prometheus', uid: 'prometheus' };

/**
 * Series from other exporters the dashboard and alerts may use, checked by hand against them:
 * RabbitMQ 3.10 rabbitmq_prometheus with return_per_object_metrics, postgres-exporter 0.11, Prometheus.
 * Add a name here only after seeing it on the exporter's /metrics.
 */
const EXTERNAL_SERIES = new Set([
  'up',
  'pg_up',
  'rabbitmq_queue_messages',
  'rabbitmq_queue_messages_ready',
  'rabbitmq_queue_messages_unacked',
]);

// ---------------------------------------------------------------- metric catalogue from the code

interface KnownSeries {
  metric: string;
  type: string;
  labels: Set<string>;
}

/** Labels Prometheus attaches at scrape (job, instance), the registry default (service), and le. */
const TARGET_LABELS = ['job', 'instance', 'service'];

function buildCatalogue(): Map<string, KnownSeries> {
  const registries = [
    (r: Registry) => createAddMetrics(r),
    (r: Registry) => createRelayMetrics(r),
    (r: Registry) => createSumMetrics(r),
  ].map((create, i) => {
    const registry = createRegistry(['add-service', 'cdc-relay', 'sum-service'][i] as string);
    create(registry);
    return registry;
  });
  const catalogue = new Map<string, KnownSeries>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const type = String(metric.type);
      const labelNames = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
      const labels = new Set([...labelNames, ...TARGET_LABELS]);
      const add = (series: string, extra: string[] = []) =>
        catalogue.set(series, { metric: metric.name, type, labels: new Set([...labels, ...extra]) });
      if (type === 'histogram') {
        add(`${metric.name}_bucket`, ['le']);
        add(`${metric.name}_sum`);
        add(`${metric.name}_count`);
      } else if (type === 'summary') {
        add(metric.name, ['quantile']);
        add(`${metric.name}_sum`);
        add(`${metric.name}_count`);
      } else {
        add(metric.name);
      }
    }
  }
  return catalogue;
}

const catalogue = buildCatalogue();

// ---------------------------------------------------------------- a little PromQL reading

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

interface Selector {
  metric: string;
  matcherLabels: string[];
}

/** Metric selectors in an expression: `name{label="..."}` → name and the label names it matches on. */
function selectors(expr: string): Selector[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery windows
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping label lists
  const out: Selector[] = [];
  const token = /(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\{([^}]*)\})?(\s*\()?/g;
  for (const m of text.matchAll(token)) {
    const [, name, , matchers, call] = m;
    if (!name || call || KEYWORDS.has(name.toLowerCase())) continue;
    const matcherLabels = (matchers ?? '')
      .split(',')
      .map((s) => /^\s*([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/.exec(s)?.[1])
      .filter((s): s is string => s !== undefined);
    out.push({ metric: name, matcherLabels });
  }
  return out;
}

/** For each call of `fn(`, its top-level arguments (balanced parentheses, strings respected). */
function calls(expr: string, fn: string): { args: string[]; start: number; end: number }[] {
  const out: { args: string[]; start: number; end: number }[] = [];
  const re = new RegExp(`(?<![\\w:])${fn}\\s*\\(`, 'g');
  for (const m of expr.matchAll(re)) {
    const open = (m.index ?? 0) + m[0].length - 1;
    const args: string[] = [];
    let depth = 0;
    let current = '';
    let quote: string | undefined;
    let end = -1;
    for (let i = open; i < expr.length; i++) {
      const c = expr[i] as string;
      if (quote) {
        current += c;
        if (c === '\\') current += expr[++i] ?? '';
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      if (c === '(' || c === '[' || c === '{') depth++;
      if (c === ')' || c === ']' || c === '}') depth--;
      if (depth === 0) {
        end = i;
        args.push(current.trim());
        break;
      }
      if (depth === 1 && c === ',') {
        args.push(current.trim());
        current = '';
      } else if (i > open) current += c;
    }
    if (end < 0) throw new Error(`unbalanced parentheses after ${fn}( in: ${expr}`);
    out.push({ args, start: m.index ?? 0, end });
  }
  return out;
}

/** The metric name a `rate(` / `increase(` (etc.) call reads. */
function rangeArgumentMetric(arg: string): string | undefined {
  return /^([a-zA-Z_:][\w:]*)\s*(?:\{[^}]*\})?\s*\[/.exec(arg)?.[1];
}

const QUANTILE_GAUGE = /_p\d+(_|$)|quantile/;

// ---------------------------------------------------------------- the dashboard

describe('Grafana dashboard deploy/grafana/dashboards/sumstream.json', () => {
  const dashboard = loadDashboard();
  const panels = dashboardPanels(dashboard);
  const exprs = dashboardExpressions();

  it('is the SumStream dashboard with uid sumstream and a current schema', () => {
    expect(dashboard.title).toBe('SumStream');
    expect(dashboard.uid).toBe('sumstream');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
    expect(panels.length).toBeGreaterThan(10);
  });

  it('has unique integer panel ids and unique titles', () => {
    const ids = panels.map((p) => p.id);
    expect(
      ids.every((id) => Number.isInteger(id)),
      `ids: ${ids.join(', ')}`,
    ).toBe(true);
    const dupIds = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(dupIds, 'duplicate panel ids').toEqual([]);
    const titles = panels.map((p) => p.title);
    expect(
      titles.filter((t, i) => titles.indexOf(t) !== i),
      'duplicate panel titles',
    ).toEqual([]);
  });

  it('has only timeseries and stat panels that fit the 24-column grid', () => {
    for (const p of panels) {
      expect(['timeseries', 'stat'], `panel "${p.title}" type`).toContain(p.type);
      const g = p.gridPos;
      expect(g, `panel "${p.title}" gridPos`).toBeDefined();
      if (g)
        expect(
          g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24,
          `panel "${p.title}" gridPos ${JSON.stringify(g)}`,
        ).toBe(true);
    }
  });

  it('uses the provisioned Prometheus datasource (uid prometheus) on every panel and target', () => {
    for (const p of panels) {
      expect(p.datasource, `panel "${p.title}" datasource`).toEqual(DATASOURCE);
      for (const t of p.targets ?? [])
        if (t.datasource) expect(t.datasource, `panel "${p.title}" target ${t.refId}`).toEqual(DATASOURCE);
    }
  });

  it('gives every panel at least one target with an expression, with unique refIds', () => {
    for (const p of panels) {
      const targets = p.targets ?? [];
      expect(
        targets.some((t) => typeof t.expr === 'string' && t.expr.trim() !== ''),
        `panel "${p.title}" has no target with an expr`,
      ).toBe(true);
      const refIds = targets.map((t) => t.refId);
      expect(
        refIds.every((r) => typeof r === 'string' && r !== ''),
        `panel "${p.title}" refIds`,
      ).toBe(true);
      expect(new Set(refIds).size, `panel "${p.title}" duplicate refIds`).toBe(refIds.length);
    }
  });

  it('reads no summaries and never averages a quantile', () => {
    for (const { panel, expr } of exprs) {
      expect(/\bquantile\s*(=~|!~|!=|=)/.test(expr), `"${panel}": quantile= selects a summary: ${expr}`).toBe(false);
      expect(/(?<![\w:])quantile\s*\(/.test(expr), `"${panel}": quantile() over series: ${expr}`).toBe(false);
      if (/histogram_quantile/.test(expr) || QUANTILE_GAUGE.test(expr)) {
        expect(/\bavg(_over_time)?\b/.test(expr), `"${panel}": a quantile must not be averaged: ${expr}`).toBe(false);
      }
      for (const { metric } of selectors(expr)) {
        const known = catalogue.get(metric);
        expect(known?.type === 'summary', `"${panel}": ${metric} is a summary`).toBe(false);
      }
    }
  });

  it('computes every quantile as histogram_quantile(φ, sum by (le) (rate|increase(<histogram>_bucket[...]))), outermost', () => {
    const quantileExprs = exprs.filter((e) => e.expr.includes('histogram_quantile'));
    expect(quantileExprs.length).toBeGreaterThanOrEqual(18); // 6 stages × p50/p95/p99
    for (const { panel, expr } of quantileExprs) {
      const found = calls(expr, 'histogram_quantile');
      expect(found.length, `"${panel}": one histogram_quantile per expression: ${expr}`).toBe(1);
      const [call] = found;
      if (!call) continue;
      expect(
        call.start === 0 && call.end === expr.trim().length - 1,
        `"${panel}": histogram_quantile must be the outermost call (nothing aggregates a quantile): ${expr}`,
      ).toBe(true);
      expect(call.args.length, `"${panel}": ${expr}`).toBe(2);
      const [phi, inner] = call.args as [string, string];
      expect(Number(phi) > 0 && Number(phi) < 1, `"${panel}": φ=${phi}`).toBe(true);
      const sumBy = /^sum\s+by\s*\(\s*([^)]*)\)\s*\(([\s\S]*)\)$/.exec(inner);
      expect(sumBy, `"${panel}": the histogram must be summed by (le...): ${inner}`).not.toBeNull();
      if (!sumBy) continue;
      const byLabels = (sumBy[1] ?? '').split(',').map((s) => s.trim());
      expect(byLabels[0], `"${panel}": sum by (le, ...) — le first: ${inner}`).toBe('le');
      const body = (sumBy[2] ?? '').trim();
      const rate = /^(rate|increase)\s*\(/.exec(body);
      expect(rate, `"${panel}": sum over rate() or increase(): ${body}`).not.toBeNull();
      const [rateCall] = calls(body, rate?.[1] ?? 'rate');
      expect(rateCall?.end, `"${panel}": nothing but the rate() inside sum(): ${body}`).toBe(body.length - 1);
      const series = rangeArgumentMetric(rateCall?.args[0] ?? '');
      expect(series?.endsWith('_bucket'), `"${panel}": rate() over a _bucket series: ${body}`).toBe(true);
      expect(catalogue.get(series ?? '')?.type, `"${panel}": ${series} is a histogram SumStream exports`).toBe(
        'histogram',
      );
    }
  });

  it('uses $__rate_interval in every rate() and increase()', () => {
    for (const { panel, expr } of exprs) {
      for (const fn of ['rate', 'increase', 'irate', 'deriv', 'delta']) {
        for (const { args } of calls(expr, fn)) {
          expect(
            /\[\s*\$__rate_interval\s*\]\s*$/.test(args[0] ?? ''),
            `"${panel}": ${fn}(${args[0]}) must use [$__rate_interval]`,
          ).toBe(true);
        }
      }
    }
  });

  it('names only sumstream_ metrics that exist in METRIC (with _bucket/_sum/_count)', () => {
    const names = new Set<string>(Object.values(METRIC));
    const unknown: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const name of expr.match(/\bsumstream_[a-z0-9_]+/g) ?? []) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (!names.has(name) && !names.has(base)) unknown.push(`"${panel}": ${name}`);
      }
    }
    expect(unknown, 'metric names not in src/shared/metrics/metricNames.ts').toEqual([]);
  });

  it('reads only series the processes or the listed exporters expose, by labels they carry', () => {
    const problems: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const { metric, matcherLabels } of selectors(expr)) {
        const known = catalogue.get(metric);
        if (!known) {
          if (!EXTERNAL_SERIES.has(metric)) problems.push(`"${panel}": unknown series ${metric}`);
          continue;
        }
        for (const label of matcherLabels)
          if (!known.labels.has(label)) problems.push(`"${panel}": ${metric} has no label ${label}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('applies rate() and increase() to counters and histogram series only', () => {
    const problems: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const fn of ['rate', 'increase', 'irate']) {
        for (const { args } of calls(expr, fn)) {
          const metric = rangeArgumentMetric(args[0] ?? '');
          const known = catalogue.get(metric ?? '');
          const ok = known && (known.type === 'counter' || (known.type === 'histogram' && metric !== known.metric));
          if (!ok)
            problems.push(
              `"${panel}": ${fn}(${args[0]}) — ${known ? `${metric} is a ${known.type}` : 'not a known counter'}`,
            );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('shows every metric SumStream exports', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    const missing = Object.values(METRIC).filter(
      (name) => !new RegExp(`\\b${name}(_bucket|_sum|_count)?\\b`).test(all),
    );
    expect(missing, 'metrics with no panel').toEqual([]);
  });

  it('has the panels the runbook refers to', () => {
    const titles = panels.map((p) => p.title);
    // Named in alerts.yml annotations.
    expect(titles).toContain('gRPC non-OK responses by code');
    // Per-stage latency, each as p50/p95/p99.
    for (const title of [
      'gRPC Add latency',
      'Add transaction (ledger + outbox)',
      'Relay publish to broker confirm',
      'Apply transaction',
      'Queue time (publish to consume)',
      'End-to-end latency (Add commit to sum applied)',
    ]) {
      const panel = panels.find((p) => p.title === title);
      expect(panel, title).toBeDefined();
      expect(
        panel?.targets?.map((t) => t.legendFormat),
        title,
      ).toEqual(['p50', 'p95', 'p99']);
    }
  });

  it('exposes expressions ready for Prometheus once Grafana variables are substituted', () => {
    for (const { panel, expr } of exprs) {
      const concrete = withGrafanaVariables(expr);
      expect(concrete.includes('$'), `"${panel}": unsubstituted variable in ${concrete}`).toBe(false);
    }
  });
});

// ---------------------------------------------------------------- provisioning

describe('Grafana provisioning (deploy/grafana/provisioning)', () => {
  it('provisions the Prometheus datasource the dashboard refers to, URL from PROMETHEUS_URL', () => {
    const doc = parse(readFileSync(DATASOURCE_FILE, 'utf8')) as {
      apiVersion: number;
      datasources: Record<string, unknown>[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.datasources).toHaveLength(1);
    expect(doc.datasources[0]).toMatchObject({
      name: 'Prometheus',
      uid: 'prometheus',
      type: 'prometheus',
      access: 'proxy',
      url: '${PROMETHEUS_URL}',
    });
  });

  it('loads dashboards from the folder the README says to mount deploy/grafana/dashboards at', () => {
    const doc = parse(readFileSync(DASHBOARD_PROVIDER_FILE, 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.providers).toHaveLength(1);
    expect(doc.providers[0]?.type).toBe('file');
    expect(doc.providers[0]?.options.path).toBe(DASHBOARD_MOUNT);
    const readme = readFileSync(path.join(GRAFANA_DIR, 'README.md'), 'utf8');
    expect(readme).toContain(`deploy/grafana/dashboards:${DASHBOARD_MOUNT}`);
    expect(readme).toContain('deploy/grafana/provisioning:/etc/grafana/provisioning');
    expect(readme).toContain('PROMETHEUS_URL');
  });

  it('keeps only dashboard JSON files in deploy/grafana/dashboards, each with a unique uid', () => {
    const dir = path.dirname(DASHBOARD_FILE);
    expect(existsSync(dir)).toBe(true);
    const files = readdirSync(dir);
    expect(files).toContain('sumstream.json');
    const uids = files.map((f) => {
      expect(f.endsWith('.json'), `${f} in ${dir}`).toBe(true);
      return (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { uid?: string }).uid;
    });
    expect(new Set(uids).size).toBe(uids.length);
  });
});

// ---------------------------------------------------------------- alerts (metric names; promtool checks the rest)

describe('alert expressions (deploy/prometheus/alerts.yml)', () => {
  it('name only metrics SumStream or the listed exporters expose, by labels they carry', () => {
    const alerts = alertExpressions();
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    const names = new Set<string>(Object.values(METRIC));
    const problems: string[] = [];
    for (const { alert, expr } of alerts) {
      for (const name of expr.match(/\bsumstream_[a-z0-9_]+/g) ?? []) {
        if (!names.has(name) && !names.has(name.replace(/_(bucket|sum|count)$/, '')))
          problems.push(`${alert}: ${name} not in METRIC`);
      }
      for (const { metric, matcherLabels } of selectors(expr)) {
        const known = catalogue.get(metric);
        if (!known) {
          if (!EXTERNAL_SERIES.has(metric)) problems.push(`${alert}: unknown series ${metric}`);
          continue;
        }
        for (const label of matcherLabels)
          if (!known.labels.has(label)) problems.push(`${alert}: ${metric} has no label ${label}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
