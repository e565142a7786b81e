/**
 * Command line of the load tool: parsing (commander, through src/shared/cli), validation with
 * messages that say what to change, defaults and the help text. Pure apart from `new Date()` for
 * the default output folder.
 */
import { isIP } from 'node:net';
import { type Command, Option } from 'commander';
import { parseDuration, wholeNumber } from '../shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../shared/cli/parseCommandLine.js';
import { PORT_KNOBS } from '../shared/config/portKnobs.js';

export type TargetName = 'add' | 'sum';
export type LoadMode = 'open' | 'closed';

export interface LoadOptions {
  /** Which endpoints get traffic: gRPC Addition/Add, REST GET /sum, or both (each its own schedule). */
  targets: TargetName[];
  mode: LoadMode;
  /** Open loop: arrivals per second, per target. */
  rate: number;
  /** HTTP/2 channels (gRPC) and keep-alive sockets (REST), per target. */
  connections: number;
  /** Closed loop: concurrent workers per target, each waiting for its answer before the next call. */
  workers: number;
  /** Closed loop: pause between one worker's calls, ms. */
  thinkMs: number;
  durationMs: number;
  /** Stop after this many requests per target (bounded count), if given. */
  maxRequests: number | undefined;
  /** Open loop: most requests in flight per target; arrivals beyond it are counted as dropped. */
  maxInFlight: number;
  /** Deadline of one call, ms. */
  timeoutMs: number;
  /** gRPC address host:port of the add-service. */
  grpc: { host: string; port: number; address: string };
  /** Base URL of the sum-service (GET <rest>/sum). */
  rest: URL;
  outDir: string;
  checkSum: boolean;
  /** How long the sum check waits for the pipeline to apply every acknowledged Add, ms. */
  drainTimeoutMs: number;
  /** Render plot PNGs when a converter is found (rsvg-convert, ImageMagick, Chromium). */
  png: boolean;
  /** Progress line every second on stderr. */
  progress: boolean;
  /** Print report.json on stdout (one JSON document) and every other line on stderr. */
  json: boolean;
}

/** A bad load tool command line (a CommandLineError, so the shared parsers and k6SumCheck pass it through). */
export class LoadOptionsError extends CommandLineError {
  override name = 'LoadOptionsError';
}

/** Where the add-service and the sum-service listen unless told otherwise: their own port defaults. */
export const DEFAULT_GRPC = `127.0.0.1:${PORT_KNOBS.grpcPort.default}`;
export const DEFAULT_REST = `http://127.0.0.1:${PORT_KNOBS.sumPort.default}`;

const MAX_DURATION_MS = 3_600_000;

/** True for 127.0.0.0/8, ::1 (also ::ffff:127.x.y.z) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.split('.')[0] === '127';
  if (isIP(bare) !== 6) return false;
  // The URL parser writes IPv6 in its shortest form: [::1], and [::ffff:7fxx:xxxx] for ::ffff:127.x.y.z.
  const normal = new URL(`http://[${bare}]/`).hostname;
  return normal === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(normal);
}

function refuseRemote(host: string, flag: string): void {
  if (!isLoopbackHost(host)) {
    throw new LoadOptionsError(
      `${flag}: refusing to send load to "${host}": the load tool only targets this machine (127.0.0.0/8, ::1 or localhost). Start the stack locally (npm start) and point ${flag} at it.`,
    );
  }
}

export function parseGrpcAddress(text: string): LoadOptions['grpc'] {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(text.trim());
  if (!match)
    throw new LoadOptionsError(
      `--grpc "${text}" is not HOST:PORT (e.g. ${DEFAULT_GRPC}, [::1]:${PORT_KNOBS.grpcPort.default})`,
    );
  const host = match[1]!;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new LoadOptionsError(`--grpc port ${port} is out of range 1-65535`);
  refuseRemote(host, '--grpc');
  return { host, port, address: `${host}:${port}` };
}

export function parseRestUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LoadOptionsError(`--rest "${text}" is not a URL (e.g. ${DEFAULT_REST})`);
  }
  if (url.protocol !== 'http:')
    throw new LoadOptionsError(`--rest "${text}": only http:// is supported (the sum-service serves plain HTTP)`);
  refuseRemote(url.hostname, '--rest');
  return url;
}

/** The report folder when --out is not given: .sumstream/load/<timestamp>/. */
export function defaultOutDir(now: Date = new Date()): string {
  return `.sumstream/load/${now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-')}/`;
}

