import { describe, expect, it } from 'vitest';
import { commitMayHaveHappened } from '../../src/add-service/additionWriter.js';

describe('commitMayHaveHappened (what the add-service may tell a client whose Add failed)', () => {
  it('is true when the session ended while the statement ran: its commit may be local, or already on the standby', () => {
    // A fast shutdown (switchover) ends sessions waiting for the synchronous standby after their local commit.
    expect(
      commitMayHaveHappened(
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      ),
    ).toBe(true);
    expect(commitMayHaveHappened(Object.assign(new Error('crash shutdown'), { code: '57P02' }))).toBe(true);
    expect(commitMayHaveHappened(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
    expect(commitMayHaveHappened(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(commitMayHaveHappened(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('is false when the statement was refused or never reached a server', () => {
    expect(
      commitMayHaveHappened(Object.assign(new Error('the database system is shutting down'), { code: '57P03' })),
    ).toBe(false);
    expect(commitMayHaveHappened(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      false,
    );
    expect(commitMayHaveHappened(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(commitMayHaveHappened(undefined)).toBe(false);
  });
});
