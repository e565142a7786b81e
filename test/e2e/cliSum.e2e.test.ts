import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { collectCli, runCli, spawnCli } from '../helpers/runCli.js';
import { type Stack, startStack } from '../helpers/startStack.js';

const MAX = 2n ** 63n - 1n;

/** `sumstream add`, `sum --after` and `watch` on a real stack: read tokens, GET /sum?after= and GET /sum/stream. */
describe('the sumstream CLI: add, sum --after and watch', () => {
  let stack: Stack;
  let env: Record<string, string>;

  beforeAll(async () => {
    // A busy machine may take longer than the default 5 s to apply an addition: let `sum --after` wait.
    stack = await startStack({
      databaseUrl: inject('databaseUrl'),
      amqpManagementUrl: inject('amqpManagementUrl'),
      env: { READ_AFTER_TIMEOUT_MS: '60000' },
    });
    env = { ...stack.env };
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('adds through gRPC and reads a sum that includes the addition with sum --after, exactly past 2^64', async () => {
    const first = await runCli(['add', '2', '3', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const added = JSON.parse(first.stdout) as {
      sum: number;
      operation_id: string;
      replayed: boolean;
      read_token: string;
    };
    expect(added).toMatchObject({ sum: 5, replayed: false });
    expect(added.operation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(added.read_token).not.toBe('');

    const read = await runCli(['sum', '--after', added.read_token, '--timeout-ms', '60000', '--json'], env);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('{"sum":5}\n');

    // Twice int64's maximum: the sum leaves int64 and float precision; text and JSON stay exact.
    let expected = 5n;
    for (const key of ['cli-max-1', 'cli-max-2']) {
      const text = await runCli(['add', String(MAX), '0', '--key', key], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        new RegExp(`^sum {11}${MAX}\noperation_id  [0-9a-f-]{36}\nreplayed {6}false\nread_token {4}\\S+\n$`),
      );
      expect(text.stderr).toMatch(/^Read the sum once this addition is applied: npx sumstream sum --after \S+\n$/);
      const token = /^read_token {4}(\S+)$/m.exec(text.stdout)![1]!;
      expected += MAX;
      const sum = await runCli(['sum', '--after', token, '--timeout-ms', '60000'], env);
      expect(sum).toMatchObject({ code: 0, stdout: `${expected}\n` });
    }
    expect(expected).toBe(2n * MAX + 5n);
    const json = await runCli(['sum', '--json'], env);
    expect(json.stdout).toBe(`{"sum":${expected}}\n`);

    // The same key again is a replay: same operation, counted once.
    const replay = await runCli(['add', String(MAX), '0', '--key', 'cli-max-2', '--json'], env);
    expect(JSON.parse(replay.stdout)).toMatchObject({ replayed: true });
  });

  it('refuses a malformed read token as a usage error (exit 2) with the reason', async () => {
    const run = await runCli(['sum', '--after', 'not-a-token'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^sumstream: The sum-service refused the request \(400\): .+/);
  });

  it('watch --count 2 prints two updates as they come, then exits 0', async () => {
    const watch = spawnCli(['watch', '--count', '2', '--json'], env);
    const done = collectCli(watch);
    const client = stack.client();
    // Keep adding until the watcher has seen two updates and left.
    await eventually(
      async () => {
        if (watch.exitCode !== null) return;
        await client.add(1, 1);
        throw new Error('watch still running');
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    const run = await done;
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const updates = lines.map((line) => {
      const match = /^\{"sum":(\d+),"applied_events":(\d+)\}$/.exec(line);
      expect(match, line).not.toBeNull();
      return { sum: BigInt(match![1]!), applied: BigInt(match![2]!) };
    });
    // Exact past 2^64: the stack's sum already holds twice int64's maximum.
    expect(updates[0]!.sum).toBeGreaterThan(2n * MAX);
    expect(updates[1]!.applied).toBeGreaterThan(updates[0]!.applied);
    expect(updates[1]!.sum).toBeGreaterThan(updates[0]!.sum);

    const text = await collectCli(spawnCli(['watch', '--count', '1'], env));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}sum \d+ {2}applied_events \d+\n$/);
  });
});
