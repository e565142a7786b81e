import { describe, expect, it } from 'vitest';
import { decideSlot, parseTimelineHistory, type SlotObservation } from '../../src/cdc-relay/decideSlot.js';

const SLOT = 'sumstream_relay';
const at = (overrides: Partial<SlotObservation>): SlotObservation => ({
  slot: SLOT,
  existing: { confirmedFlushLsn: 0x3000100n },
  marker: { timeline: 1, lostReason: null },
  timeline: 1,
  ...overrides,
});
/** Timeline 1 ended at 0/3000200, timeline 2 at 0/5000000 (the history of timeline 3). */
const HISTORY = [
  { timeline: 1, switchLsn: 0x3000200n, reason: 'no recovery target specified' },
  { timeline: 2, switchLsn: 0x5000000n, reason: 'no recovery target specified' },
];

describe('decideSlot', () => {
  it('creates the slot on a first install (no slot, no marker) and records a slot it finds unrecorded', () => {
    expect(decideSlot(at({ existing: undefined, marker: undefined }))).toEqual({ action: 'create' });
    expect(decideSlot(at({ marker: undefined }))).toEqual({ action: 'record' });
  });

  it('is ok on the timeline the marker records', () => {
    expect(decideSlot(at({}))).toEqual({ action: 'ok' });
    expect(decideSlot(at({ marker: { timeline: 3, lostReason: null }, timeline: 3 }))).toEqual({ action: 'ok' });
  });

  it('calls a missing slot the relay streamed from before lost, and never creates it', () => {
    expect(decideSlot(at({ existing: undefined }))).toEqual({
      action: 'lost',
      reason: 'slot sumstream_relay does not exist although the relay streamed from it before',
      record: true,
    });
  });

  it('calls a slot PostgreSQL invalidated (wal_status lost) lost once it is recorded', () => {
    const existing = { confirmedFlushLsn: 0x3000100n, invalidated: true };
    expect(decideSlot(at({ existing }))).toEqual({
      action: 'lost',
      reason: 'slot sumstream_relay was invalidated (wal_status lost): PostgreSQL removed WAL it had not streamed',
      record: true,
    });
    expect(decideSlot(at({ existing, marker: undefined }))).toEqual({ action: 'record' });
  });

  it('keeps a recorded lost reason (sticky until resync), whatever the slot looks like now', () => {
    const lostReason = 'slot sumstream_relay does not exist although the relay streamed from it before';
    for (const existing of [undefined, { confirmedFlushLsn: 1n }])
      expect(decideSlot(at({ existing, marker: { timeline: 1, lostReason } }))).toEqual({
        action: 'lost',
        reason: lostReason,
        record: false,
      });
  });

  it('asks for the timeline history after a failover, and only then', () => {
    expect(decideSlot(at({ timeline: 2 }))).toEqual({ action: 'read-history' });
    expect(decideSlot(at({ timeline: 2, existing: undefined }))).toMatchObject({ action: 'lost' });
  });

  it('advances the marker for a slot synced from the old primary: at or below the switch point', () => {
    for (const confirmedFlushLsn of [0x3000100n, 0x3000200n])
      expect(decideSlot(at({ existing: { confirmedFlushLsn }, timeline: 2, history: HISTORY.slice(0, 1) }))).toEqual({
        action: 'advance',
        timeline: 2,
      });
    // Two failovers since the marker: the point where the marker's timeline ended counts
    expect(decideSlot(at({ timeline: 3, history: HISTORY }))).toEqual({ action: 'advance', timeline: 3 });
    expect(
      decideSlot(
        at({
          marker: { timeline: 2, lostReason: null },
          existing: { confirmedFlushLsn: 0x4000000n },
          timeline: 3,
          history: HISTORY,
        }),
      ),
    ).toEqual({ action: 'advance', timeline: 3 });
  });

  it('calls a slot created after the failover (above the switch point) lost, naming the LSN and timelines', () => {
    expect(decideSlot(at({ existing: { confirmedFlushLsn: 0x3000201n }, timeline: 2, history: HISTORY }))).toEqual({
      action: 'lost',
      reason:
        'slot sumstream_relay was created after the failover at 0/3000200 (timeline 1 -> 2); events before it may never have been published',
      record: true,
    });
    expect(
      decideSlot(at({ existing: { confirmedFlushLsn: 0x4000000n }, timeline: 3, history: HISTORY })),
    ).toMatchObject({ action: 'lost', reason: expect.stringContaining('at 0/3000200 (timeline 1 -> 3)') });
  });

  it('calls it lost when the history does not know the marker timeline, or the server went back in timelines', () => {
    expect(
      decideSlot(at({ marker: { timeline: 2, lostReason: null }, timeline: 3, history: HISTORY.slice(0, 1) })),
    ).toMatchObject({
      action: 'lost',
      reason: expect.stringContaining('does not contain timeline 2'),
    });
    expect(decideSlot(at({ marker: { timeline: 4, lostReason: null }, timeline: 1 }))).toMatchObject({
      action: 'lost',
      reason: expect.stringContaining('on timeline 4, but the server is on timeline 1'),
    });
  });
});

describe('parseTimelineHistory', () => {
  it('reads parentTLI, switch LSN and reason per line, skipping blank lines and comments', () => {
    const content =
      '1\t0/3000200\tno recovery target specified\n\n# a comment\n2\t1A/B374D848\tbefore 2026-12-03 12:00:00+00\n';
    expect(parseTimelineHistory(content)).toEqual([
      { timeline: 1, switchLsn: 0x3000200n, reason: 'no recovery target specified' },
      { timeline: 2, switchLsn: 0x1ab374d848n, reason: 'before 2026-12-03 12:00:00+00' },
    ]);
  });

  it('takes a line without a reason, an empty history, and refuses what is not a history line', () => {
    expect(parseTimelineHistory('1\t0/16B3748\n')).toEqual([{ timeline: 1, switchLsn: 0x16b3748n, reason: '' }]);
    expect(parseTimelineHistory('')).toEqual([]);
    expect(() => parseTimelineHistory('one\t0/1\tx')).toThrow(/Not a timeline history line/);
  });
});
