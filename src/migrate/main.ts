/**
 * `npm run migrate`: applies the migrations with DATABASE_URL (the owner role), for deployments
 * whose services run as least-privilege roles with SUMSTREAM_MIGRATE=false.
 */
import { commonConfig } from '../shared/config/commonConfig.js';
import { createPool } from '../shared/db/createPool.js';
import { migrate } from '../shared/db/migrate.js';

const config = commonConfig(process.env);
const pool = createPool({ url: config.databaseUrl, max: 1, applicationName: 'sumstream-migrate' }, () => undefined);
migrate(pool)
  .then((applied) => console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'nothing to apply'))
  .catch((error: unknown) => {
    console.error((error as Error).message);
    process.exitCode = 1;
  })
  .finally(() => void pool.end());
