/**
 * Holds many keep-alive HTTP connections to one server and keeps each of them in use: every
 * connection sends `GET PATH`, reads the answer, waits `--every` seconds (jittered), and asks again,
 * until the hold time is over. Raw sockets, so one process can hold tens of thousands.
 *
 * Run as its own process:
 *   node --import tsx bench/clients/holdConnections.ts --url http://127.0.0.1:4000/sum \
 *     --connections 15000 --open-rate 1500 --hold 30 --every 5
 * Prints progress lines on stderr and one JSON result line (`HoldResult`) on stdout.
 * Loopback targets only. Durations are seconds (or 500ms, 2m, ...); exit 2 on bad options.
 */
import net from 'node:net';
import { Option } from 'commander';
import { isLoopbackHost } from '../../src/load/loadOptions.js';
import { sleep } from '../../src/shared/backoff.js';
import { duration, wholeNumber } from '../../src/shared/cli/commandLineValues.js';
import { CommandLineError, commandLine, helpText, parseCommandLine } from '../../src/shared/cli/parseCommandLine.js';
import { PORT_KNOBS } from '../../src/shared/config/portKnobs.js';

const DEFAULT_URL = `http://127.0.0.1:${PORT_KNOBS.sumPort.default}/sum`;

export interface HoldResult {
  connections: number;
  /** Most connections open at once. */
  maxOpen: number;
  /** Connections open, each having had every request answered, when the hold ended. */
  heldAtEnd: number;
  requests: number;
  ok: number;
  errors: number;
  errorsByKind: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  seconds: number;
}

interface Flags {
  url: URL;
  connections: number;
  openRate: number;
  hold: number;
  every: number;
  timeout: number;
}

const program = commandLine(
  'node --import tsx bench/clients/holdConnections.ts',
  'Holds keep-alive HTTP connections to one server on this machine, each asking again every so often.',
)
  .usage('[options]')
  .addOption(
    new Option('--url <URL>', 'what each connection asks for (GET)')
      .argParser(parseUrl)
      .default(parseUrl(DEFAULT_URL), DEFAULT_URL),
  )
  .addOption(
    new Option('--connections <N>', 'connections to open and hold')
      .argParser(wholeNumber('--connections', { min: 1, max: 1_000_000 }))
      .default(15_000),
  )
  .addOption(
    new Option('--open-rate <N>', 'connections opened per second')
      .argParser(wholeNumber('--open-rate', { min: 1, max: 1_000_000 }))
      .default(1500),
  )
  .addOption(
    new Option('--hold <SECONDS>', 'how long they are held once all are open')
      .argParser(duration('--hold'))
      .default(30_000, '30'),
  )
  .addOption(
    new Option('--every <SECONDS>', "mean pause between one connection's requests (jittered 0.5x to 1.5x)")
      .argParser(duration('--every'))
      .default(5000, '5'),
  )
  .addOption(
    new Option('--timeout <SECONDS>', 'deadline of one request').argParser(duration('--timeout')).default(10_000, '10'),
  );

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CommandLineError(`--url "${text}" is not a URL (e.g. ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:') throw new CommandLineError(`--url "${text}": only http:// is supported`);
  if (!isLoopbackHost(url.hostname)) throw new CommandLineError(`refusing ${url.hostname}: loopback targets only`);
  return url;
}

function parseFlags(): Flags {
  try {
    const parsed = parseCommandLine<Flags>(program, process.argv.slice(2), CommandLineError);
    if (parsed !== 'help') return parsed.options;
    process.stdout.write(`${helpText(program)}\n`);
    process.exit(0);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    process.stderr.write(`holdConnections: ${error.message}\n\n${helpText(program)}\n`);
    process.exit(2);
  }
}

const { url, connections: total, openRate, hold: holdMs, every: everyMs, timeout: timeoutMs } = parseFlags();
const request = Buffer.from(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n\r\n`);

const latencies: number[] = [];
const errorsByKind: Record<string, number> = {};
let open = 0;
let maxOpen = 0;
let requests = 0;
let ok = 0;
let stopping = false;
const healthy = new Set<net.Socket>();
const timers = new Set<NodeJS.Timeout>();

function fail(kind: string): void {
  errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
}

function later(fn: () => void, ms: number): void {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

function connect(): void {
  const socket = net.connect({ host: url.hostname, port: Number(url.port || 80) });
  socket.setNoDelay(true);
  let buffer = '';
  let sentAt = 0;
  let waiting = false;
  let connected = false;
  let deadline: NodeJS.Timeout | undefined;
  const send = (): void => {
    if (stopping || socket.destroyed) return;
    sentAt = performance.now();
    waiting = true;
    requests++;
    deadline = setTimeout(() => {
      fail('timeout');
      healthy.delete(socket);
      socket.destroy();
    }, timeoutMs);
    socket.write(request);
  };
  socket.on('connect', () => {
    connected = true;
    open++;
    maxOpen = Math.max(maxOpen, open);
    healthy.add(socket);
    send();
  });
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    const headerEnd = buffer.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    const length = Number(/content-length:\s*(\d+)/i.exec(buffer.slice(0, headerEnd))?.[1] ?? 0);
    if (buffer.length < headerEnd + 4 + length) return;
    const status = buffer.slice(9, 12);
    buffer = buffer.slice(headerEnd + 4 + length);
    if (!waiting) return fail('unexpected_response');
    waiting = false;
    clearTimeout(deadline);
    latencies.push(performance.now() - sentAt);
    if (status === '200') ok++;
    else {
      fail(`http_${status}`);
      healthy.delete(socket);
    }
    later(send, everyMs * (0.5 + Math.random()));
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    fail(error.code ?? 'socket_error');
    healthy.delete(socket);
  });
  socket.on('close', () => {
    clearTimeout(deadline);
    if (connected) open--;
    if (!stopping && healthy.delete(socket)) fail('closed_by_server');
  });
}

const started = performance.now();
let opened = 0;
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const target = Math.min(total, Math.ceil(((performance.now() - started) / 1000) * openRate));
    while (opened < target) {
      opened++;
      connect();
    }
    if (opened >= total) {
      clearInterval(tick);
      resolve();
    }
  }, 20);
});
const progress = setInterval(
  () =>
    process.stderr.write(
      `open ${open}, requests ${requests}, ok ${ok}, errors ${Object.values(errorsByKind).reduce((a, b) => a + b, 0)}\n`,
    ),
  5_000,
);
await sleep(holdMs);
stopping = true;
clearInterval(progress);
const heldAtEnd = healthy.size;
for (const timer of timers) clearTimeout(timer);
for (const socket of healthy) socket.destroy();
latencies.sort((a, b) => a - b);
const at = (q: number): number =>
  Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN) * 100) / 100;
const result: HoldResult = {
  connections: total,
  maxOpen,
  heldAtEnd,
  requests,
  ok,
  errors: Object.values(errorsByKind).reduce((a, b) => a + b, 0),
  errorsByKind,
  p50Ms: at(0.5),
  p99Ms: at(0.99),
  maxMs: at(1),
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
