import { describe, expect, it } from 'vitest';
import { decodeOutboxInsert } from '../../src/cdc-relay/decodeOutboxInsert.js';

const table = { schema: 'public', name: 'outbox' };
const row = {
  id: 'e1',
  aggregatetype: 'addition',
  aggregateid: 'e1',
  type: 'AdditionAccepted',
  payload: { id: 'e1', amount: '5' },
};

describe('decodeOutboxInsert', () => {
  it('turns an outbox insert into the event to publish', () => {
    expect(decodeOutboxInsert({ tag: 'insert', relation: table, new: row }, table)).toEqual({
      id: 'e1',
      type: 'AdditionAccepted',
      aggregateType: 'addition',
      aggregateId: 'e1',
      body: '{"id":"e1","amount":"5"}',
    });
  });

  it('ignores other tables', () => {
    expect(
      decodeOutboxInsert({ tag: 'insert', relation: { schema: 'public', name: 'additions' }, new: row }, table),
    ).toBeUndefined();
  });

  it('says which column is missing', () => {
    expect(() => decodeOutboxInsert({ tag: 'insert', relation: table, new: { ...row, type: null } }, table)).toThrow(
      /lacks column type/,
    );
  });
});
