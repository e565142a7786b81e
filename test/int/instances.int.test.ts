import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { createTestVhost, type TestVhost } from '../helpers/testVhost.js';

describe('test infrastructure (globalSetup instances)', () => {
  it('PostgreSQL runs with wal_level=logical and allows replication connections', async () => {
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    try {
      const { rows } = await client.query<{ wal_level: string }>("SELECT current_setting('wal_level') AS wal_level");
      expect(rows[0]?.wal_level).toBe('logical');
    } finally {
      await client.end();
    }
    // `replication` is supported by pg but missing from @types/pg.
    const replConfig: pg.ClientConfig & { replication: 'database' } = {
      connectionString: inject('databaseUrl'),
      replication: 'database',
    };
    const repl = new pg.Client(replConfig);
    await repl.connect();
    try {
      const { rows } = await repl.query<{ systemid: string }>('IDENTIFY_SYSTEM');
      expect(rows[0]?.systemid).toMatch(/^\d+$/);
    } finally {
      await repl.end();
    }
  });

  describe('createTestDatabase', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(inject('databaseUrl'), 'instances');
    });

    it('creates a usable database and drops it even with open connections', async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
      expect(rows[0]?.db).toMatch(/^test_instances_[0-9a-f]{8}$/);
      client.on('error', () => {}); // the forced drop terminates this connection
      await db.drop();
      const admin = new pg.Client({ connectionString: inject('databaseUrl') });
      await admin.connect();
      const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [rows[0]?.db]);
      await admin.end();
      expect(left.rowCount).toBe(0);
    });
  });

  describe('createTestVhost', () => {
    let vhost: TestVhost;
    beforeAll(async () => {
      vhost = await createTestVhost(inject('amqpManagementUrl'), 'sumstream', 'instances');
    });
    afterAll(async () => {
      await vhost.drop();
    });

    it('round-trips a confirmed message through a quorum queue', async () => {
      const conn = await amqp.connect(vhost.amqpUrl);
      try {
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue('q.instances', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
        ch.sendToQueue('q.instances', Buffer.from('hello'), { persistent: true });
        await ch.waitForConfirms();
        let msg: amqp.GetMessage | false = false;
        for (let i = 0; i < 50 && !msg; i++) {
          msg = await ch.get('q.instances', { noAck: false });
          if (!msg) await new Promise((r) => setTimeout(r, 50));
        }
        expect(msg && msg.content.toString()).toBe('hello');
        if (msg) ch.ack(msg);
        await ch.close();
      } finally {
        await conn.close();
      }
      await vhost.drop();
      const res = await fetch(`${new URL(inject('amqpManagementUrl')).origin}/api/vhosts/${vhost.vhost}`, {
        headers: { authorization: `Basic ${Buffer.from('sumstream:sumstream').toString('base64')}` },
      });
      expect(res.status).toBe(404);
    });
  });
});
