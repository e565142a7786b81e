import { describe, expect, it } from 'vitest';
import { planFaults } from '../faults.js';
import { CLUSTER_FAULT_KINDS, CLUSTER_FAULT_WEIGHTS } from './clusterFaults.js';
import { formatClusterChaosReport } from './formatClusterReport.js';
import { runClusterChaos } from './runClusterChaos.js';

/**
 * The short seeded cluster chaos run of `npm test`: the whole cluster in network namespaces (needs
 * root, as `npm run cluster` does), 20 clients through HAProxy, 12 faults, one of each kind:
 * broker node and leader kills, real partitions, replica and relay kills, rolling restarts.
 * `npm run chaos -- --cluster` is the long version (100 faults by default).
 */
const SHORT_RUN = {
  seed: 7,
  faults: CLUSTER_FAULT_KINDS.length,
  clients: 20,
  intervalMs: [300, 800] as const,
  downMs: [0, 1500] as const,
  holdMs: [12_000, 14_000] as const,
  warmupMs: 2000,
};

describe('cluster chaos (short seeded run)', () => {
  it('schedules each cluster fault kind once, the same way for the same seed', () => {
    const plan = () =>
      planFaults({
        seed: SHORT_RUN.seed,
        count: SHORT_RUN.faults,
        kinds: CLUSTER_FAULT_KINDS,
        weights: CLUSTER_FAULT_WEIGHTS,
        intervalMs: SHORT_RUN.intervalMs,
        downMs: SHORT_RUN.downMs,
      });
    expect(
      plan()
        .map((f) => f.kind)
        .sort(),
    ).toEqual([...CLUSTER_FAULT_KINDS].sort());
    expect(plan()).toEqual(plan());
  });

  it('loses nothing and counts nothing twice through broker kills, partitions, failovers and rolling restarts', async () => {
    const lines: string[] = [];
    const report = await runClusterChaos({ ...SHORT_RUN, log: (line) => lines.push(line) });
    const summary = formatClusterChaosReport(report);
    console.info(summary);
    const context = `${summary}\n\n${lines.join('\n')}`;
    expect(report.violations, context).toEqual([]);
    expect(report.faults, context).toHaveLength(SHORT_RUN.faults);
    for (const kind of CLUSTER_FAULT_KINDS) expect(report.faultsByKind[kind], `${kind}\n${context}`).toBe(1);
    expect(report.verdict?.lost).toBe(0);
    expect(report.verdict?.doubleCounted).toBe(0);
    expect(report.load.acknowledged).toBeGreaterThan(1000);
    // Every relay fault ended with the standby leading the slot.
    for (const f of report.faults.filter((f) => /relay/.test(f.kind))) expect(f.takeoverMs, context).toBeDefined();
    expect(report.ok).toBe(true);
  }, 900_000);
});
