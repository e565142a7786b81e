import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** The repository's `migrations/` folder. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

/** Any fixed number works; it only has to be the same in every process. */
const MIGRATION_LOCK_KEY = 7_301_122_001;

/** The migration files of `dir` (`NNNN_name.sql`), in the order they apply. */
export async function migrationFiles(dir: string = MIGRATIONS_DIR): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^\d{4}_.+\.sql$/.test(name)).sort();
}

/**
 * Applies the numbered `.sql` files of `dir` that are not yet recorded, each in its own
 * transaction, in name order. Every process calls it at start; an advisory lock makes
 * concurrent callers wait for each other instead of racing. Returns the names applied.
 */
export async function migrate(pool: pg.Pool, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = await migrationFiles(dir);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS sumstream_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ name: string }>('SELECT name FROM sumstream_migrations')).rows.map((r) => r.name),
    );
    for (const name of files) {
      if (done.has(name)) continue;
      const sql = await readFile(`${dir}/${name}`, 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO sumstream_migrations (name) VALUES ($1)', [name]);
        await client.query('COMMIT');
        applied.push(name);
      } catch (cause) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(
          `Migration ${name} failed: ${(cause as Error).message}. Fix the SQL or the database and start again; earlier migrations stay applied.`,
          { cause },
        );
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** Applies pending migrations when `enabled` (the `SUMSTREAM_MIGRATE` knob) and logs what it applied. */
export async function migrateIfEnabled(
  pool: pg.Pool,
  enabled: boolean,
  logger: { info(obj: object, msg: string): void },
): Promise<void> {
  if (!enabled) return;
  const applied = await migrate(pool);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
}
