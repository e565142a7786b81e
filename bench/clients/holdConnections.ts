/**
 * Holds many keep-alive HTTP connections to one server and keeps each of them in use: every
 * connection sends `GET PATH`, reads the answer, waits `--every` seconds (jittered), and asks again,
 * until the hold time is over. Raw sockets, so one process can hold tens of thousands.
 *
 * Run as its own process:
 *   node --import tsx bench/clients/holdConnections.ts --url http://127.0.0.1:4000/sum \
 *     --connections 15000 --open-rate 1500 --hold 30 --every 5
 * Prints progress lines on stderr and one JSON result line (`HoldResult`) on stdout.
 * Loopback targets only.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { isLoopbackHost } from '../../src/load/loadOptions.js';
import { sleep } from '../../src/shared/backoff.js';

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

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '15000' },
    'open-rate': { type: 'string', default: '1500' },
    hold: { type: 'string', default: '30' },
    every: { type: 'string', default: '5' },
    timeout: { type: 'string', default: '10' },
  },
});
const url = new URL(values.url ?? 'http://127.0.0.1:4000/sum');
if (!isLoopbackHost(url.hostname)) throw new Error(`refusing ${url.hostname}: loopback targets only`);
const total = Number(values.connections);
const openRate = Number(values['open-rate']);
const holdMs = Number(values.hold) * 1000;
const everyMs = Number(values.every) * 1000;
const timeoutMs = Number(values.timeout) * 1000;
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
const progress = setInterval(() => process.stderr.write(`open ${open}, requests ${requests}, ok ${ok}, errors ${Object.values(errorsByKind).reduce((a, b) => a + b, 0)}\n`), 5_000);
await sleep(holdMs);
stopping = true;
clearInterval(progress);
const heldAtEnd = healthy.size;
for (const timer of timers) clearTimeout(timer);
for (const socket of healthy) socket.destroy();
latencies.sort((a, b) => a - b);
const at = (q: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN) * 100) / 100;
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
