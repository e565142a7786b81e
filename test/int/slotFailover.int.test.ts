/**
 * The slot guard's timeline branch on real servers: a primary, a streaming standby made with
 * pg_basebackup, and a promotion (timeline 1 -> 2). The servers are this file's own (not the tier's):
 * Debian's PostgreSQL binaries (the highest /usr/lib/postgresql/<version>/bin with pg_basebackup).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdditionWriter } from '../../src/add-service/additionWriter.js';
import { validateAddRequest } from '../../src/add-service/validateAddRequest.js';
import { currentTimeline, guardSlot } from '../../src/cdc-relay/slotGuard.js';
import { migrate } from '../../src/shared/db/migrate.js';
import { freePorts, type PostgresInstance, REPO_ROOT, run, startPostgres } from '../../src/dev-stack/index.js';
import { eventually } from '../helpers/eventually.js';

const INSTALL_HINT =
  'pg_basebackup not found under /usr/lib/postgresql/*/bin. Install the server: `bash scripts/ensure-system-deps.sh` (Debian package `postgresql`).';

function debianPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_basebackup')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return version === undefined ? undefined : path.join(root, version, 'bin');
}

describe('slot guard across a real failover (promoted standby, timeline 1 -> 2)', () => {
  const asRoot = process.getuid?.() === 0;
  const base = path.join(REPO_ROOT, '.sumstream', 'test', `failover-${randomBytes(4).toString('hex')}`);
  const bin = debianPostgresBin();
  let primary: PostgresInstance | undefined;
  /** The standby runs under pg_ctl directly: startPostgres would set up a role, which a standby refuses. */
  let standby: { url: string; stop(): Promise<void> } | undefined;
  const pools: pg.Pool[] = [];
  const synced = 'failover_synced';
  const missing = 'failover_missing';
  const recreated = 'failover_recreated';
  const options = (url: string, slot: string) => ({
    databaseUrl: url,
    slot,
    publication: 'sumstream_outbox',
    table: { schema: 'public', name: 'outbox' },
  });
  const poolOf = (url: string) => {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    pool.on('error', () => undefined);
    pools.push(pool);
    return pool;
  };
  /** Runs a PostgreSQL tool as the OS user that owns the clusters (`postgres` when we are root). */
  const asPostgres = async (command: string, args: string[]) => {
    const result = asRoot ? await run('runuser', ['-u', 'postgres', '--', command, ...args]) : await run(command, args);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  };

  beforeAll(async () => {
    if (!bin) throw new Error(INSTALL_HINT);
    const [primaryPort, standbyPort] = (await freePorts(2)) as [number, number];
    primary = await startPostgres({ dataDir: path.join(base, 'primary', 'data'), port: primaryPort, binDir: bin });
    const pool = poolOf(primary.url);
    await migrate(pool);
    // Given three slots the relay has streamed from (recorded in cdc_slots on timeline 1), and traffic
    for (const slot of [synced, missing, recreated])
      expect(await guardSlot(pool, options(primary.url, slot))).toEqual({ action: 'create' });
    const writer = new AdditionWriter(pool);
    for (let i = 0; i < 5; i++) await writer.write(validateAddRequest({ a: String(i), b: '1' }));
    await pool.query('CHECKPOINT');

    // And a standby (pg_basebackup copies no slot) to which only `synced` is copied, as Patroni keeps its
    // permanent slots on standbys before PostgreSQL 17: the slot's state file, at the primary's position
    const standbyData = path.join(base, 'standby', 'data');
    await mkdir(path.dirname(standbyData), { recursive: true });
    if (asRoot) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(path.dirname(standbyData), Number(stdout.trim()), Number(gid.trim()));
    }
    await asPostgres(path.join(bin, 'pg_basebackup'), [
      '-D',
      standbyData,
      '-R',
      '-X',
      'stream',
      '-d',
      `host=127.0.0.1 port=${primaryPort} user=sumstream`,
    ]);
    await asPostgres('cp', [
      '-a',
      path.join(primary.dataDir, 'pg_replslot', synced),
      path.join(standbyData, 'pg_replslot', synced),
    ]);
    // Its own port (the copied configuration has the primary's); the socket directory is shared, per port.
    await asPostgres('sh', ['-c', `echo "port = ${standbyPort}" >> '${standbyData}/postgresql.auto.conf'`]);
    const pgCtl = path.join(bin, 'pg_ctl');
    await asPostgres(pgCtl, [
      'start',
      '-w',
      '-t',
      '60',
      '-D',
      standbyData,
      '-l',
      path.join(base, 'standby', 'postgresql.log'),
    ]);
    standby = {
      url: primary.url.replace(`:${primaryPort}/`, `:${standbyPort}/`),
      stop: () => asPostgres(pgCtl, ['stop', '-w', '-m', 'fast', '-D', standbyData]),
    };
  }, 120_000);

  afterAll(async () => {
    for (const pool of pools) await pool.end().catch(() => undefined);
    await standby?.stop().catch(() => undefined);
    await primary?.stop().catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });

  it('keeps a slot synced before the failover (moving its record to timeline 2) and calls missing or re-created ones lost', async () => {
    const before = poolOf(primary!.url);
    const after = poolOf(standby!.url);
    // Given the standby replayed everything, When it is promoted (the old primary stops first, as in a failover)
    const lsn = (await before.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    await eventually(
      async () => {
        const { rows } = await after.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [
          lsn,
        ]);
        expect(rows[0]?.ok).toBe(true);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await primary!.stop();
    await after.query('SELECT pg_promote(true, 60)');
    await eventually(async () => expect(await currentTimeline(after)).toBe(2), { timeoutMs: 30_000 });
    // And the slot that was not on the standby is made anew on the new primary (what Patroni would do)
    await after.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [recreated]);

    // Then the synced slot is intact: at or below the switch point, its record moves to timeline 2
    const marker = async (slot: string) =>
      (
        await after.query<{ timeline: number; lost_reason: string | null }>(
          'SELECT timeline, lost_reason FROM cdc_slots WHERE slot_name = $1',
          [slot],
        )
      ).rows[0];
    expect(await guardSlot(after, options(standby!.url, synced))).toEqual({ action: 'advance', timeline: 2 });
    expect(await marker(synced)).toEqual({ timeline: 2, lost_reason: null });
    expect(await guardSlot(after, options(standby!.url, synced))).toEqual({ action: 'ok' });

    // And the slot missing on the new primary is lost, and not created
    expect(await guardSlot(after, options(standby!.url, missing))).toMatchObject({
      action: 'lost',
      reason: `slot ${missing} does not exist although the relay streamed from it before`,
    });
    expect((await after.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [missing])).rowCount).toBe(0);

    // And the slot created after the promotion is lost, with the switch point and the timelines
    const verdict = await guardSlot(after, options(standby!.url, recreated));
    expect(verdict).toMatchObject({
      action: 'lost',
      reason: expect.stringMatching(
        new RegExp(
          `^slot ${recreated} was created after the failover at [0-9A-F]+/[0-9A-F]+ \\(timeline 1 -> 2\\); events before it may never have been published$`,
        ),
      ),
    });
    expect((await marker(recreated))?.lost_reason).toBe(verdict.action === 'lost' ? verdict.reason : '');
  });
});
