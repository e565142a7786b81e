import type { Command } from 'commander';
import type { CliContext } from '../cliContext.js';
import { runChild } from '../runChild.js';
import { helpFooter } from './options.js';

/** `sumstream cdc resync`: exactly what `npm run resync` runs (src/cdc-relay/resyncMain.ts). */
export function cdcCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  const cdc = program
    .command('cdc')
    .summary("the relay's change data capture: resync after a lost replication slot")
    .description('Change data capture (the cdc-relay and its replication slot). See docs/operations.md.');
  cdc
    .command('resync')
    .summary('recover from a lost replication slot (what `npm run resync` runs)')
    .description(
      'Runs what `npm run resync` runs (src/cdc-relay/resyncMain.ts) with DATABASE_URL, AMQP_URL, RELAY_SLOT and ' +
        'the topology variables: makes sure the publication and the slot exist (a missing slot is created, an ' +
        'existing one kept), then publishes every ledger event again with its original id (the sum-service skips ' +
        'those it applied), then clears the slot\'s "lost" mark so the relays stream again. Run it when the relay ' +
        'reports "Replication slot ... was lost" (its /readyz, sumstream_relay_slot_lost, alert ' +
        'SumStreamReplicationSlotLost). Safe to repeat. See docs/operations.md#a-lost-replication-slot.',
    )
    .addHelpText(
      'after',
      helpFooter(
        ['npx sumstream cdc resync', 'DATABASE_URL=postgres://owner:secret@db:5432/sumstream npx sumstream cdc resync'],
        'Exit codes: 0 resynced, 1 failed (the message says why; nothing was marked resynced), 2 usage error.',
      ),
    )
    .action(() =>
      run(() =>
        runChild({
          command: 'npm',
          args: ['run', '--silent', 'resync'],
          cwd: ctx.repoRoot,
          env: ctx.env,
          onInterrupt: ctx.onInterrupt,
        }),
      ),
    );
}
