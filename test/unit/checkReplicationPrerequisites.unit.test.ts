import { describe, expect, it } from 'vitest';
import { checkReplicationPrerequisites } from '../../src/shared/db/checkReplicationPrerequisites.js';

/** The check reads one row; a server answering with these settings. */
const server = (row: { wal_level: string; role: string; can_replicate: boolean }) => ({ query: async () => ({ rows: [row] }) }) as never;

describe('checkReplicationPrerequisites', () => {
  it("refuses wal_level 'replica' with the fix", async () => {
    await expect(checkReplicationPrerequisites(server({ wal_level: 'replica', role: 'sumstream', can_replicate: true }))).rejects.toThrow(
      /wal_level is 'replica'; CDC needs 'logical'\. Run ALTER SYSTEM SET wal_level = logical;.*restart PostgreSQL/,
    );
  });

  it('passes a logical server and a replication role', async () => {
    await expect(checkReplicationPrerequisites(server({ wal_level: 'logical', role: 'sumstream', can_replicate: true }))).resolves.toBeUndefined();
  });
});
