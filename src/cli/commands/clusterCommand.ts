import type { Command } from 'commander';
import type { CliContext } from '../cliContext.js';
import { runChild } from '../runChild.js';
import { helpFooter } from './options.js';

/** `sumstream cluster up|down|status`: exactly what `npm run cluster -- …` runs. */
export function clusterCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('cluster')
    .summary('the scale-out cluster on this machine: up, down, status (what `npm run cluster` runs)')
    .description(
      'Runs what `npm run cluster` runs (src/dev-stack/cluster/main.ts): each member in a network namespace of its own ' +
        'on a private bridge, a 3-node RabbitMQ cluster, PostgreSQL, 2 add-service and 2 sum-service replicas, an active ' +
        'and a standby cdc-relay, HAProxy on 127.0.0.1:50051 (gRPC) and :4000 (REST), Prometheus. `up` stays in the ' +
        'foreground until Ctrl-C; `down` removes every process, namespace and rule of the cluster; `status` shows each ' +
        "member's health, the active relay and the quorum queue's leader. Needs root. See docs/cluster.md.",
    )
    .argument('[command]', 'up (default), down or status', 'up')
    .option('--pg-ha', 'with up: PostgreSQL as 3 Patroni nodes on etcd behind HAProxy (docs/postgres-ha.md)')
    .addHelpText(
      'after',
      helpFooter(
        [
          'sudo npx sumstream cluster up',
          'sudo npx sumstream cluster up --pg-ha',
          'npx sumstream add 2 3',
          'sudo npx sumstream cluster status',
          'sudo npx sumstream cluster down',
        ],
        'Exit codes: 0 ok (up: after Ctrl-C), 1 the cluster could not start or none is up (status), 2 usage error.',
      ),
    )
    .action((command: string, flags: { pgHa?: boolean }) =>
      run(() =>
        runChild({
          command: 'npm',
          args: ['run', '--silent', 'cluster', '--', command, ...(flags.pgHa ? ['--pg-ha'] : [])],
          cwd: ctx.repoRoot,
          env: ctx.env,
          onInterrupt: ctx.onInterrupt,
        }),
      ),
    );
}
