import { describe, expect, it } from 'vitest';
import {
  isLoopbackHost,
  type LoadOptions,
  LoadOptionsError,
  parseLoadOptions,
  USAGE,
} from '../../src/load/loadOptions.js';
import { formatProgress } from '../../src/load/progressLine.js';
import { parseDuration, parseWholeNumber } from '../../src/shared/cli/commandLineValues.js';
import { CommandLineError } from '../../src/shared/cli/parseCommandLine.js';
import { PORT_KNOBS } from '../../src/shared/config/portKnobs.js';

const parse = (...argv: string[]): LoadOptions => {
  const options = parseLoadOptions(argv, new Date('2025-11-26T02:03:04.567Z'));
  if (options === 'help') throw new Error('help');
  return options;
};

describe('parseLoadOptions', () => {
  it('has defaults for a short local run', () => {
    const options = parse();
    expect(options).toMatchObject({
      targets: ['add', 'sum'],
      mode: 'open',
      rate: 200,
      connections: 50,
      workers: 50,
      durationMs: 30_000,
      checkSum: false,
      outDir: '.sumstream/load/2025-11-26T02-03-04Z/',
    });
    expect(options.grpc.address).toBe('127.0.0.1:50051');
    expect(options.rest.href).toBe('http://127.0.0.1:4000/');
    expect(options).toMatchObject({
      thinkMs: 0,
      timeoutMs: 10_000,
      drainTimeoutMs: 60_000,
      maxInFlight: 20_000,
      maxRequests: undefined,
      png: true,
      progress: true,
      json: false,
    });
  });

  it("takes the gRPC and REST defaults from the services' port knobs, also in the help", () => {
    const options = parse();
    expect(options.grpc.port).toBe(PORT_KNOBS.grpcPort.default);
    expect(options.rest.port).toBe(String(PORT_KNOBS.sumPort.default));
    expect(USAGE).toContain(`(default: 127.0.0.1:${PORT_KNOBS.grpcPort.default})`);
    expect(USAGE).toContain(`(default: http://127.0.0.1:${PORT_KNOBS.sumPort.default})`);
  });

  it('documents every flag in the help text', () => {
    expect(USAGE).toMatch(/^Usage: npm run load -- \[options\]/);
    for (const flag of [
      '--target',
      '--mode',
      '--rate',
      '--connections',
      '--workers',
      '--think',
      '--duration',
      '--max-requests',
      '--max-in-flight',
      '--timeout',
      '--grpc',
      '--rest',
      '--out',
      '--check-sum',
      '--drain-timeout',
      '--no-png',
      '--quiet',
      '--json',
      '-h, --help',
    ]) {
      expect(USAGE, flag).toContain(`  ${flag}`);
    }
    expect(USAGE).toMatch(/Targets must be on this machine/);
  });

  it('reads --json, --quiet, --no-png and the --flag=value form', () => {
    expect(parse('--json', '--quiet', '--no-png', '--out=x/y', '--duration=2s')).toMatchObject({
      json: true,
      progress: false,
      png: false,
      outDir: 'x/y',
      durationMs: 2000,
    });
    expect(parseLoadOptions(['--help'])).toBe('help');
    expect(parseLoadOptions(['--bogus', '-h'])).toBe('help');
  });

  it('reads the documented flags', () => {
    const options = parse(
      '--target',
      'add',
      '--mode',
      'closed',
      '--connections',
      '1000',
      '--workers',
      '3000',
      '--think',
      '7s',
      '--duration',
      '2m',
      '--grpc',
      '[::1]:6000',
      '--rest',
      'http://localhost:4100',
      '--check-sum',
      '--max-requests',
      '500',
    );
    expect(options).toMatchObject({
      targets: ['add'],
      mode: 'closed',
      connections: 1000,
      workers: 3000,
      thinkMs: 7000,
      durationMs: 120_000,
      checkSum: true,
      maxRequests: 500,
    });
    expect(options.grpc).toEqual({ host: '[::1]', port: 6000, address: '[::1]:6000' });
    expect(parseLoadOptions(['-h'])).toBe('help');
  });

  it('refuses targets that are not on this machine, saying which ones are allowed', () => {
    expect(() => parse('--grpc', '10.0.0.5:50051')).toThrow(
      /--grpc: refusing to send load to "10\.0\.0\.5".*127\.0\.0\.0\/8, ::1 or localhost/,
    );
    expect(() => parse('--rest', 'http://example.com:4000')).toThrow(/--rest: refusing to send load to "example\.com"/);
    expect(() => parse('--rest', 'http://192.168.1.2')).toThrow(/refusing/);
    expect(() => parse('--grpc', '[::2]:50051')).toThrow(/refusing/);
  });

  it('explains bad values', () => {
    expect(() => parse('--target', 'all')).toThrow('--target "all" is not one of add, sum, both');
    expect(() => parse('--rate', '0')).toThrow('--rate 0 is out of range');
    expect(() => parse('--rate', 'fast')).toThrow('--rate "fast" is not a whole number');
    expect(() => parse('--duration', '3 days')).toThrow(/not a duration/);
    expect(() => parse('--duration', '2h')).toThrow(/out of range: use 100ms to 1h/);
    expect(() => parse('--grpc', '127.0.0.1')).toThrow(/not HOST:PORT/);
    expect(() => parse('--rest', 'https://127.0.0.1')).toThrow(/only http:\/\//);
    expect(() => parse('--workers', '5')).toThrow(/--workers applies to --mode closed only/);
    expect(() => parse('--bogus')).toThrow(/Unknown option '--bogus'/);
    expect(() => parse('--think', '1s')).toThrow(/--think applies to --mode closed only/);
    expect(() => parse('--timeout', '6m')).toThrow('--timeout 6m is out of range: use 1ms to 5m');
    expect(() => parse('--drain-timeout', '2h')).toThrow('--drain-timeout 2h is over 1h');
    expect(() => parse('--rate')).toThrow(/argument missing/);
    expect(() => parse('extra')).toThrow(/Too many arguments/);
  });

  it('throws LoadOptionsError for every bad command line, from commander and from the value parsers', () => {
    for (const argv of [['--bogus'], ['--rate', 'x'], ['--duration', 'soon'], ['--grpc', 'nope'], ['--rate']]) {
      expect(() => parse(...argv), argv.join(' ')).toThrow(LoadOptionsError);
    }
  });
});

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])(
    'accepts %s',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );
  it.each([
    '10.0.0.1',
    '128.0.0.1',
    '0.0.0.0',
    '::',
    '::2',
    '::ffff:10.0.0.1',
    'example.com',
    'localhost.example.com',
    '',
  ])('refuses %s', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    expect([
      parseDuration('250ms', 'x'),
      parseDuration('1.5s', 'x'),
      parseDuration('2m', 'x'),
      parseDuration('1h', 'x'),
      parseDuration('3', 'x'),
    ]).toEqual([250, 1500, 120_000, 3_600_000, 3000]);
  });

  it('names the flag and the forms it takes', () => {
    expect(() => parseDuration('3 days', '--hold')).toThrow(
      new CommandLineError('--hold "3 days" is not a duration: write e.g. 500ms, 30s, 2m or 1h'),
    );
  });
});

