import { describe, expect, it } from 'vitest';
import { ConfirmTracker } from '../../src/cdc-relay/confirmTracker.js';
import { formatLsn, parseLsn } from '../../src/cdc-relay/lsn.js';

describe('ConfirmTracker', () => {
  it('confirms a transaction only after all of its events are confirmed', () => {
    const tracker = new ConfirmTracker();
    tracker.begin();
    const first = tracker.published();
    const second = tracker.published();
    tracker.commit(100n);
    expect(tracker.confirmedLsn).toBe(0n);
    tracker.confirm(second);
    expect(tracker.confirmedLsn).toBe(0n);
    tracker.confirm(first);
    expect(tracker.confirmedLsn).toBe(100n);
  });

  it('never passes an older unconfirmed transaction, even when a newer one is confirmed', () => {
    const tracker = new ConfirmTracker();
    tracker.begin();
    const older = tracker.published();
    tracker.commit(100n);
    tracker.begin();
    const newer = tracker.published();
    tracker.commit(200n);
    tracker.confirm(newer);
    expect(tracker.confirmedLsn).toBe(0n);
    tracker.confirm(older);
    expect(tracker.confirmedLsn).toBe(200n);
  });

  it('confirms transactions without events at once', () => {
    const tracker = new ConfirmTracker();
    tracker.begin();
    tracker.commit(50n);
    expect(tracker.confirmedLsn).toBe(50n);
  });

  it('advances on keepalives only when idle', () => {
    const tracker = new ConfirmTracker();
    tracker.idleAt(10n);
    expect(tracker.confirmedLsn).toBe(10n);
    tracker.begin();
    tracker.idleAt(20n);
    expect(tracker.confirmedLsn).toBe(10n);
    const seq = tracker.published();
    tracker.commit(30n);
    tracker.idleAt(40n);
    expect(tracker.confirmedLsn).toBe(10n);
    tracker.confirm(seq);
    expect(tracker.confirmedLsn).toBe(30n);
    tracker.idleAt(40n);
    expect(tracker.confirmedLsn).toBe(40n);
    expect(tracker.inFlight).toBe(0);
  });
});

describe('lsn', () => {
  it('round-trips PostgreSQL LSN text', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(parseLsn('0/0'))).toBe('0/0');
    expect(() => parseLsn('nope')).toThrow(/Not an LSN/);
  });
});
