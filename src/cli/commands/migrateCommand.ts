import type { Command } from 'commander';
import { createPool } from '../../shared/db/createPool.js';
import { migrate } from '../../shared/db/migrate.js';
import { redactUrl } from '../../shared/log/createLogger.js';
import type { CliContext } from '../cliContext.js';
import { CliFailure, EXIT } from '../cliErrors.js';
import { connectionErrorReason } from '../connectionErrorReason.js';
import { toJson } from '../toJson.js';
import { helpFooter, JSON_FLAG } from './options.js';

/** `sumstream migrate`: what `npm run migrate` does (src/migrate/main.ts), with --json. */
export function migrateCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('migrate')
    .summary('apply the database migrations (what `npm run migrate` does)')
    .description(
      'Applies the migrations/*.sql not yet recorded in sumstream_migrations, each in its own transaction, with ' +
        'DATABASE_URL (the schema owner; the services can then run with SUMSTREAM_MIGRATE=false). Safe to repeat: an ' +
        'advisory lock serialises it with the services, and applied migrations are skipped.',
    )
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      helpFooter([
        'npx sumstream migrate',
        'DATABASE_URL=postgres://owner:secret@db:5432/sumstream npx sumstream migrate --json   # {"applied":[...]}',
      ]),
    )
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { databaseUrl } = ctx.config();
        const pool = createPool({ url: databaseUrl, max: 1, applicationName: 'sumstream-migrate' }, () => undefined);
        let applied: string[];
        try {
          applied = await migrate(pool);
        } catch (error) {
          // migrate() explains SQL failures itself; a connection failure gets the fix here.
          const message = /^Migration /.test((error as Error).message)
            ? (error as Error).message
            : `Cannot reach PostgreSQL at ${redactUrl(databaseUrl)}: ${connectionErrorReason(error)}. Start the stack with \`npx sumstream up\` or set DATABASE_URL.`;
          throw new CliFailure(message, { cause: error });
        } finally {
          await pool.end().catch(() => undefined);
        }
        ctx.io.out(
          options.json
            ? toJson({ applied })
            : applied.length > 0
              ? `applied: ${applied.join(', ')}`
              : 'nothing to apply',
        );
        return EXIT.ok;
      }),
    );
}
