/**
 * Writes the knob tables of docs/configuration.md from the knob definitions in the code
 * (`npm run docs:config`); with --check it only says whether the file is up to date (exit 1 if not).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ADD_SERVICE_KNOBS } from '../src/add-service/addServiceConfig.js';
import { RELAY_KNOBS } from '../src/cdc-relay/relayConfig.js';
import { CLI_KNOBS } from '../src/cli/cliConfig.js';
import { DEV_STACK_KNOBS } from '../src/dev-stack/index.js';
import { PROCESS_KNOBS, STORE_KNOBS, TOPOLOGY_KNOBS } from '../src/shared/config/commonConfig.js';
import type { KnobGroup } from '../src/shared/config/knob.js';
import { REPLICATION_KNOBS } from '../src/shared/config/replicationConfig.js';
import { renderKnobTables, replaceKnobTables } from '../src/shared/config/renderKnobTables.js';
import { SUM_SERVICE_KNOBS } from '../src/sum-service/sumServiceConfig.js';
import { LIVE_SUM_KNOBS } from '../src/sum-view/liveSumConfig.js';

export const CONFIG_DOC = 'docs/configuration.md';

export const KNOB_GROUPS: KnobGroup[] = [
  {
    title: 'Shared by every process',
    knobs: [...Object.values(STORE_KNOBS), ...Object.values(TOPOLOGY_KNOBS), ...Object.values(PROCESS_KNOBS)],
  },
  { title: 'add-service', knobs: Object.values(ADD_SERVICE_KNOBS) },
  { title: 'cdc-relay', knobs: [...Object.values(REPLICATION_KNOBS), ...Object.values(RELAY_KNOBS)] },
  { title: 'sum-service', knobs: Object.values(SUM_SERVICE_KNOBS) },
  { title: 'Live sum and read-your-writes (add-service and sum-service)', knobs: Object.values(LIVE_SUM_KNOBS) },
  { title: '`npm start` (the dev stack)', knobs: Object.values(DEV_STACK_KNOBS) },
  {
    title: '`sumstream` (the CLI; it also reads the ports, stores and topology above)',
    knobs: Object.values(CLI_KNOBS),
  },
];

/** docs/configuration.md as it should be. */
export function configDoc(current: string): string {
  return replaceKnobTables(current, renderKnobTables(KNOB_GROUPS));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const current = readFileSync(CONFIG_DOC, 'utf8');
  const wanted = configDoc(current);
  if (process.argv.includes('--check')) {
    if (wanted !== current) {
      console.error(`${CONFIG_DOC} is out of date with the knobs in the code: run npm run docs:config`);
      process.exit(1);
    }
  } else if (wanted !== current) {
    writeFileSync(CONFIG_DOC, wanted);
    console.log(`${CONFIG_DOC} updated`);
  }
}
