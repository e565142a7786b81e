/**
 * Command line of the load tool: parsing (node:util parseArgs), validation with messages that say
 * what to change, and defaults. Pure apart from `new Date()` for the default output folder.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

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
}

export class LoadOptionsError extends Error {
  override name = 'LoadOptionsError';
}

export const USAGE = `Usage: npm run load -- [options]

  --target add|sum|both     gRPC Addition/Add, REST GET /sum, or both (default both)
  --mode open|closed        open loop: constant arrival rate, independent of answers (default);
                            closed loop: --workers workers, each calls, waits, (thinks), calls again
  --rate N                  open loop: requests per second, per target (default 200)
  --connections N           gRPC channels (HTTP/2 connections) / HTTP keep-alive sockets, per target (default 50)
  --workers N               closed loop: workers per target (default: --connections)
  --think DURATION          closed loop: pause between one worker's calls (default 0)
  --duration DURATION       how long to send, e.g. 30s, 2m, 500ms (default 30s, at most 1h)
  --max-requests N          also stop after N requests per target
  --max-in-flight N         open loop: cap of outstanding requests per target; arrivals past it are
                            counted as dropped (default 20000)
  --timeout DURATION        deadline of one call (default 10s)
  --grpc HOST:PORT          add-service (default 127.0.0.1:50051)
  --rest URL                sum-service base URL (default http://127.0.0.1:4000)
  --out DIR                 report folder (default .sumstream/load/<timestamp>/)
  --check-sum               read GET /sum before and after; after the run, wait for the pipeline to
                            apply every acknowledged Add and compare (PASS/FAIL, exit 1 on FAIL)
  --drain-timeout DURATION  how long --check-sum waits (default 60s)
  --no-png                  do not try to render PNG plots
  --quiet                   no progress line
  -h, --help                this text

Targets must be on this machine: 127.0.0.0/8, ::1 or localhost.`;

const MAX_DURATION_MS = 3_600_000;

/** "30s", "2m", "500ms", "1h", "1.5s"; a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new LoadOptionsError(`${flag} "${text}" is not a duration: write e.g. 500ms, 30s, 2m or 1h`);
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(Number(match[1]) * factor);
}

function parsePositiveInt(text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new LoadOptionsError(`${flag} "${text}" is not a whole number`);
  const value = Number(text);
  if (value < 1 || value > max) throw new LoadOptionsError(`${flag} ${value} is out of range: use 1 to ${max}`);
  return value;
}

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
  if (!match) throw new LoadOptionsError(`--grpc "${text}" is not HOST:PORT (e.g. 127.0.0.1:50051, [::1]:50051)`);
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
    throw new LoadOptionsError(`--rest "${text}" is not a URL (e.g. http://127.0.0.1:4000)`);
  }
  if (url.protocol !== 'http:') throw new LoadOptionsError(`--rest "${text}": only http:// is supported (the sum-service serves plain HTTP)`);
  refuseRemote(url.hostname, '--rest');
  return url;
}

/** The report folder when --out is not given: .sumstream/load/<timestamp>/. */
export function defaultOutDir(now: Date = new Date()): string {
  return `.sumstream/load/${now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}/`;
}

/** Parses `argv` (without node and script); throws LoadOptionsError with a message for the user. Returns 'help' for -h. */
export function parseLoadOptions(argv: string[], now: Date = new Date()): LoadOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: 'string', default: 'both' },
        mode: { type: 'string', default: 'open' },
        rate: { type: 'string', default: '200' },
        connections: { type: 'string', default: '50' },
        workers: { type: 'string' },
        think: { type: 'string', default: '0ms' },
        duration: { type: 'string', default: '30s' },
        'max-requests': { type: 'string' },
        'max-in-flight': { type: 'string', default: '20000' },
        timeout: { type: 'string', default: '10s' },
        grpc: { type: 'string', default: '127.0.0.1:50051' },
        rest: { type: 'string', default: 'http://127.0.0.1:4000' },
        out: { type: 'string' },
        'check-sum': { type: 'boolean', default: false },
        'drain-timeout': { type: 'string', default: '60s' },
        'no-png': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new LoadOptionsError((error as Error).message);
  }
  if (values['help']) return 'help';
  const str = (name: string): string => values[name] as string;

  const target = str('target');
  const targets: TargetName[] = target === 'both' ? ['add', 'sum'] : target === 'add' || target === 'sum' ? [target] : [];
  if (targets.length === 0) throw new LoadOptionsError(`--target "${target}" is not one of add, sum, both`);
  const mode = str('mode');
  if (mode !== 'open' && mode !== 'closed') throw new LoadOptionsError(`--mode "${mode}" is not one of open, closed`);

  const connections = parsePositiveInt(str('connections'), '--connections', 20_000);
  const durationMs = parseDuration(str('duration'), '--duration');
  if (durationMs < 100 || durationMs > MAX_DURATION_MS) throw new LoadOptionsError(`--duration ${str('duration')} is out of range: use 100ms to 1h (load runs are bounded in time)`);
  const timeoutMs = parseDuration(str('timeout'), '--timeout');
  if (timeoutMs < 1 || timeoutMs > 300_000) throw new LoadOptionsError(`--timeout ${str('timeout')} is out of range: use 1ms to 5m`);
  const drainTimeoutMs = parseDuration(str('drain-timeout'), '--drain-timeout');
  if (drainTimeoutMs > MAX_DURATION_MS) throw new LoadOptionsError(`--drain-timeout ${str('drain-timeout')} is over 1h`);
  const thinkMs = parseDuration(str('think'), '--think');
  if (mode === 'open' && values['think'] !== '0ms' && thinkMs > 0) throw new LoadOptionsError('--think applies to --mode closed only (open loop sends at --rate whatever the answers)');
  if (mode === 'open' && values['workers'] !== undefined) throw new LoadOptionsError('--workers applies to --mode closed only; open loop uses --rate and --connections');

  return {
    targets,
    mode,
    rate: parsePositiveInt(str('rate'), '--rate', 1_000_000),
    connections,
    workers: values['workers'] === undefined ? connections : parsePositiveInt(str('workers'), '--workers', 100_000),
    thinkMs,
    durationMs,
    maxRequests: values['max-requests'] === undefined ? undefined : parsePositiveInt(str('max-requests'), '--max-requests', 1_000_000_000),
    maxInFlight: parsePositiveInt(str('max-in-flight'), '--max-in-flight', 1_000_000),
    timeoutMs,
    grpc: parseGrpcAddress(str('grpc')),
    rest: parseRestUrl(str('rest')),
    outDir: (values['out'] as string | undefined) ?? defaultOutDir(now),
    checkSum: values['check-sum'] === true,
    drainTimeoutMs,
    png: values['no-png'] !== true,
    progress: values['quiet'] !== true,
  };
}
