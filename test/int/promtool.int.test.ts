/**
 * The Prometheus side of observability, checked with the real promtool (Debian package
 * `prometheus`): alerting rules are valid and pass their unit tests (deploy/prometheus/alerts.test.yml),
 * the Prometheus config is valid, and every dashboard expression parses.
 * No server is started; PROMTOOL=/path/to/promtool overrides the lookup on PATH.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../../src/dev-stack/index.js';
import {
  ALERTS_FILE,
  ALERTS_TEST_FILE,
  alertExpressions,
  dashboardExpressions,
  loadRuleGroups,
  REPO_ROOT,
  withGrafanaVariables,
} from '../helpers/dashboardExpressions.js';

const PROMETHEUS_CONFIG = path.join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml');
const INSTALL_HINT =
  'promtool not found (looked at $PROMTOOL, else on PATH and /usr/bin). Install it: `apt-get install -y --no-install-recommends prometheus` ' +
  '(the Debian package ships /usr/bin/promtool), or set PROMTOOL=/path/to/promtool.';

function findPromtool(): string | undefined {
  const explicit = process.env.PROMTOOL;
  const candidates = explicit
    ? [explicit]
    : [
        ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => dir && path.join(dir, 'promtool')),
        '/usr/bin/promtool',
      ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there; try the next
    }
  }
  return undefined;
}

/** Runs promtool from the repository root; returns the exit code and everything it printed. */
async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  const bin = findPromtool();
  if (!bin) throw new Error(INSTALL_HINT);
  const { code, stdout, stderr } = await run(bin, args, { cwd: REPO_ROOT, timeoutMs: 60_000 });
  return { code, output: `$ promtool ${args.join(' ')}\n${stdout}${stderr}`.trim() };
}

const rel = (file: string) => path.relative(REPO_ROOT, file);

describe('promtool', () => {
  it('is installed', () => {
    expect(findPromtool(), INSTALL_HINT).toBeDefined();
  });

  it('accepts deploy/prometheus/alerts.yml (promtool check rules)', async () => {
    const { code, output } = await promtool(['check', 'rules', rel(ALERTS_FILE)]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes the alert unit tests (promtool test rules deploy/prometheus/alerts.test.yml)', async () => {
    const { code, output } = await promtool(['test', 'rules', rel(ALERTS_TEST_FILE)]);
    expect(code, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it.skipIf(!existsSync(PROMETHEUS_CONFIG))(
    'accepts deploy/prometheus/prometheus.yml and the rule files it loads (promtool check config)',
    async () => {
      const { code, output } = await promtool(['check', 'config', rel(PROMETHEUS_CONFIG)]);
      expect(code, output).toBe(0);
    },
  );

  describe('every dashboard expression parses', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'sumstream-dashboard-rules-'));
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('as recording rules, with $__rate_interval = 1m (promtool check rules)', async () => {
      const exprs = dashboardExpressions();
      expect(exprs.length).toBeGreaterThan(0);
      // One rule per expression, named after its position, so promtool's error names the panel.
      const rules = exprs.map(({ expr }, i) => ({
        record: `sumstream_dashboard:expr_${i}`,
        expr: withGrafanaVariables(expr, '1m'),
      }));
      const file = path.join(dir, 'dashboard-expressions.rules.yml');
      await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { code, output } = await promtool(['check', 'rules', file]);
      const legend = exprs.map(({ panel, expr }, i) => `  expr_${i}: [${panel}] ${expr}`).join('\n');
      expect(code, `${output}\n\nexpressions:\n${legend}`).toBe(0);
    });
  });
});

interface AlertTestFile {
  rule_files?: string[];
  tests?: {
    name?: string;
    alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] | null }[];
  }[];
}

describe('deploy/prometheus/alerts.yml conventions', () => {
  const alerts = alertExpressions();
  const rules = loadRuleGroups().flatMap((g) => g.rules);
  const testFile = parse(readFileSync(ALERTS_TEST_FILE, 'utf8')) as AlertTestFile;
  const cases = (testFile.tests ?? []).flatMap((t) =>
    (t.alert_rule_test ?? []).map((c) => ({ ...c, group: t.name ?? '?' })),
  );

  it('has unique alert names', () => {
    const names = alerts.map((a) => a.alert);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('gives every alert a severity and summary/description annotations', () => {
    for (const rule of rules.filter((r) => r.alert)) {
      expect(['critical', 'warning'], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.trim(), `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.description?.trim(), `${rule.alert} description`).toBeTruthy();
    }
  });

  it('is what alerts.test.yml loads', () => {
    expect(testFile.rule_files).toEqual([path.basename(ALERTS_FILE)]);
  });

  it('has a firing and a non-firing unit test for every alert', () => {
    const missing: string[] = [];
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      if (!mine.some((c) => (c.exp_alerts ?? []).length > 0))
        missing.push(`${alert}: no firing case (exp_alerts with an alert)`);
      if (!mine.some((c) => (c.exp_alerts ?? []).length === 0))
        missing.push(`${alert}: no non-firing case (exp_alerts: [])`);
    }
    expect(missing).toEqual([]);
  });

  it('tests only alerts that exist (an unknown alertname with exp_alerts: [] would pass silently)', () => {
    const names = new Set(alerts.map((a) => a.alert));
    const unknown = cases
      .filter((c) => !names.has(c.alertname))
      .map((c) => `"${c.group}" @${c.eval_time}: ${c.alertname}`);
    expect(unknown).toEqual([]);
  });
});
