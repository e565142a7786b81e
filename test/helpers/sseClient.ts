import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { type SseEvent, SseParser } from '../../src/cli/SseParser.js';

export type { SseEvent };

/** A Server-Sent Events connection as a test sees it: every event, comment and retry hint, in order. */
export interface SseStream {
  status: number;
  headers: IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  retry: number | undefined;
  /** Settles when the server ends the stream or the connection drops. */
  closed: Promise<void>;
  close(): void;
}

/** One socket per stream: many watchers from one test process each get their own connection. */
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

/**
 * Opens `url` as an event stream and parses it with the CLI's SseParser (WHATWG rules). Resolves once the response headers arrived; a non-200
 * answer resolves too, with its body as the only event's data.
 */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      let closedResolve: () => void = () => undefined;
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        retry: undefined,
        closed: new Promise<void>((r) => (closedResolve = r)),
        close: () => req.destroy(),
      };
      // The CLI's parser, so the tests read a stream exactly as `sumstream watch` does.
      const parser = new SseParser((text) => stream.comments.push(text.trim()));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) {
          buffer += chunk;
          return;
        }
        stream.events.push(...parser.push(chunk));
        stream.retry = parser.retryMs;
      });
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        if (stream.status !== 200 && buffer) stream.events.push({ id: undefined, event: 'error', data: buffer });
        closedResolve();
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
      resolve(stream);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The `{"sum":…,"applied_events":…}` of a sum event, exact. */
export function sumOfEvent(event: SseEvent): { sum: bigint; appliedEvents: bigint } {
  const match = /^\{"sum":(-?\d+),"applied_events":(\d+)\}$/.exec(event.data);
  if (!match || event.event !== 'sum') throw new Error(`not a sum event: ${JSON.stringify(event)}`);
  return { sum: BigInt(match[1]!), appliedEvents: BigInt(match[2]!) };
}
