import type { Command } from 'commander';
import { redactUrl } from '../../shared/log/createLogger.js';
import type { CliContext } from '../cliContext.js';
import { EXIT } from '../cliErrors.js';
import { checkPostgres } from '../doctor/checkPostgres.js';
import { checkProcesses } from '../doctor/checkProcesses.js';
import { checkRabbit } from '../doctor/checkRabbit.js';
import { doctorReport, formatDoctorReport } from '../doctor/doctorReport.js';
import { toJson } from '../toJson.js';
import { helpFooter, intOption, JSON_FLAG } from './options.js';

const MIB = 1024 * 1024;

/** `sumstream doctor`: read-only checks of everything SumStream needs, each OK / WARN / FAIL with the fix. */
export function doctorCommand(
  program: Command,
  ctx: CliContext,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  program
    .command('doctor')
    .summary('check PostgreSQL, RabbitMQ and the three processes; say how to fix what is wrong')
    .description(
      'Checks, read-only, what SumStream needs, and prints each check as OK, WARN or FAIL with the fix:\n' +
        "  PostgreSQL  reachable, version, wal_level = logical, the role's REPLICATION, max_replication_slots and\n" +
        '              max_wal_senders, the publication and its table, the replication slots (active, lag in\n' +
        '              bytes), the migrations\n' +
        "  RabbitMQ    reachable, the exchanges and queues (passive declares: nothing is created), the main queue's\n" +
        '              ready messages and consumers, dead letters, the bindings (through the management API)\n' +
        '  Processes   /healthz and /readyz of add-service, cdc-relay and sum-service (WARN when not running)\n' +
        'It reads the same variables as the services: DATABASE_URL, AMQP_URL, SUMSTREAM_QUEUE…, RELAY_SLOT,\n' +
        'RELAY_PUBLICATION, RELAY_OUTBOX_TABLE, ADD_METRICS_PORT, RELAY_METRICS_PORT, SUM_PORT (or SUMSTREAM_SUM_URL),\n' +
        'and SUMSTREAM_RABBIT_MANAGEMENT_URL for the bindings.',
    )
    .option(
      '--max-slot-lag-mib <n>',
      'a slot further behind than this many MiB of WAL is a WARN',
      intOption('--max-slot-lag-mib', 0, 1_048_576),
      64,
    )
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      helpFooter(
        [
          'npx sumstream doctor',
          'npx sumstream doctor --json | jq \'.checks[] | select(.status != "OK")\'',
          'DATABASE_URL=postgres://relay:secret@db:5432/sumstream npx sumstream doctor',
        ],
        'Exit codes: 0 nothing FAILed (WARNs allowed), 1 something FAILed, 2 usage error.',
      ),
    )
    .action((options: { maxSlotLagMib: number; json?: boolean }) =>
      run(async () => {
        const config = ctx.config();
        const [postgres, rabbit, processes] = await Promise.all([
          checkPostgres({ ...config, maxSlotLagBytes: BigInt(options.maxSlotLagMib) * BigInt(MIB) }),
          checkRabbit({ amqpUrl: config.amqpUrl, topology: config.topology, managementUrl: config.managementUrl }),
          checkProcesses([
            { name: 'add-service', baseUrl: config.addMetricsUrl, portKnob: 'ADD_METRICS_PORT' },
            { name: 'cdc-relay', baseUrl: config.relayMetricsUrl, portKnob: 'RELAY_METRICS_PORT' },
            { name: 'sum-service', baseUrl: config.sumUrl, portKnob: 'SUM_PORT (or SUMSTREAM_SUM_URL)' },
          ]),
        ]);
        const report = doctorReport([...postgres, ...rabbit, ...processes], {
          PostgreSQL: redactUrl(config.databaseUrl),
          RabbitMQ: redactUrl(config.amqpUrl),
          Processes: 'GET /healthz and /readyz of each',
        });
        ctx.io.out(options.json ? toJson(report, 2) : formatDoctorReport(report));
        return report.ok ? EXIT.ok : EXIT.failure;
      }),
    );
}
