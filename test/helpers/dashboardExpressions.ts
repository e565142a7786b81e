/**
 * The PromQL SumStream ships: every Grafana panel target in deploy/grafana/dashboards/sumstream.json
 * and every alerting rule in deploy/prometheus/alerts.yml. Used by the static checks
 * (test/unit/dashboard.unit.test.ts, test/int/promtool.int.test.ts) and by tests that run each
 * expression against a live Prometheus (substitute Grafana's variables first: withGrafanaVariables()).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DASHBOARD_FILE = path.join(REPO_ROOT, 'deploy', 'grafana', 'dashboards', 'sumstream.json');
export const ALERTS_FILE = path.join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.yml');
export const ALERTS_TEST_FILE = path.join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.test.yml');

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: DashboardTarget[];
  /** Panels inside a collapsed row. */
  panels?: DashboardPanel[];
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: DashboardPanel[];
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

/** The dashboard JSON, parsed (throws with the file name on invalid JSON). */
export function loadDashboard(): Dashboard {
  const text = readFileSync(DASHBOARD_FILE, 'utf8');
  try {
    return JSON.parse(text) as Dashboard;
  } catch (error) {
    throw new Error(`${DASHBOARD_FILE} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** Every panel, including those nested in collapsed rows, in file order. */
export function dashboardPanels(dashboard: Dashboard = loadDashboard()): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  const walk = (panels: DashboardPanel[] | undefined) => {
    for (const panel of panels ?? []) {
      out.push(panel);
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** One entry per panel target with an expression: the panel's title and the raw expression (Grafana variables not substituted). */
export function dashboardExpressions(): { panel: string; expr: string }[] {
  return dashboardPanels().flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t): t is DashboardTarget & { expr: string } => typeof t.expr === 'string' && t.expr.trim() !== '')
      .map((t) => ({ panel: panel.title ?? `panel ${panel.id ?? '?'}`, expr: t.expr })),
  );
}

/** The rule groups of alerts.yml. */
export function loadRuleGroups(): RuleGroup[] {
  const doc = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups?: RuleGroup[] } | null;
  if (!doc || !Array.isArray(doc.groups)) throw new Error(`${ALERTS_FILE} has no top-level "groups" list`);
  return doc.groups;
}

/** One entry per alerting rule (recording rules excluded): its name and its expression, trimmed. */
export function alertExpressions(): { alert: string; expr: string }[] {
  return loadRuleGroups().flatMap((group) =>
    (group.rules ?? [])
      .filter((r) => typeof r.alert === 'string')
      .map((r) => ({ alert: r.alert as string, expr: String(r.expr).trim() })),
  );
}

/**
 * Replaces Grafana's built-in interval variables so an expression can be sent to Prometheus as is:
 * $__rate_interval, $__interval, $__range (and their ${...} forms) become `window` (default 1m).
 */
export function withGrafanaVariables(expr: string, window = '1m'): string {
  return expr.replace(/\$\{?__(rate_interval|interval|range)\}?/g, window);
}
