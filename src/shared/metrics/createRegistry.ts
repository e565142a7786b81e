import { collectDefaultMetrics, Registry } from 'prom-client';
import { LABEL } from './metricNames.js';

/** A registry whose every series carries `service=<name>`, with the default process metrics. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ [LABEL.service]: service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
