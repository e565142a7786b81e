import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePorts, type PostgresInstance, startPostgres } from '../../src/dev-stack/index.js';
import { commonConfig } from '../../src/shared/config/commonConfig.js';
import { assertTopology } from '../../src/shared/messaging/assertTopology.js';
import { eventually } from '../helpers/eventually.js';
import { runCli as cli } from '../helpers/runCli.js';
import { type Stack, startStack } from '../helpers/startStack.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';

interface DoctorJson {
  ok: boolean;
  summary: { OK: number; WARN: number; FAIL: number };
  checks: {
    group: string;
    name: string;
    status: 'OK' | 'WARN' | 'FAIL';
    detail: string;
    fix?: string;
    data?: Record<string, unknown>;
  }[];
}

function check(report: DoctorJson, name: string): DoctorJson['checks'][number] {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check named ${name} in ${report.checks.map((c) => c.name).join(', ')}`);
  return found;
}

/** Environment for the CLI against nothing that runs: ports where no process listens. */
async function idlePorts(): Promise<Record<string, string>> {
  const [grpc, addMetrics, relayMetrics, sum] = await freePorts(4);
  return {
    GRPC_PORT: String(grpc),
    ADD_METRICS_PORT: String(addMetrics),
    RELAY_METRICS_PORT: String(relayMetrics),
    SUM_PORT: String(sum),
  };
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the sumstream CLI against real PostgreSQL, RabbitMQ and processes', () => {
  let stack: Stack;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') });
    env = { ...stack.env, SUMSTREAM_RABBIT_MANAGEMENT_URL: inject('amqpManagementUrl') };
    // The relay streams from its slot once it leads; doctor should find it active.
    await eventually(async () => {
      const [slot] = await stack.query<{ active: boolean }>(
        'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
        [stack.slot],
      );
      expect(slot?.active).toBe(true);
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('doctor', () => {
    it('finds a healthy stack healthy: exit 0, OK lines, nothing FAILs', async () => {
      const run = await cli(['doctor'], env);
      expect(run.stderr).toBe('');
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).not.toMatch(/^ {2}FAIL /m);
      for (const line of [
        /^ {2}OK {4}reachable {2,}database test_stack_\w+ as role sumstream$/m,
        /^ {2}OK {4}wal_level {2,}logical$/m,
        /^ {2}OK {4}REPLICATION role {2,}role sumstream may replicate$/m,
        /^ {2}OK {4}publication sumstream_outbox {2,}publishes inserts of public\.outbox$/m,
        new RegExp(`^ {2}OK {4}slot ${stack.slot} {2,}active, lag \\d`, 'm'),
        /^ {2}OK {4}migrations {2,}all 4 applied/m,
        /^ {2}OK {4}queue addition {2,}\d+ ready, 1 consumer$/m,
        /^ {2}OK {4}queue addition\.dead-letter {2,}no dead letters$/m,
        /^ {2}OK {4}bindings {2,}amq\.topic → addition \(addition\); sumstream\.dead-letter → addition\.dead-letter$/m,
        /^ {2}OK {4}add-service {2,}http:\/\/127\.0\.0\.1:\d+: alive, ready$/m,
        /^ {2}OK {4}cdc-relay {2,}http:\/\/127\.0\.0\.1:\d+: alive, ready, leader/m,
        /^ {2}OK {4}sum-service {2,}http:\/\/127\.0\.0\.1:\d+: alive, ready$/m,
      ]) {
        expect(run.stdout).toMatch(line);
      }
      expect(run.stdout).toMatch(/^\d+ OK, 0 WARN, 0 FAIL: all good\.$/m);
    });

    it('prints one JSON document with --json, with the same verdicts', async () => {
      const run = await cli(['doctor', '--json'], env);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as DoctorJson;
      expect(report.ok).toBe(true);
      expect(report.summary.FAIL).toBe(0);
      expect(report.summary.OK).toBe(report.checks.length - report.summary.WARN);
      expect(check(report, 'wal_level')).toMatchObject({ group: 'PostgreSQL', status: 'OK' });
      expect(check(report, `slot ${stack.slot}`)).toMatchObject({
        status: 'OK',
        data: { exists: true, active: true, plugin: 'pgoutput' },
      });
      expect(typeof check(report, `slot ${stack.slot}`).data?.['lagBytes']).toBe('number');
      expect(check(report, 'queue addition')).toMatchObject({
        group: 'RabbitMQ',
        status: 'OK',
        data: { consumers: 1 },
      });
      expect(check(report, 'queue addition.dead-letter')).toMatchObject({ status: 'OK', data: { messages: 0 } });
      expect(check(report, 'sum-service')).toMatchObject({ group: 'Processes', status: 'OK' });
    });

    it('fails a PostgreSQL with wal_level=replica (exit 1) and says how to fix it', async () => {
      // A second, throwaway server, started as the dev stack starts one, then set to replica.
      const base = path.join(
        REPO_ROOT,
        '.sumstream',
        'test',
        `cli-replica-${process.pid}-${randomBytes(3).toString('hex')}`,
      );
      const [port] = await freePorts(1);
      let server: PostgresInstance | undefined;
      try {
        server = await startPostgres({
          dataDir: path.join(base, 'data'),
          port: port!,
          binDir: process.env.SUMSTREAM_PG_BIN,
        });
        const admin = new pg.Client({ connectionString: server.url });
        await admin.connect();
        await admin.query('ALTER SYSTEM SET wal_level = replica');
        await admin.end();
        await server.restart();
        const probe = new pg.Client({ connectionString: server.url });
        await probe.connect();
        expect((await probe.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level).toBe('replica');
        await probe.end();

        const replicaEnv = { ...env, ...(await idlePorts()), DATABASE_URL: server.url };
        const run = await cli(['doctor'], replicaEnv);
        expect(run.code, run.stdout).toBe(1);
        expect(run.stdout).toMatch(
          /^ {2}FAIL {2}wal_level {2,}PostgreSQL wal_level is 'replica'; CDC needs 'logical'\.\n {8}fix: Run ALTER SYSTEM SET wal_level = logical; .*restart PostgreSQL\.$/m,
        );
        expect(run.stdout).toMatch(/^ {2}FAIL {2}migrations {2,}none applied.*\n {8}fix: Run `npx sumstream migrate`/m);
        // Processes that do not run here are a WARN, not a FAIL.
        expect(run.stdout).toMatch(
          /^ {2}WARN {2}add-service {2,}http:\/\/127\.0\.0\.1:\d+: not running \(connection refused\)$/m,
        );
        expect(run.stdout).toMatch(/FAIL: SumStream cannot work as configured; see the fixes above\.$/m);

        const json = await cli(['doctor', '--json'], replicaEnv);
        expect(json.code).toBe(1);
        const report = JSON.parse(json.stdout) as DoctorJson;
        expect(report.ok).toBe(false);
        expect(check(report, 'wal_level')).toMatchObject({
          status: 'FAIL',
          fix: expect.stringContaining('ALTER SYSTEM SET wal_level = logical'),
        });
        expect(check(report, 'cdc-relay')).toMatchObject({ status: 'WARN', data: { running: false } });
      } finally {
        await server?.stop();
        await rm(base, { recursive: true, force: true });
      }
    });

    it('detects a missing publication and a missing dead-letter queue (migrating a fresh database with `sumstream migrate` first)', async () => {
      const db: TestDatabase = await createTestDatabase(inject('databaseUrl'), 'cli_doctor');
      const vhost: TestVhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'cli-doctor');
      try {
        const brokenEnv = { ...env, ...(await idlePorts()), DATABASE_URL: db.url, AMQP_URL: vhost.amqpUrl };
        const migrated = await cli(['migrate', '--json'], brokenEnv);
        expect(migrated.code, migrated.stderr).toBe(0);
        expect(JSON.parse(migrated.stdout)).toEqual({
          applied: [
            '0001_ledger_outbox.sql',
            '0002_sum_inbox.sql',
            '0003_cdc_slots.sql',
            '0004_bounded_ledger_inbox.sql',
          ],
        });
        const again = await cli(['migrate'], brokenEnv);
        expect(again).toMatchObject({ code: 0, stdout: 'nothing to apply\n' });

        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query('DROP PUBLICATION sumstream_outbox');
        await client.end();
        const connection = await amqp.connect(vhost.amqpUrl);
        const channel = await connection.createChannel();
        await assertTopology(channel, commonConfig({}).topology);
        await channel.deleteQueue('addition.dead-letter');
        await connection.close();

        const run = await cli(['doctor', '--json'], brokenEnv);
        expect(run.code).toBe(1);
        const report = JSON.parse(run.stdout) as DoctorJson;
        expect(report.ok).toBe(false);
        expect(check(report, 'publication sumstream_outbox')).toMatchObject({
          status: 'FAIL',
          fix: expect.stringContaining(
            "CREATE PUBLICATION sumstream_outbox FOR TABLE public.outbox WITH (publish = 'insert');",
          ),
        });
        expect(check(report, 'queue addition.dead-letter')).toMatchObject({
          status: 'FAIL',
          detail: 'missing: dead letters would be dropped',
        });
        expect(check(report, 'bindings')).toMatchObject({
          status: 'FAIL',
          detail: 'missing: sumstream.dead-letter → addition.dead-letter',
        });
        // What is still in place is still OK: the checks are independent.
        expect(check(report, 'migrations').status).toBe('OK');
        expect(check(report, 'queue addition').status).toBe('WARN'); // no consumer here
        expect(check(report, 'exchange amq.topic').status).toBe('OK');
        // RELAY_SLOT still names the stack's slot, which belongs to the stack's database.
        expect(check(report, `slot ${stack.slot}`)).toMatchObject({
          status: 'FAIL',
          detail: expect.stringMatching(/^belongs to database test_stack_\w+, not test_cli_doctor_\w+/),
        });
      } finally {
        await vhost.drop();
        await db.drop();
      }
    });

    it('fails with the fix when PostgreSQL and RabbitMQ cannot be reached', async () => {
      const [deadPg, deadAmqp] = await freePorts(2);
      const run = await cli(['doctor'], {
        ...env,
        ...(await idlePorts()),
        DATABASE_URL: `postgres://sumstream:secret@127.0.0.1:${deadPg}/sumstream`,
        AMQP_URL: `amqp://sumstream:secret@127.0.0.1:${deadAmqp}`,
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(
          `^ {2}FAIL {2}reachable {2,}Cannot reach PostgreSQL at postgres://sumstream:\\*\\*\\*@127\\.0\\.0\\.1:${deadPg}/sumstream: connection refused$`,
          'm',
        ),
      );
      expect(run.stdout).toContain('fix: Start the stack with `npx sumstream up` or set DATABASE_URL.');
      expect(run.stdout).toContain(
        `Cannot reach RabbitMQ at amqp://sumstream:***@127.0.0.1:${deadAmqp}: connection refused`,
      );
      expect(run.stdout).not.toContain('secret');
    });
  });

  describe('load', () => {
    it(
      'runs the load tool with the arguments as given; --json prints its report.json alone on stdout',
      { timeout: 120_000 },
      async () => {
        const out = await mkdtemp(path.join(tmpdir(), 'sumstream-cli-load-'));
        try {
          const run = await cli(
            [
              'load',
              '--target',
              'sum',
              '--rate',
              '50',
              '--connections',
              '4',
              '--duration',
              '1s',
              '--rest',
              `http://127.0.0.1:${stack.ports.sum}`,
              '--out',
              out,
              '--no-png',
              '--quiet',
              '--json',
            ],
            env,
          );
          expect(run.code, run.stderr).toBe(0);
          expect(run.stdout).toBe(await readFile(path.join(out, 'report.json'), 'utf8'));
          expect(JSON.parse(run.stdout)).toMatchObject({
            tool: 'sumstream-load',
            targets: [{ name: 'sum', ok: expect.any(Number) }],
          });
          expect(run.stderr).toContain('| target | requests |');
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      },
    );

    it(
      "passes on the tool's exit code: 2 for bad options, 1 when the stack cannot be reached (nothing on stdout with --json)",
      { timeout: 60_000 },
      async () => {
        const bad = await cli(['load', '--duration', 'soon'], env);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/^sumstream-load: --duration "soon" is not a duration/);
        const idle = await idlePorts();
        const unreachable = await cli(
          ['load', '--target', 'sum', '--duration', '1s', '--rest', `http://127.0.0.1:${idle['SUM_PORT']}`, '--json'],
          env,
        );
        expect(unreachable.code).toBe(1);
        expect(unreachable.stdout).toBe('');
        expect(unreachable.stderr).toContain(`cannot read http://127.0.0.1:${idle['SUM_PORT']}/sum`);
      },
    );

    it("answers --help with its own text, then the tool's", async () => {
      const run = await cli(['load', '--help'], env);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^sumstream load: the load tool/);
      expect(run.stdout).toContain('Usage: npm run load -- [options]');
    });
  });

  describe('usage and failures', () => {
    it('exits 2 with what to write instead for bad arguments, and 1 with the fix when a server is unreachable', async () => {
      for (const args of [
        ['add', '1'],
        ['add', 'x', '2'],
        ['add', '9223372036854775808', '0'],
        ['nope'],
        ['sum', '--after'],
        ['watch', '--count', '0'],
      ]) {
        const run = await cli(args, env);
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stdout, args.join(' ')).toBe('');
        expect(run.stderr, args.join(' ')).toMatch(/^error: .+\n\(run with --help for usage\)\n$/);
      }
      const big = await cli(['add', '9223372036854775808', '0'], env);
      expect(big.stderr).toContain(
        'A 9223372036854775808 is outside int64 [-9223372036854775808, 9223372036854775807]',
      );

      const badEnv = await cli(['sum'], { ...env, SUMSTREAM_SUM_URL: 'nonsense' });
      expect(badEnv.code).toBe(2);
      expect(badEnv.stderr).toMatch(/SUMSTREAM_SUM_URL is not a valid URL/);

      const idle = await idlePorts();
      const unreachable = await cli(['add', '1', '2', '--json'], { ...env, ...idle });
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toBe(
        `sumstream: Cannot reach the add-service at 127.0.0.1:${idle['GRPC_PORT']}: connection refused. Start the stack with \`npx sumstream up\`, or point --grpc / SUMSTREAM_GRPC_TARGET at it.\n`,
      );
      expect(JSON.parse(unreachable.stdout)).toMatchObject({
        ok: false,
        exitCode: 1,
        error: expect.stringContaining('Cannot reach the add-service'),
      });
      const noSum = await cli(['sum'], { ...env, ...idle });
      expect(noSum.code).toBe(1);
      expect(noSum.stderr).toContain(
        `Cannot reach the sum-service at http://127.0.0.1:${idle['SUM_PORT']}: connection refused.`,
      );
    });

    it('answers --help with exit 0 and examples, from the bin script npm links', async () => {
      const run = await cli(['add', '--help'], env);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: sumstream add \[options\] <a> <b>/);
      expect(run.stdout).toContain('npx sumstream add 2 3');
    });
  });
});
