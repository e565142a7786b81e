import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePorts, serviceCommand, SERVICES } from '../../src/dev-stack/index.js';
import { AdditionClient } from '../helpers/additionClient.js';
import { type Stack, startStack } from '../helpers/startStack.js';

const secret = () => randomBytes(18).toString('base64url');

describe('production mode and least privilege', () => {
  let stack: Stack;
  let certDir: string;
  const passwords = { add: secret(), relay: secret(), sum: secret(), amqp: secret() };
  const token = secret() + secret();
  const amqpUser = `sumstream_app_${randomBytes(3).toString('hex')}`;
  const management = new URL(inject('amqpManagementUrl'));
  const api = (method: string, apiPath: string, body?: unknown) =>
    fetch(new URL(apiPath, management.origin), {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${decodeURIComponent(management.username)}:${decodeURIComponent(management.password)}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const urlAs = (user: string, password: string) => {
    const url = new URL(stack.databaseUrl);
    url.username = user;
    url.password = password;
    return url.toString();
  };

  beforeAll(async () => {
    // Given a database migrated by its owner, with the three service roles from deploy/postgres/roles.sql
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      services: [],
    });
    const migrated = spawnSync(process.execPath, ['--import', 'tsx', 'src/migrate/main.ts'], {
      env: stack.env,
      encoding: 'utf8',
    });
    expect(migrated.status, migrated.stderr).toBe(0);
    execFileSync('psql', [
      stack.databaseUrl,
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-v',
      `add_password=${passwords.add}`,
      '-v',
      `relay_password=${passwords.relay}`,
      '-v',
      `sum_password=${passwords.sum}`,
      '-f',
      'deploy/postgres/roles.sql',
    ]);
    // And a RabbitMQ user with a strong password on the stack's vhost
    const vhost = decodeURIComponent(new URL(stack.amqpUrl).pathname.slice(1));
    expect((await api('PUT', `/api/users/${amqpUser}`, { password: passwords.amqp, tags: '' })).ok).toBe(true);
    expect(
      (
        await api('PUT', `/api/permissions/${encodeURIComponent(vhost)}/${amqpUser}`, {
          configure: '.*',
          write: '.*',
          read: '.*',
        })
      ).ok,
    ).toBe(true);
    // And a self-signed certificate for gRPC TLS
    certDir = mkdtempSync(path.join(tmpdir(), 'sumstream-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(certDir, 'key.pem'),
        '-out',
        path.join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );

    const amqpUrl = new URL(stack.amqpUrl);
    amqpUrl.username = amqpUser;
    amqpUrl.password = passwords.amqp;
    const production = { SUMSTREAM_PRODUCTION: 'true', SUMSTREAM_MIGRATE: 'false', AMQP_URL: amqpUrl.toString() };
    await stack.start('add-service', {
      env: {
        ...production,
        DATABASE_URL: urlAs('sumstream_add', passwords.add),
        ADD_AUTH_TOKENS: token,
        GRPC_TLS_CERT_FILE: path.join(certDir, 'cert.pem'),
        GRPC_TLS_KEY_FILE: path.join(certDir, 'key.pem'),
      },
    });
    await stack.start('cdc-relay', { env: { ...production, DATABASE_URL: urlAs('sumstream_relay', passwords.relay) } });
    await stack.start('sum-service', { env: { ...production, DATABASE_URL: urlAs('sumstream_sum', passwords.sum) } });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await api('DELETE', `/api/users/${amqpUser}`);
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    for (const role of ['sumstream_add', 'sumstream_relay', 'sumstream_sum'])
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('refuses to start any process in production mode with default credentials, saying which and how to fix', async () => {
    for (const service of SERVICES) {
      const [command, ...args] = serviceCommand(service);
      const run = spawnSync(command!, args, {
        env: { ...stack.env, NODE_ENV: 'production' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status, service).toBe(1);
      expect(run.stderr, service).toMatch(
        /Cannot start: Production mode refuses to start:\n- DATABASE_URL has a default password.*\n- AMQP_URL uses a default or empty password/,
      );
    }
  });

  it('serves Add over TLS to a client with the token, and refuses one without it or without TLS', async () => {
    const tls = grpc.credentials.createSsl(readFileSync(path.join(certDir, 'cert.pem')));
    const address = `localhost:${stack.ports.grpc}`;
    const authorized = new AdditionClient(address, tls, token);
    const anonymous = new AdditionClient(address, tls);
    const plaintext = new AdditionClient(address, grpc.credentials.createInsecure(), token);
    try {
      expect((await authorized.add(2, 3)).sum).toBe('5');
      await expect(anonymous.add(2, 3)).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
        details: expect.stringMatching(/authorization: Bearer <token>/),
      });
      await expect(new AdditionClient(address, tls, 'x'.repeat(64)).add(2, 3)).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
      await expect(plaintext.add(2, 3)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      // Then the pipeline, running as the three least-privilege roles, applies it
      await stack.waitForSum(5n);
    } finally {
      for (const client of [authorized, anonymous, plaintext]) client.close();
    }
  });

  it('gives each role only what it needs: the sum-service cannot touch the ledger, the relay cannot read tables', async () => {
    const as = async (user: string, password: string, sql: string) => {
      const client = new pg.Client({ connectionString: urlAs(user, password) });
      await client.connect();
      try {
        await client.query(sql);
        return 'allowed';
      } catch (error) {
        return (error as Error).message;
      } finally {
        await client.end();
      }
    };
    expect(
      await as(
        'sumstream_sum',
        passwords.sum,
        'INSERT INTO additions (id, a, b, result) VALUES (gen_random_uuid(), 1, 1, 2)',
      ),
    ).toMatch(/permission denied for table additions/);
    expect(await as('sumstream_sum', passwords.sum, 'SELECT * FROM additions')).toMatch(/permission denied/);
    expect(await as('sumstream_relay', passwords.relay, 'SELECT * FROM outbox')).toMatch(/permission denied/);
    expect(await as('sumstream_relay', passwords.relay, 'SELECT * FROM processed_events')).toMatch(/permission denied/);
    expect(await as('sumstream_add', passwords.add, 'UPDATE sum_shards SET total = 0')).toMatch(/permission denied/);
    expect(await as('sumstream_add', passwords.add, 'SELECT count(*) FROM additions')).toBe('allowed');
    // Read-your-writes: the add-service checks the inbox for an event before answering GetSum{after}.
    expect(await as('sumstream_add', passwords.add, 'SELECT count(*) FROM processed_events')).toBe('allowed');
    expect(await as('sumstream_add', passwords.add, 'DELETE FROM processed_events')).toMatch(/permission denied/);
  });

  it('never writes a password or the token to any log', () => {
    const logs = stack.logs.join('\n');
    expect(logs.length).toBeGreaterThan(500);
    for (const [name, value] of Object.entries({ ...passwords, token })) expect(logs.includes(value), name).toBe(false);
  });

  it('limits Adds per second (RESOURCE_EXHAUSTED) and GET /sum per second (429)', async () => {
    const [grpcPort, metricsPort, sumPort] = (await freePorts(3)) as [number, number, number];
    await stack.start('add-service', {
      name: 'limited-add',
      env: { GRPC_PORT: String(grpcPort), ADD_METRICS_PORT: String(metricsPort), ADD_RATE_LIMIT: '5' },
    });
    await stack.start('sum-service', { name: 'limited-sum', env: { SUM_PORT: String(sumPort), SUM_RATE_LIMIT: '5' } });
    const client = new AdditionClient(`127.0.0.1:${grpcPort}`);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.add(1, 1).then(
          () => 'ok',
          (error: grpc.ServiceError) => grpc.status[error.code],
        ),
      ),
    );
    client.close();
    expect(outcomes.filter((o) => o === 'ok').length).toBeLessThanOrEqual(6);
    expect(outcomes).toContain('RESOURCE_EXHAUSTED');
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => (await fetch(`http://127.0.0.1:${sumPort}/sum`)).status),
    );
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(6);
  });
});
