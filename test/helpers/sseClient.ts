import { Agent, type IncomingHttpHeaders, request } from 'node:http';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

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
 * Opens `url` as an event stream and parses it (WHATWG rules for the fields a SumStream stream
 * uses: id, event, data, retry, comments). Resolves once the response headers arrived; a non-200
 * answer resolves too, with its body as the only event's data.
 */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      let current: Partial<SseEvent> & { data?: string } = {};
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
      res.setEncoding('utf8');
      const line = (text: string) => {
        if (text === '') {
          if (current.data !== undefined) stream.events.push({ id: current.id, event: current.event ?? 'message', data: current.data });
          current = {};
          return;
        }
        if (text.startsWith(':')) return void stream.comments.push(text.slice(1).trim());
        const colon = text.indexOf(':');
        const field = colon < 0 ? text : text.slice(0, colon);
        const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') current.data = current.data === undefined ? value : `${current.data}\n${value}`;
        else if (field === 'id') current.id = value;
        else if (field === 'event') current.event = value;
        else if (field === 'retry' && /^\d+$/.test(value)) stream.retry = Number(value);
      };
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) {
          buffer += chunk;
          return;
        }
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          line(buffer.slice(0, newline).replace(/\r$/, ''));
          buffer = buffer.slice(newline + 1);
        }
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
