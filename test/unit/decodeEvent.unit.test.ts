import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/sum-service/decodeEvent.js';

const ID = '6f1d2c5e-8a4b-4c3d-9e2f-1a2b3c4d5e6f';
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const payload = { id: ID, a: '2', b: '3', amount: '5', acceptedAt: '2026-01-01T00:00:00.000Z' };

describe('decodeEvent', () => {
  it('decodes the relay payload with its message id', () => {
    const decoded = decodeEvent(json(payload), { messageId: ID, type: 'AdditionAccepted', headers: { id: ID } });
    expect(decoded).toEqual({
      kind: 'apply',
      event: {
        eventId: ID,
        amount: 5n,
        acceptedAtMs: Date.parse(payload.acceptedAt),
        positionMs: Date.parse(payload.acceptedAt),
      },
    });
  });

  it('keeps amounts beyond 2^53 exact', () => {
    const decoded = decodeEvent(json({ ...payload, amount: '9223372036854775807' }));
    expect(decoded.kind === 'apply' && decoded.event.amount).toBe(9223372036854775807n);
  });

  it('takes the id from message_id or the id header when the body has none', () => {
    const { id: _omit, ...noId } = payload;
    expect(decodeEvent(json(noId), { messageId: ID })).toMatchObject({ kind: 'apply', event: { eventId: ID } });
    expect(decodeEvent(json(noId), { headers: { id: ID } })).toMatchObject({ kind: 'apply', event: { eventId: ID } });
  });

  it('accepts a payload delivered as a JSON string (Debezium outbox router without expansion)', () => {
    expect(decodeEvent(json(JSON.stringify(payload)), { headers: { id: ID } })).toMatchObject({
      kind: 'apply',
      event: { eventId: ID, amount: 5n },
    });
  });

  it("accepts Debezium's raw envelope of our outbox, with and without schemas", () => {
    const after = {
      id: ID,
      aggregatetype: 'addition',
      aggregateid: ID,
      type: 'AdditionAccepted',
      payload: JSON.stringify(payload),
    };
    expect(decodeEvent(json({ before: null, after, op: 'c' }))).toMatchObject({
      kind: 'apply',
      event: { eventId: ID, amount: 5n },
    });
    expect(decodeEvent(json({ schema: {}, payload: { before: null, after, op: 'r' } }))).toMatchObject({
      kind: 'apply',
      event: { eventId: ID },
    });
  });

  it("accepts the original's envelope (outbox.msg), keyed by its row id, ops c and r", () => {
    const envelope = {
      schema: {},
      payload: { before: null, after: { id: 42, msg: 7 }, op: 'r', ts_ms: 1_700_000_000_000 },
    };
    expect(decodeEvent(json(envelope))).toEqual({
      kind: 'apply',
      event: { eventId: 'original-outbox:42', amount: 7n, acceptedAtMs: 1_700_000_000_000 },
    });
    // ts_ms is when Debezium read the row, different in a re-snapshot: no stable position, so never pruned.
    const decoded = decodeEvent(json(envelope));
    expect(decoded.kind === 'apply' && decoded.event.positionMs).toBeUndefined();
  });

  it('ignores tombstones and update/delete change events', () => {
    expect(decodeEvent(Buffer.alloc(0)).kind).toBe('ignore');
    expect(decodeEvent(json({ before: { id: 1, msg: 1 }, after: null, op: 'd' })).kind).toBe('ignore');
  });

  it.each([
    ['not json', Buffer.from('{oops'), {}, 'malformed_json'],
    ['an array', json([1, 2]), {}, 'invalid_shape'],
    ['a number', json(5), {}, 'invalid_shape'],
    ['no id anywhere', json({ amount: '5' }), {}, 'missing_id'],
    ['ids that disagree', json(payload), { messageId: 'other' }, 'conflicting_id'],
    ['an overlong id', json({ ...payload, id: 'x'.repeat(201) }), {}, 'invalid_id'],
    ['a fractional amount', json({ ...payload, amount: '1.5' }), {}, 'invalid_amount'],
    ['an amount beyond int64', json({ ...payload, amount: '9223372036854775808' }), {}, 'invalid_amount'],
    ['an unsafe JSON number amount', json({ ...payload, amount: 2 ** 60 }), {}, 'invalid_amount'],
    ['another event type', json(payload), { type: 'SomethingElse' }, 'unknown_type'],
    ['an unknown op', json({ after: { id: 1, msg: 1 }, op: 'x' }), {}, 'invalid_shape'],
  ])('dead-letters %s', (_name, body, meta, reason) => {
    expect(decodeEvent(body, meta)).toMatchObject({ kind: 'dead-letter', reason });
  });
});
