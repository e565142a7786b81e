import pg from 'pg';

export const POOL_DEFAULTS = { max: 10 } as const;

export interface PoolOptions {
  /** PostgreSQL URL. */
  url: string;
  /** Connections at most. Default `POOL_DEFAULTS.max`. */
  max?: number;
  /** `application_name`, visible in pg_stat_activity. */
  applicationName: string;
  /** Give up connecting after this many ms. Default 5000. */
  connectionTimeoutMs?: number;
}

/** A pg pool whose idle-connection errors are reported instead of crashing the process. */
export function createPool(options: PoolOptions, onError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? POOL_DEFAULTS.max,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
  });
  pool.on('error', onError);
  return pool;
}
