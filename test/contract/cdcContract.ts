/**
 * The contract every change data capture path must meet (the built-in cdc-relay and Debezium
 * Server): Adds go in through gRPC, the CDC under test carries the outbox to RabbitMQ, the real
 * sum-service applies them, and the sum must come out exact — with duplicates, with a SIGKILL of
 * the CDC in the middle of a stream of Adds, and with nothing dead-lettered.
 */
import { spawnSync } from 'node:child_process';
import amqp, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { defaultTopology } from '../../src/shared/config/commonConfig.js';

const TOPOLOGY = defaultTopology();
import { METRIC } from '../../src/shared/metrics/metricNames.js';
import { decodeEvent } from '../../src/sum-service/decodeEvent.js';
import { eventually } from '../helpers/eventually.js';
import { type Stack, startStack } from '../helpers/startStack.js';

/** A running CDC process under test. */
export interface CdcHandle {
  /** Graceful stop; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash; resolves once it exited. */
  kill(): Promise<void>;
}

export interface CdcContractOptions {
  /** Longest one start of the CDC may take, ms (it is installed already: nothing is fetched during a test). Default 60000. */
  startTimeoutMs?: number;
}

/** Copies of what the CDC published: a queue of the test's own, bound like the sum-service's. */
const SPY_QUEUE = 'contract.spy';

/**
 * Declares the contract suite for one CDC. `startCdc` starts it against `stack` (the stack runs
 * add-service and sum-service only) and resolves once it streams; it is called again, with the
 * same stack, to restart the CDC after a kill.
 */
export function describeCdcContract(
  name: string,
  startCdc: (stack: Stack) => Promise<CdcHandle>,
  options: CdcContractOptions = {},
): void {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  describe(`CDC contract: ${name}`, () => {
    let stack: Stack;
    let cdc: CdcHandle | undefined;
    /** Why the first start of the CDC failed (e.g. it is not installed): every test fails with it, rather than being skipped. */
    let startFailure: unknown;
    let amqpConnection: ChannelModel;
    let channel: Channel;
    let expected = 0n;
    /** Every message the CDC published during the first test, as RabbitMQ delivered it. */
    let published: GetMessage[] = [];

    beforeAll(async () => {
      stack = await startStack({
        databaseUrl: inject('databaseUrl'),
        amqpManagementUrl: inject('amqpManagementUrl'),
        services: ['add-service', 'sum-service'],
      });
      amqpConnection = await amqp.connect(stack.amqpUrl);
      channel = await amqpConnection.createChannel();
      await channel.assertQueue(SPY_QUEUE, { durable: false });
      await channel.bindQueue(SPY_QUEUE, TOPOLOGY.exchange, TOPOLOGY.routingKey);
      try {
        cdc = await startCdc(stack);
      } catch (error) {
        startFailure = error;
      }
    }, startTimeoutMs + 60_000);

    afterAll(async () => {
      await cdc?.stop();
      await amqpConnection?.close().catch(() => undefined);
      await stack?.stop();
    });

    const showLogsOnFailure = () => {
      if (startFailure !== undefined)
        throw startFailure instanceof Error ? startFailure : new Error(JSON.stringify(startFailure));
      onTestFailed(() => console.error(`last lines of the stack's processes:\n${stack.logs.slice(-80).join('\n')}`));
    };

    it(
      '(a) carries 300 Adds from 10 concurrent clients to the sum exactly, each with its event id and payload',
      { timeout: 120_000 },
      async () => {
        showLogsOnFailure();
        expected += await addConcurrently(stack, { clients: 10, perClient: 30 });
        await stack.waitForSum(expected, 90_000);
        expect(await ledgerCoverage(stack)).toEqual({ ledger: 300, applied: 300, missing: 0 });

        published = await eventually(
          async () => {
            const messages = await drain(channel, SPY_QUEUE);
            published.push(...messages);
            expect(published.length).toBeGreaterThanOrEqual(300);
            return published;
          },
          { timeoutMs: 20_000 },
        );
        // Every message is what the consumer already takes: its event id is the ledger row's id and
        // its amount is the row's a + b.
        const ledger = new Map(
          (await stack.query<{ id: string; result: string }>('SELECT id::text, result::text FROM additions')).map(
            (row) => [row.id, BigInt(row.result)],
          ),
        );
        const ids = new Set<string>();
        for (const message of published) {
          const decoded = decodeEvent(message.content, {
            messageId: message.properties.messageId,
            type: message.properties.type,
            headers: message.properties.headers,
          });
          expect(decoded.kind, message.content.toString()).toBe('apply');
          if (decoded.kind !== 'apply') continue;
          expect(ledger.get(decoded.event.eventId)).toBe(decoded.event.amount);
          ids.add(decoded.event.eventId);
        }
        expect(ids.size).toBe(300);
        const sample = published[0]!;
        console.info(
          `[${name}] 300 Adds; GET /sum = ${await stack.sum()} (expected ${expected}). One message as received:\n` +
            JSON.stringify(
              {
                exchange: sample.fields.exchange,
                routingKey: sample.fields.routingKey,
                properties: sample.properties,
                body: sample.content.toString(),
              },
              null,
              2,
            ),
        );
      },
    );

    it('(b) does not count an event twice when it arrives again', { timeout: 120_000 }, async () => {
      showLogsOnFailure();
      const before = await duplicatesSkipped(stack);
      // The CDC's own messages once more, byte for byte (as a redelivery or a replay would bring them).
      const confirm = await amqpConnection.createConfirmChannel();
      for (const message of published) {
        const { messageId, type, contentType, headers, deliveryMode } = message.properties;
        confirm.publish(message.fields.exchange, message.fields.routingKey, message.content, {
          messageId,
          type,
          contentType,
          headers,
          deliveryMode,
        });
      }
      await confirm.waitForConfirms();
      await confirm.close();
      await eventually(
        async () => expect(await duplicatesSkipped(stack)).toBeGreaterThanOrEqual(before + published.length),
        { timeoutMs: 30_000 },
      );
      // Every ledger event again in the built-in relay's format (`npm run republish`): the CDC's
      // event ids are the ledger ids, so these are duplicates as well.
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cdc-relay/republishMain.ts'], {
        env: stack.env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr + run.stdout).toBe(0);
      await eventually(
        async () => expect(await duplicatesSkipped(stack)).toBeGreaterThanOrEqual(before + published.length + 300),
        { timeoutMs: 30_000 },
      );
      await eventually(async () => expect(await queueDepth(channel, TOPOLOGY.queue)).toBe(0), { timeoutMs: 30_000 });
      expect(await stack.sum()).toBe(expected);
      console.info(
        `[${name}] ${(await duplicatesSkipped(stack)) - before} duplicates skipped; GET /sum still ${await stack.sum()}`,
      );
      await drain(channel, SPY_QUEUE);
    });

    it(
      '(c) loses and doubles nothing when the CDC is killed -9 in the middle of a stream of Adds and started again',
      { timeout: startTimeoutMs + 180_000 },
      async () => {
        showLogsOnFailure();
        const duplicatesBefore = await duplicatesSkipped(stack);
        let acknowledged = 0;
        let atKill = { acknowledged: 0, applied: 0 };
        const faults = (async () => {
          await eventually(() => expect(acknowledged).toBeGreaterThan(150), { timeoutMs: 60_000, intervalMs: 5 });
          await cdc!.kill();
          const [row] = await stack.query<{ n: string }>('SELECT count(*) AS n FROM processed_events');
          atKill = { acknowledged, applied: Number(row!.n) - 300 };
          cdc = await startCdc(stack);
        })();
        expected += await addConcurrently(stack, {
          clients: 10,
          perClient: 50,
          pauseMs: 10,
          onAcknowledged: () => acknowledged++,
        });
        await faults;
        await stack.waitForSum(expected, 120_000);
        expect(await ledgerCoverage(stack)).toEqual({ ledger: 800, applied: 800, missing: 0 });
        console.info(
          `[${name}] killed -9 after ${atKill.acknowledged} of 500 Adds were acknowledged (${atKill.applied} applied by then), restarted; ` +
            `GET /sum = ${await stack.sum()} (expected ${expected}); ${(await duplicatesSkipped(stack)) - duplicatesBefore} replayed duplicates skipped`,
        );
      },
    );

    it('(d) dead-letters nothing', async () => {
      showLogsOnFailure();
      expect(await queueDepth(channel, TOPOLOGY.deadLetterQueue)).toBe(0);
      expect(await metric(stack, METRIC.deadLettered)).toBe(0);
    });
  });
}

