import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** baseUrl with the database name replaced by the new database. */
  url: string;
  /** Drops the database, terminating any remaining connections (`WITH (FORCE)`). */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named, empty database (`test_<prefix>_<random>`) on the server of `baseUrl`, whose
 * user must be allowed to CREATE DATABASE. Use one per test file for isolation.
 */
export async function createTestDatabase(baseUrl: string, prefix = 'db'): Promise<TestDatabase> {
  const name = `test_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await adminQuery(baseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
