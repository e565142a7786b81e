import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, planFaults } from './faults.js';
import { formatChaosReport } from './formatReport.js';
import { runChaos } from './runChaos.js';

/**
 * The short seeded chaos run of `npm test`: its own PostgreSQL and RabbitMQ (not the global setup's,
 * which it must be free to restart), 20 clients, 12 faults covering every kind. `npm run chaos` is the
 * long version (200 faults by default).
 */
const SHORT_RUN = {
  seed: 1,
  faults: 12,
  clients: 20,
  intervalMs: [300, 800] as const,
  downMs: [0, 800] as const,
  warmupMs: 1500,
};

describe('chaos (short seeded run)', () => {
  it('schedules every fault kind, and a RabbitMQ restart only once (it takes ~15 s)', () => {
    const plan = planFaults({
      seed: SHORT_RUN.seed,
      count: SHORT_RUN.faults,
      kinds: FAULT_KINDS,
      intervalMs: SHORT_RUN.intervalMs,
      downMs: SHORT_RUN.downMs,
    });
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    expect(plan.filter((f) => f.kind === 'restart-rabbitmq')).toHaveLength(1);
    // Same seed, same schedule.
    expect(
      planFaults({
        seed: SHORT_RUN.seed,
        count: SHORT_RUN.faults,
        kinds: FAULT_KINDS,
        intervalMs: SHORT_RUN.intervalMs,
        downMs: SHORT_RUN.downMs,
      }),
    ).toEqual(plan);
  });

  it('loses nothing and counts nothing twice through kills, server restarts and dropped connections', async () => {
    const lines: string[] = [];
    const report = await runChaos({ ...SHORT_RUN, log: (line) => lines.push(line) });
    const summary = formatChaosReport(report);
    console.info(summary);
    const context = `${summary}\n\n${lines.join('\n')}`;
    expect(report.violations, context).toEqual([]);
    expect(report.faultsInjected, context).toBe(SHORT_RUN.faults);
    for (const kind of FAULT_KINDS) expect(report.faultsByKind[kind], `${kind}\n${context}`).toBeGreaterThanOrEqual(1);
    expect(report.verdict?.lost).toBe(0);
    expect(report.verdict?.doubleCounted).toBe(0);
    expect(report.load.acknowledged).toBeGreaterThan(500);
    expect(report.drainMs).toBeLessThanOrEqual(30_000);
    expect(report.ok).toBe(true);
  }, 300_000);
});