/** Runs `perClient` Adds on each of `clients` connections at once; resolves to the total of all sums. */
async function addConcurrently(
  stack: Stack,
  options: { clients: number; perClient: number; pauseMs?: number; onAcknowledged?: () => void },
): Promise<bigint> {
  const totals = await Promise.all(
    Array.from({ length: options.clients }, async (_, c) => {
      const client = stack.client();
      let total = 0n;
      for (let i = 0; i < options.perClient; i++) {
        const a = BigInt(c * 1000 + i);
        const b = BigInt((i % 7) - 3) * 1_000_000_007n;
        const reply = await client.add(a, b);
        expect(BigInt(reply.sum)).toBe(a + b);
        total += a + b;
        options.onAcknowledged?.();
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
      return total;
    }),
  );
  return totals.reduce((x, y) => x + y, 0n);
}

async function ledgerCoverage(stack: Stack): Promise<{ ledger: number; applied: number; missing: number }> {
  const [row] = await stack.query<{ ledger: string; applied: string; missing: string }>(
    `SELECT (SELECT count(*) FROM additions) AS ledger, (SELECT count(*) FROM processed_events) AS applied,
            (SELECT count(*) FROM additions a LEFT JOIN processed_events p ON p.event_id = a.id::text WHERE p.event_id IS NULL) AS missing`,
  );
  return { ledger: Number(row!.ledger), applied: Number(row!.applied), missing: Number(row!.missing) };
}

async function drain(channel: Channel, queue: string): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  for (
    let message = await channel.get(queue, { noAck: true });
    message;
    message = await channel.get(queue, { noAck: true })
  )
    messages.push(message);
  return messages;
}

async function queueDepth(channel: Channel, queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}

/** A counter of the sum-service's /metrics (summed over its label sets); 0 when absent. */
async function metric(stack: Stack, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.ports.sum}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce(
    (total, match) => total + Number(match[1]),
    0,
  );
}

const duplicatesSkipped = (stack: Stack) => metric(stack, METRIC.duplicatesSkipped);
