import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import type { CliContext } from '../../src/cli/cliContext.js';
import { UsageError } from '../../src/cli/cliErrors.js';
import { shellWord } from '../../src/cli/commands/addCommand.js';
import { createProgram, exitCodeOf } from '../../src/cli/createProgram.js';
import { parseInt64, parseIntInRange } from '../../src/cli/parseInt64.js';

/** Stops an action before any I/O and carries what it was asked to use. */
class Reached extends Error {}

/** Parses argv with the real command tree; returns the exit code and what was written. */
async function parse(argv: string[]): Promise<{ code: number; out: string; err: string; reached: boolean }> {
  let out = '';
  let err = '';
  let code = -1;
  const ctx: CliContext = {
    config: () => {
      throw new Reached();
    },
    io: { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) },
    env: {},
    repoRoot: '/nonexistent',
    nodeArgs: [],
    onInterrupt: () => undefined,
  };
  const program = createProgram(ctx, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code, out, err, reached: false };
  } catch (error) {
    if (error instanceof Reached) return { code, out, err, reached: true };
    if (error instanceof CommanderError) return { code: exitCodeOf(error), out, err, reached: false };
    if (error instanceof UsageError) return { code: 2, out, err: err + error.message, reached: false };
    throw error;
  }
}

/** Runs `sumstream load ...args` with `nodeArgs` before the tool's path (repo root /repo); the code and what the CLI wrote. */
async function loadChild(
  nodeArgs: string[],
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; out: string }> {
  let out = '';
  let code = -1;
  const ctx: CliContext = {
    config: () => {
      throw new Error('load reads no configuration');
    },
    io: { out: (text) => (out += `${text}\n`), err: () => undefined },
    env,
    repoRoot: '/repo',
    nodeArgs,
    onInterrupt: () => undefined,
  };
  await createProgram(ctx, (c) => (code = c)).parseAsync(['load', ...args], { from: 'user' });
  return { code, out };
}

describe('parseInt64', () => {
  it('keeps int64 operands exact, including both ends of the range', () => {
    expect(parseInt64('9223372036854775807', 'A')).toBe(9223372036854775807n);
    expect(parseInt64('-9223372036854775808', 'A')).toBe(-9223372036854775808n);
    expect(parseInt64('+42', 'A')).toBe(42n);
    expect(parseInt64(' 7 ', 'A')).toBe(7n);
  });

  it('refuses what is not an int64, naming the argument and the rule', () => {
    expect(() => parseInt64('9223372036854775808', 'A')).toThrow(
      /A 9223372036854775808 is outside int64 \[-9223372036854775808, 9223372036854775807\]/,
    );
    expect(() => parseInt64('-9223372036854775809', 'B')).toThrow(/B -9223372036854775809 is outside int64/);
    for (const bad of ['1.5', '1e3', '0x10', '', 'abc', '--1', '1 2'])
      expect(() => parseInt64(bad, 'A'), bad).toThrow(UsageError);
  });

  it('bounds whole-number flags', () => {
    expect(parseIntInRange('5', '--count', 1, 10)).toBe(5);
    expect(() => parseIntInRange('0', '--count', 1, 10)).toThrow(
      /--count must be a whole number from 1 to 10; got "0"/,
    );
    expect(() => parseIntInRange('-1', '--count', 1, 10)).toThrow(UsageError);
  });
});

describe('the sumstream command tree', () => {
  it('takes negative operands without --, and reaches the action', async () => {
    expect(await parse(['add', '-5', '3'])).toMatchObject({ reached: true });
    expect(await parse(['add', '5', '-3', '--key', 'k-1', '--json'])).toMatchObject({ reached: true });
  });

  it('exits 2 with the rule for bad operands, missing arguments, unknown commands and options', async () => {
    const bad = await parse(['add', 'x', '2']);
    expect(bad).toMatchObject({ code: 2, reached: false });
    expect(bad.err).toMatch(/A must be a whole number \(int64\)/);
    expect(bad.err).toMatch(/run with --help for usage/);
    expect(await parse(['add', '1'])).toMatchObject({ code: 2, reached: false });
    expect(await parse(['add', '1', '2', '3'])).toMatchObject({ code: 2, reached: false });
    expect(await parse(['nope'])).toMatchObject({ code: 2 });
    expect(await parse(['sum', '--bogus'])).toMatchObject({ code: 2 });
    expect(await parse(['watch', '--count', '0'])).toMatchObject({ code: 2 });
    expect(await parse(['sum', '--url', 'not a url'])).toMatchObject({ code: 2 });
    expect(await parse(['doctor', '--max-slot-lag-mib', 'lots'])).toMatchObject({ code: 2 });
  });

  it('refuses a key the add-service would refuse, before calling it', async () => {
    const spaced = await parse(['add', '1', '2', '--key', 'has space']);
    expect(spaced).toMatchObject({ code: 2, reached: false });
    expect(spaced.err).toMatch(/--key must be 1-128 printable ASCII characters without spaces/);
    expect(await parse(['add', '1', '2', '--key', 'x'.repeat(129)])).toMatchObject({ code: 2, reached: false });
  });

  it('answers --help with examples and exit code 0, for the program and each command', async () => {
    const top = await parse(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['up', 'migrate', 'add', 'sum', 'watch', 'doctor', 'load'])
      expect(top.out).toContain(`  ${command}`);
    for (const command of ['up', 'migrate', 'add', 'sum', 'watch', 'doctor']) {
      const help = await parse([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.out, command).toMatch(/Examples:\n {2}npx sumstream /);
      expect(help.out, command).toMatch(/Exit codes: 0 /);
    }
  });

  it('runs the load tool with every argument as given, --json and --out included, and exits with its code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sumstream-cli-load-'));
    try {
      const seen = path.join(dir, 'argv.json');
      // `node -e SCRIPT tool args...` stands in for the tool: it records what it was given and exits 3.
      const record = `require('node:fs').writeFileSync(process.env.SEEN, JSON.stringify(process.argv.slice(1))); process.exit(3)`;
      const argv = await loadChild(['-e', record], { SEEN: seen }, [
        '--target',
        'sum',
        '--duration',
        '1s',
        '--json',
        '--out',
        'x/y',
        '--out=z',
      ]);
      expect(argv.code).toBe(3);
      expect(JSON.parse(await readFile(seen, 'utf8'))).toEqual([
        path.join('/repo', 'src', 'load', 'main.ts'),
        '--target',
        'sum',
        '--duration',
        '1s',
        '--json',
        '--out',
        'x/y',
        '--out=z',
      ]);

      const help = await loadChild(['-e', record], { SEEN: seen }, ['--duration', '1s', '--help']);
      expect(help.out).toMatch(/^sumstream load: the load tool/);
      expect(help.out).toContain('--json');
      expect(JSON.parse(await readFile(seen, 'utf8'))).toEqual([
        path.join('/repo', 'src', 'load', 'main.ts'),
        '--help',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('shellWord', () => {
  it('leaves plain tokens alone and quotes the rest so the printed command can be pasted', () => {
    expect(shellWord('2ae663ae-4f58-4d49-9bd0-99aab85561ea')).toBe('2ae663ae-4f58-4d49-9bd0-99aab85561ea');
    expect(shellWord('a b')).toBe("'a b'");
    expect(shellWord("it's$x")).toBe("'it'\\''s$x'");
  });
});
