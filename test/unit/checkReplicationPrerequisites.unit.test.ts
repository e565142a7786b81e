import { describe, expect, it } from 'vitest';
import {
  checkReplicationPrerequisites,
  replicationRoleProblem,
  walLevelProblem,
} from '../../src/shared/db/checkReplicationPrerequisites.js';

/** The check reads one row; a server answering with these settings. */
const server = (row: { wal_level: string; role: string; can_replicate: boolean }) =>
  ({ query: async () => ({ rows: [row] }) }) as never;

describe('checkReplicationPrerequisites', () => {
  it("refuses wal_level 'replica' with the fix", async () => {
    await expect(
      checkReplicationPrerequisites(server({ wal_level: 'replica', role: 'sumstream', can_replicate: true })),
    ).rejects.toThrow(
      /wal_level is 'replica'; CDC needs 'logical'\. Run ALTER SYSTEM SET wal_level = logical;.*restart PostgreSQL/,
    );
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
