/**
 * `npm run cluster -- [up|down|status]` (and `sumstream cluster …`): the scale-out cluster on this
 * machine (clusterStack.ts). `up` (the default) starts it, prints where everything is, and stays in
 * the foreground until Ctrl-C, which takes it down; `down` takes down a cluster from anywhere,
 * including one whose owner died; `status` shows each member's health, the active relay and the
 * quorum queue's leader. Needs root (network namespaces).
 */
import path from 'node:path';
import { Option } from 'commander';
import { defaultTopology } from '../../shared/config/commonConfig.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../../shared/cli/parseCommandLine.js';
import { devStackConfig } from '../devStackConfig.js';
import { HOST_PORTS, LB_PORTS } from './clusterPlan.js';
import { ClusterStack, readState, tearDown } from './clusterStack.js';
import { clusterStatus, formatClusterStatus } from './clusterStatus.js';

const program = commandLine(
  'npm run cluster --',
  `The scale-out SumStream cluster on this machine: each member in a network namespace of its own on a
private bridge (no route out), a 3-node RabbitMQ cluster, PostgreSQL, 2 add-service and 2 sum-service
replicas, an active and a standby cdc-relay, HAProxy on 127.0.0.1:${LB_PORTS.grpc} (gRPC) and :${LB_PORTS.rest} (REST), and Prometheus.
Needs root.`,
)
  .argument('[command]', 'up (default): start and stay in the foreground; down: stop and remove everything; status')
  .addOption(
    new Option('--log-level <level>', 'LOG_LEVEL of the replicas (logs in <home>/cluster/logs/)').default('info'),
  )
  .addOption(
    new Option(
      '--pg-ha',
      'PostgreSQL as 3 Patroni nodes on a 3-node etcd (primary, synchronous standby, replica) behind HAProxy; docs/postgres-ha.md',
    ).default(false),
  );

const say = (line: string): void => void process.stdout.write(`cluster | ${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine<{ logLevel: string; pgHa: boolean }>(program, argv, CommandLineError);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${helpText(program)}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(helpText(program));
    return 0;
  }
  const command = (parsed.args[0] as string | undefined) ?? 'up';
  const dir = path.join(devStackConfig(process.env).home, 'cluster');
  const queues = [defaultTopology().queue, defaultTopology().deadLetterQueue];

  if (command === 'down') {
    const state = await readState(dir);
    if (state && state.ownerPid !== process.pid) {
      try {
        process.kill(state.ownerPid, 'SIGTERM'); // the owner tears down what it started, gracefully
        for (let i = 0; i < 300 && (await readState(dir)); i++) await new Promise((r) => setTimeout(r, 100));
      } catch {
        /* the owner is gone: tear down its leftovers below */
      }
    }
    const removed = await tearDown(dir, say);
    say(
      removed.length > 0 || state ? 'down: no process, namespace or rule of the cluster is left' : 'no cluster was up',
    );
    return 0;
  }
  if (command === 'status') {
    const state = await readState(dir);
    if (!state) {
      say('no cluster is up; start one with `npm run cluster`');
      return 1;
    }
    process.stdout.write(`${formatClusterStatus(await clusterStatus(state.plan, queues))}\n`);
    return 0;
  }
  if (command !== 'up') {
    process.stderr.write(`unknown command ${command}\n${helpText(program)}`);
    return 2;
  }

  const config = devStackConfig(process.env);
  const stack = await ClusterStack.up({
    dir,
    log: say,
    env: process.env,
    serviceEnv: { LOG_LEVEL: parsed.options.logLevel },
    pgHa: parsed.options.pgHa,
    pgBin: config.pgBin,
    rabbitBin: config.rabbitBin,
    observability: config.observability,
  });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stack.down().then(() => process.exit(0)));
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const pg = stack.plan.hosts.find((h) => h.role === 'postgres')!;
  say(
    [
      'ready. Try:',
      `  sumstream add 2 3                      (gRPC through HAProxy, ${stack.grpcAddress})`,
      `  curl ${stack.sumUrl}/sum           (REST through HAProxy)`,
      `  npm run cluster -- status              (health, active relay, quorum queue leader)`,
      `  HAProxy stats http://${stack.plan.lbHost}:${LB_PORTS.stats}/   Prometheus ${stack.prometheusUrl ?? '(off)'}`,
      `  RabbitMQ management http://${stack.plan.hosts.find((h) => h.role === 'rabbitmq')!.address}:${HOST_PORTS.management}/ (sumstream/sumstream)`,
      stack.plan.pgHa
        ? `  PostgreSQL ${stack.urls.databaseUrl} (the primary, through HAProxy; Patroni API on each pg-N :${HOST_PORTS.patroni})`
        : `  PostgreSQL ${stack.urls.databaseUrl} (host ${pg.ns})`,
      `  logs in ${path.join(dir, 'logs')}; Ctrl-C (or \`npm run cluster -- down\`) takes it all down`,
    ].join('\n'),
  );
  process.stdout.write(`${formatClusterStatus(await clusterStatus(stack.plan, queues))}\n`);
  await new Promise(() => undefined);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cluster: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