function parseTarget(text: string): TargetName[] {
  if (text === 'both') return ['add', 'sum'];
  if (text === 'add' || text === 'sum') return [text];
  throw new LoadOptionsError(`--target "${text}" is not one of add, sum, both`);
}

function parseMode(text: string): LoadMode {
  if (text === 'open' || text === 'closed') return text;
  throw new LoadOptionsError(`--mode "${text}" is not one of open, closed`);
}

/** A duration flag bounded to [min, max] ms; `outOfRange` is the message when it is not. */
function boundedDuration(
  flag: string,
  min: number,
  max: number,
  outOfRange: (text: string) => string,
): (text: string) => number {
  return (text) => {
    const ms = parseDuration(text, flag);
    if (ms < min || ms > max) throw new LoadOptionsError(outOfRange(text));
    return ms;
  };
}

/** What commander hands back; cross-flag rules and renames are applied in parseLoadOptions. */
interface ParsedFlags {
  target: TargetName[];
  mode: LoadMode;
  rate: number;
  connections: number;
  workers?: number;
  think: number;
  duration: number;
  maxRequests?: number;
  maxInFlight: number;
  timeout: number;
  grpc: LoadOptions['grpc'];
  rest: URL;
  out: string;
  checkSum?: boolean;
  drainTimeout: number;
  png: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** The flags, their parsers, defaults and help; a new program for each parse (commander keeps state). */
function loadProgram(now: Date): Command {
  const flag = <T>(
    flags: string,
    description: string,
    parse: (text: string) => T,
    fallback?: { value: T; shown: string },
  ): Option => {
    const option = new Option(flags, description).argParser(parse);
    return fallback ? option.default(fallback.value, fallback.shown) : option;
  };
  return commandLine('npm run load --')
    .usage('[options]')
    .addOption(
      flag('--target <add|sum|both>', 'gRPC Addition/Add, REST GET /sum, or both', parseTarget, {
        value: ['add', 'sum'],
        shown: 'both',
      }),
    )
    .addOption(
      flag(
        '--mode <open|closed>',
        'open loop: constant arrival rate, independent of answers;\nclosed loop: --workers workers, each calls, waits, (thinks), calls again',
        parseMode,
        { value: 'open', shown: 'open' },
      ),
    )
    .addOption(
      flag(
        '--rate <N>',
        'open loop: requests per second, per target',
        wholeNumber('--rate', { min: 1, max: 1_000_000 }),
        { value: 200, shown: '200' },
      ),
    )
    .addOption(
      flag(
        '--connections <N>',
        'gRPC channels (HTTP/2 connections) / HTTP keep-alive sockets, per target',
        wholeNumber('--connections', { min: 1, max: 20_000 }),
        { value: 50, shown: '50' },
      ),
    )
    .addOption(
      flag(
        '--workers <N>',
        'closed loop: workers per target (default: --connections)',
        wholeNumber('--workers', { min: 1, max: 100_000 }),
      ),
    )
    .addOption(
      flag(
        '--think <DURATION>',
        "closed loop: pause between one worker's calls",
        (text) => parseDuration(text, '--think'),
        { value: 0, shown: '0' },
      ),
    )
    .addOption(
      flag(
        '--duration <DURATION>',
        'how long to send, e.g. 30s, 2m, 500ms; at most 1h',
        boundedDuration(
          '--duration',
          100,
          MAX_DURATION_MS,
          (text) => `--duration ${text} is out of range: use 100ms to 1h (load runs are bounded in time)`,
        ),
        { value: 30_000, shown: '30s' },
      ),
    )
    .addOption(
      flag(
        '--max-requests <N>',
        'also stop after N requests per target',
        wholeNumber('--max-requests', { min: 1, max: 1_000_000_000 }),
      ),
    )
    .addOption(
      flag(
        '--max-in-flight <N>',
        'open loop: cap of outstanding requests per target; arrivals past it are counted as dropped',
        wholeNumber('--max-in-flight', { min: 1, max: 1_000_000 }),
        {
          value: 20_000,
          shown: '20000',
        },
      ),
    )
    .addOption(
      flag(
        '--timeout <DURATION>',
        'deadline of one call',
        boundedDuration('--timeout', 1, 300_000, (text) => `--timeout ${text} is out of range: use 1ms to 5m`),
        { value: 10_000, shown: '10s' },
      ),
    )
    .addOption(
      flag('--grpc <HOST:PORT>', 'add-service', parseGrpcAddress, {
        value: parseGrpcAddress(DEFAULT_GRPC),
        shown: DEFAULT_GRPC,
      }),
    )
    .addOption(
      flag('--rest <URL>', 'sum-service base URL', parseRestUrl, {
        value: parseRestUrl(DEFAULT_REST),
        shown: DEFAULT_REST,
      }),
    )
    .addOption(
      flag('--out <DIR>', 'report folder', (text) => text, {
        value: defaultOutDir(now),
        shown: '.sumstream/load/<timestamp>/',
      }),
    )
    .addOption(
      new Option(
        '--check-sum',
        'read GET /sum before and after; after the run, wait for the pipeline to apply every acknowledged Add and compare (PASS/FAIL, exit 1 on FAIL)',
      ),
    )
    .addOption(
      flag(
        '--drain-timeout <DURATION>',
        'how long --check-sum waits',
        boundedDuration('--drain-timeout', 0, MAX_DURATION_MS, (text) => `--drain-timeout ${text} is over 1h`),
        { value: 60_000, shown: '60s' },
      ),
    )
    .addOption(new Option('--no-png', 'do not try to render PNG plots'))
    .addOption(new Option('--quiet', 'no progress line'))
    .addOption(
      new Option(
        '--json',
        "print the run's report.json on stdout (one JSON document); every other line goes to stderr",
      ),
    );
}

/** What -h prints, and what follows a message about bad options. */
export const USAGE = helpText(
  loadProgram(new Date()),
  'Targets must be on this machine: 127.0.0.0/8, ::1 or localhost.',
);

/** Parses `argv` (without node and script); throws LoadOptionsError with a message for the user. Returns 'help' for -h. */
export function parseLoadOptions(argv: string[], now: Date = new Date()): LoadOptions | 'help' {
  const parsed = parseCommandLine<ParsedFlags>(loadProgram(now), argv, LoadOptionsError);
  if (parsed === 'help') return 'help';
  const flags = parsed.options;
  if (flags.mode === 'open' && flags.think > 0)
    throw new LoadOptionsError(
      '--think applies to --mode closed only (open loop sends at --rate whatever the answers)',
    );
  if (flags.mode === 'open' && flags.workers !== undefined)
    throw new LoadOptionsError('--workers applies to --mode closed only; open loop uses --rate and --connections');
  return {
    targets: flags.target,
    mode: flags.mode,
    rate: flags.rate,
    connections: flags.connections,
    workers: flags.workers ?? flags.connections,
    thinkMs: flags.think,
    durationMs: flags.duration,
    maxRequests: flags.maxRequests,
    maxInFlight: flags.maxInFlight,
    timeoutMs: flags.timeout,
    grpc: flags.grpc,
    rest: flags.rest,
    outDir: flags.out,
    checkSum: flags.checkSum === true,
    drainTimeoutMs: flags.drainTimeout,
    png: flags.png,
    progress: flags.quiet !== true,
    json: flags.json === true,
  };
}