describe('parseWholeNumber', () => {
  it('takes digits only, within the range, and says which rule failed', () => {
    expect(parseWholeNumber('42', '--n', { min: 1, max: 100 })).toBe(42);
    expect(parseWholeNumber('0', '--n', { min: 0 })).toBe(0);
    for (const bad of ['-1', '1.5', '1e3', '0x10', '', 'abc'])
      expect(() => parseWholeNumber(bad, '--n', { min: 0 }), bad).toThrow(`--n "${bad}" is not a whole number`);
    expect(() => parseWholeNumber('101', '--n', { min: 1, max: 100 })).toThrow('--n 101 is out of range: use 1 to 100');
    expect(() => parseWholeNumber('0', '--n', { min: 1 })).toThrow('--n "0" must be a whole number >= 1');
  });
});

describe('formatProgress', () => {
  it('shows rate, errors and p99 of the last second per target', () => {
    const line = formatProgress(3200, 30_000, [
      {
        name: 'add',
        window: { t: 3, seconds: 1, rate: 1999.6, ok: 1990, errors: 10, dropped: 0, p50Ms: 1, p99Ms: 4.1234, maxMs: 9 },
        snapshot: { requests: 6000, ok: 5990, errors: 10, dropped: 0, inFlight: 12 },
      },
      { name: 'sum', window: undefined, snapshot: { requests: 0, ok: 0, errors: 0, dropped: 0, inFlight: 0 } },
    ]);
    expect(line).toBe(
      '[ 3s/30s] add 2000/s err 10 (0.17%) p99 4.12 ms inflight 12 | sum -/s err 0 (0.00%) p99 - inflight 0',
    );
  });
});
