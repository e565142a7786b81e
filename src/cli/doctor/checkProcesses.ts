import { METRIC } from '../../shared/metrics/metricNames.js';
import { connectionErrorReason } from '../connectionErrorReason.js';
import { endpointUrl, problemDetail } from '../fetchSum.js';
import type { CheckResult } from './doctorReport.js';

export interface ProcessEndpoint {
  name: 'add-service' | 'cdc-relay' | 'sum-service';
  /** Base URL of its /healthz and /readyz. */
  baseUrl: string;
  /** The knob that sets its port, for the fix. */
  portKnob: string;
}

/**
 * The three processes' probes: /healthz (alive) and /readyz (its dependencies answer). A process
 * that does not answer is a WARN (maybe it is not meant to run here); one that answers but is not
 * ready is a FAIL. The relay also says whether it leads or stands by.
 */
export async function checkProcesses(endpoints: ProcessEndpoint[], timeoutMs = 3_000): Promise<CheckResult[]> {
  return Promise.all(endpoints.map((endpoint) => checkProcess(endpoint, timeoutMs)));
}

async function checkProcess(endpoint: ProcessEndpoint, timeoutMs: number): Promise<CheckResult> {
  const base = { group: 'Processes' as const, name: endpoint.name };
  const get = (path: string) => fetch(endpointUrl(endpoint.baseUrl, path), { signal: AbortSignal.timeout(timeoutMs) });
  let health: Response;
  try {
    health = await get('healthz');
    await health.body?.cancel();
  } catch (error) {
    return {
      ...base,
      status: 'WARN',
      detail: `${endpoint.baseUrl}: not running (${connectionErrorReason(error)})`,
      fix: `Start it with \`npx sumstream up\`; if it runs on another port, set ${endpoint.portKnob}.`,
      data: { url: endpoint.baseUrl, running: false },
    };
  }
  if (health.status !== 200) {
    return {
      ...base,
      status: 'FAIL',
      detail: `${endpoint.baseUrl}/healthz answered ${health.status}: something else listens there`,
      fix: `Stop what listens on that port, or set ${endpoint.portKnob} to ${endpoint.name}'s port.`,
      data: { url: endpoint.baseUrl, running: false, healthStatus: health.status },
    };
  }
  const ready = await get('readyz').catch((error: unknown) => error as Error);
  if (ready instanceof Error || ready.status !== 200) {
    const why = ready instanceof Error ? connectionErrorReason(ready) : problemDetail(await ready.text());
    return {
      ...base,
      status: 'FAIL',
      detail: `${endpoint.baseUrl}: alive but not ready: ${why}`,
      fix: `Read ${endpoint.name}'s log (its lines in \`npx sumstream up\`); the checks above show which dependency is missing.`,
      data: { url: endpoint.baseUrl, running: true, ready: false },
    };
  }
  await ready.body?.cancel();
  let role = '';
  if (endpoint.name === 'cdc-relay') {
    const metrics = await get('metrics').then(
      (r) => r.text(),
      () => '',
    );
    const active = new RegExp(`^${METRIC.relayActive}(?:\\{[^}]*\\})? (\\d)`, 'm').exec(metrics)?.[1];
    if (active !== undefined)
      role = active === '1' ? ', leader (streaming the slot)' : ', standby (another relay leads)';
  }
  return {
    ...base,
    status: 'OK',
    detail: `${endpoint.baseUrl}: alive, ready${role}`,
    data: { url: endpoint.baseUrl, running: true, ready: true },
  };
}
