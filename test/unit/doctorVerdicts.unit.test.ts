import { describe, expect, it } from 'vitest';
import { doctorReport, formatDoctorReport } from '../../src/cli/doctor/doctorReport.js';
import {
  formatBytes,
  migrationsVerdict,
  publicationVerdict,
  relaySlotVerdict,
  senderCapacityVerdict,
  type SlotState,
  slotCapacityVerdict,
  slotVerdict,
  slotWalLimitVerdict,
  versionVerdict,
} from '../../src/cli/doctor/postgresVerdicts.js';

const MIB = 1024n * 1024n;
const slot = (over: Partial<SlotState> = {}): SlotState => ({
  name: 'sumstream_relay',
  plugin: 'pgoutput',
  database: 'sumstream',
  active: true,
  walStatus: 'reserved',
  lagBytes: 0n,
  ...over,
});

describe('doctor verdicts', () => {
  it('PostgreSQL version: OK from 15, WARN for older servers with logical replication, FAIL before 10', () => {
    expect(versionVerdict('16.4', 160004).status).toBe('OK');
    expect(versionVerdict('15.14 (Debian 15.14-0+deb12u1)', 150014).status).toBe('OK');
    expect(versionVerdict('14.2', 140002)).toMatchObject({
      status: 'WARN',
      fix: expect.stringMatching(/tested on PostgreSQL 15 and 16/),
    });
    expect(versionVerdict('9.6.1', 90601).status).toBe('FAIL');
  });

  it('replication slots: FAIL only when the relay would need a slot and none is free', () => {
    expect(slotCapacityVerdict({ maxSlots: 10, usedSlots: 10, slotExists: false }, 'sumstream_relay')).toMatchObject({
      status: 'FAIL',
      fix: expect.stringMatching(/max_replication_slots/),
    });
    expect(slotCapacityVerdict({ maxSlots: 10, usedSlots: 10, slotExists: true }, 'sumstream_relay').status).toBe('OK');
    expect(slotCapacityVerdict({ maxSlots: 10, usedSlots: 9, slotExists: false }, 'sumstream_relay').status).toBe('OK');
    expect(slotCapacityVerdict({ maxSlots: 0, usedSlots: 0, slotExists: false }, 'sumstream_relay').status).toBe(
      'FAIL',
    );
  });

  it('WAL senders: FAIL only when the relay is not streaming and none is free', () => {
    expect(senderCapacityVerdict({ maxSenders: 2, usedSenders: 2, slotActive: false })).toMatchObject({
      status: 'FAIL',
      fix: expect.stringMatching(/max_wal_senders/),
    });
    expect(senderCapacityVerdict({ maxSenders: 2, usedSenders: 2, slotActive: true }).status).toBe('OK');
    expect(senderCapacityVerdict({ maxSenders: 10, usedSenders: 0, slotActive: false }).status).toBe('OK');
  });

  it('publication: missing, not covering the outbox, or not publishing inserts is a FAIL with the statement that fixes it', () => {
    const good = { exists: true, allTables: false, publishesInsert: true, coversTable: true };
    expect(publicationVerdict(good, 'sumstream_outbox', 'public.outbox').status).toBe('OK');
    expect(publicationVerdict({ ...good, exists: false }, 'sumstream_outbox', 'public.outbox')).toMatchObject({
      status: 'FAIL',
      fix: expect.stringMatching(
        /npx sumstream migrate.*CREATE PUBLICATION sumstream_outbox FOR TABLE public\.outbox WITH \(publish = 'insert'\)/,
      ),
    });
    expect(publicationVerdict({ ...good, coversTable: false }, 'sumstream_outbox', 'public.outbox')).toMatchObject({
      status: 'FAIL',
      fix: 'ALTER PUBLICATION sumstream_outbox ADD TABLE public.outbox;',
    });
    expect(publicationVerdict({ ...good, publishesInsert: false }, 'sumstream_outbox', 'public.outbox').status).toBe(
      'FAIL',
    );
  });

  it('slots: missing relay slot and inactive slots WARN, lost or foreign ones FAIL, lag over the limit WARNs', () => {
    expect(relaySlotVerdict(undefined, 'sumstream_relay', 'sumstream', 64n * MIB)).toMatchObject({
      status: 'WARN',
      detail: expect.stringMatching(/creates it at its first start/),
    });
    expect(relaySlotVerdict(slot(), 'sumstream_relay', 'sumstream', 64n * MIB)).toMatchObject({
      status: 'OK',
      detail: 'active, lag 0 B',
    });
    expect(slotVerdict(slot({ active: false, lagBytes: 3n * MIB }), 'sumstream', 64n * MIB)).toMatchObject({
      status: 'WARN',
      detail: 'inactive, lag 3.0 MiB: nothing streams from it, so it holds WAL',
    });
    expect(slotVerdict(slot({ lagBytes: 65n * MIB }), 'sumstream', 64n * MIB)).toMatchObject({
      status: 'WARN',
      detail: 'active, lag 65.0 MiB (over 64.0 MiB)',
    });
    expect(slotVerdict(slot({ walStatus: 'lost' }), 'sumstream', 64n * MIB)).toMatchObject({
      status: 'FAIL',
      fix: expect.stringMatching(/republish/),
    });
    // The relay's own slot: the relay does not re-create a slot it streamed from; the resync replaces it
    expect(relaySlotVerdict(slot({ walStatus: 'lost' }), 'sumstream_relay', 'sumstream', 64n * MIB)).toMatchObject({
      status: 'FAIL',
      fix: expect.stringContaining('`npx sumstream cdc resync` replaces the slot'),
    });
    expect(slotVerdict(slot({ plugin: 'test_decoding' }), 'sumstream', 64n * MIB)).toMatchObject({
      status: 'FAIL',
      detail: 'uses the test_decoding plugin; the relay reads pgoutput',
    });
    expect(slotVerdict(slot({ database: 'other' }), 'sumstream', 64n * MIB)).toMatchObject({
      status: 'FAIL',
      detail: expect.stringMatching(/^belongs to database other, not sumstream/),
    });
  });

  it('migrations: none or pending FAIL with `sumstream migrate`, unknown ones WARN', () => {
    const files = ['0001_a.sql', '0002_b.sql'];
    expect(migrationsVerdict(files, undefined)).toMatchObject({
      status: 'FAIL',
      fix: expect.stringMatching(/npx sumstream migrate/),
    });
    expect(migrationsVerdict(files, ['0001_a.sql'])).toMatchObject({ status: 'FAIL', detail: '1 pending: 0002_b.sql' });
    expect(migrationsVerdict(files, files)).toMatchObject({ status: 'OK', detail: 'all 2 applied (0002_b.sql last)' });
    expect(migrationsVerdict(files, [...files, '0003_c.sql']).status).toBe('WARN');
  });

  it('max_slot_wal_keep_size: WARN (never FAIL) while a slot may keep WAL without bound, with the statement that bounds it', () => {
    expect(slotWalLimitVerdict(4096)).toMatchObject({
      name: 'max_slot_wal_keep_size',
      status: 'OK',
      detail: '4.0 GiB: a slot that holds more is invalidated (then `sumstream cdc resync`)',
    });
    expect(slotWalLimitVerdict(-1)).toMatchObject({
      status: 'WARN',
      detail: expect.stringMatching(/is -1 \(unlimited\)/),
      fix: expect.stringMatching(/ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'; SELECT pg_reload_conf\(\);/),
    });
    expect(slotWalLimitVerdict(undefined)).toMatchObject({
      status: 'WARN',
      detail: expect.stringMatching(/before PostgreSQL 13/),
    });
  });

  it('formats bytes in binary units', () => {
    expect(formatBytes(0n)).toBe('0 B');
    expect(formatBytes(1536n)).toBe('1.5 KiB');
    expect(formatBytes(5n * 1024n * MIB)).toBe('5.0 GiB');
  });
});

describe('doctor report', () => {
  it('counts the verdicts, is ok without FAIL, and prints each fix under its line', () => {
    const report = doctorReport(
      [
        {
          group: 'PostgreSQL',
          name: 'wal_level',
          status: 'FAIL',
          detail: "PostgreSQL wal_level is 'replica'; CDC needs 'logical'.",
          fix: 'Run ALTER SYSTEM SET wal_level = logical;',
        },
        { group: 'RabbitMQ', name: 'reachable', status: 'OK', detail: 'RabbitMQ 3.13.7, vhost /' },
        { group: 'Processes', name: 'cdc-relay', status: 'WARN', detail: 'not running', fix: 'Start it.' },
      ],
      { PostgreSQL: 'postgres://u:***@h:1/d', RabbitMQ: 'amqp://u:***@h:2', Processes: 'probes' },
    );
    expect(report).toMatchObject({ ok: false, summary: { OK: 1, WARN: 1, FAIL: 1 } });
    const text = formatDoctorReport(report);
    expect(text).toMatch(
      /^PostgreSQL {2}postgres:\/\/u:\*\*\*@h:1\/d\n {2}FAIL {2}wal_level {2,}PostgreSQL wal_level is 'replica'.*\n {8}fix: Run ALTER SYSTEM SET wal_level = logical;$/m,
    );
    expect(text).toMatch(/^ {2}OK {4}reachable {2,}RabbitMQ 3\.13\.7, vhost \/$/m);
    expect(text).toMatch(/1 OK, 1 WARN, 1 FAIL: SumStream cannot work as configured/);
    expect(doctorReport([], { PostgreSQL: '', RabbitMQ: '', Processes: '' }).ok).toBe(true);
  });
});
