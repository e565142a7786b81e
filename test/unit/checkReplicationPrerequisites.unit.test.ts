import { describe, expect, it } from 'vitest';
import {
  checkReplicationPrerequisites,
  replicationRoleProblem,
  slotWalLimitProblem,
  walLevelProblem,
} from '../../src/shared/db/checkReplicationPrerequisites.js';

/** The check reads one row; a server answering with these settings. */
const server = (row: {
  wal_level: string;
  role: string;
  can_replicate: boolean;
  max_slot_wal_keep_size_mb?: number | null;
}) => ({ query: async () => ({ rows: [row] }) }) as never;

describe('checkReplicationPrerequisites', () => {
  it("refuses wal_level 'replica' with the fix", async () => {
    await expect(
      checkReplicationPrerequisites(server({ wal_level: 'replica', role: 'sumstream', can_replicate: true })),
    ).rejects.toThrow(
      /wal_level is 'replica'; CDC needs 'logical'\. Run ALTER SYSTEM SET wal_level = logical;.*restart PostgreSQL/,
    );
  });

  it('passes an unbounded slot (max_slot_wal_keep_size -1) with a warning, and a bounded one without', async () => {
    const warnings: string[] = [];
    const warn = ({ problem }: { problem: string }) => warnings.push(problem);
    const unbounded = { wal_level: 'logical', role: 'sumstream', can_replicate: true, max_slot_wal_keep_size_mb: -1 };
    await expect(checkReplicationPrerequisites(server(unbounded), warn)).resolves.toBeUndefined();
    expect(warnings).toEqual([
      'PostgreSQL max_slot_wal_keep_size is -1 (unlimited): a replication slot whose consumer stops keeps WAL until the disk is full.',
    ]);
    await checkReplicationPrerequisites(server({ ...unbounded, max_slot_wal_keep_size_mb: 4096 }), warn);
    await checkReplicationPrerequisites(server({ ...unbounded, max_slot_wal_keep_size_mb: null }), warn);
    expect(warnings).toHaveLength(1);
    expect(slotWalLimitProblem(0)).toBeUndefined();
  });

  it('passes a logical server and a replication role', async () => {
    await expect(
      checkReplicationPrerequisites(server({ wal_level: 'logical', role: 'sumstream', can_replicate: true })),
    ).resolves.toBeUndefined();
  });
});

describe('the prerequisite problems, one by one', () => {
  it('name the role without REPLICATION and the statement that grants it', async () => {
    await expect(
      checkReplicationPrerequisites(server({ wal_level: 'logical', role: 'relay', can_replicate: false })),
    ).rejects.toThrow(
      `Role 'relay' lacks the REPLICATION attribute CDC needs. Run ALTER ROLE "relay" REPLICATION; as a superuser, or connect as a role that has it.`,
    );
    expect(replicationRoleProblem({ role: 'relay', canReplicate: true })).toBeUndefined();
  });

  it('split what is wrong from the fix, for tools that show them apart', () => {
    expect(walLevelProblem('logical')).toBeUndefined();
    expect(walLevelProblem('minimal')).toEqual({
      problem: "PostgreSQL wal_level is 'minimal'; CDC needs 'logical'.",
      fix: 'Run ALTER SYSTEM SET wal_level = logical; (or set wal_level = logical in postgresql.conf) and restart PostgreSQL.',
    });
  });
});
