import { describe, expect, it } from 'vitest';
import { slotWalFromRow, type SlotWalRow } from '../../src/cdc-relay/readSlotWal.js';

const MIB = 1024 * 1024;
const row = (over: Partial<SlotWalRow> = {}): SlotWalRow => ({
  limit_mb: '4096',
  wal_status: 'reserved',
  lag: '100',
  retained: '2000',
  safe: String(4096 * MIB - 2000),
  ...over,
});

describe("slotWalFromRow: the slot's WAL against max_slot_wal_keep_size, as the relay's gauges show it", () => {
  it('gives the bound in bytes, and what the slot retains and may still retain', () => {
    expect(slotWalFromRow(row())).toEqual({
      limitBytes: 4096 * MIB,
      lagBytes: 100,
      retainedBytes: 2000,
      safeBytes: 4096 * MIB - 2000,
    });
  });

  it('keeps a negative safe_wal_size: past the bound, the next checkpoint invalidates the slot', () => {
    const past = slotWalFromRow(
      row({ limit_mb: '32', wal_status: 'unreserved', retained: String(40 * MIB), safe: String(-3 * MIB) }),
    );
    expect(past).toMatchObject({ limitBytes: 32 * MIB, retainedBytes: 40 * MIB, safeBytes: -3 * MIB });
  });

  it('shows an invalidated slot as keeping nothing with nothing left', () => {
    expect(slotWalFromRow(row({ wal_status: 'lost', retained: null, safe: null }))).toEqual({
      limitBytes: 4096 * MIB,
      lagBytes: 100,
      retainedBytes: 0,
      safeBytes: 0,
    });
  });

  it('shows no bound as -1 with unlimited room, and a missing slot as the bound only', () => {
    expect(slotWalFromRow(row({ limit_mb: '-1', safe: null }))).toMatchObject({ limitBytes: -1, safeBytes: Infinity });
    expect(slotWalFromRow(row({ limit_mb: null, safe: null }))).toMatchObject({ limitBytes: -1, safeBytes: Infinity });
    expect(slotWalFromRow(row({ wal_status: null, lag: null, retained: null, safe: null }))).toEqual({
      limitBytes: 4096 * MIB,
    });
    expect(slotWalFromRow(undefined)).toEqual({ limitBytes: -1 });
  });
});
