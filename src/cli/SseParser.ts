/** One Server-Sent Event as dispatched by a blank line. */
export interface SseEvent {
  /** `event:` field; `message` when none was given. */
  event: string;
  /** `data:` lines joined with '\n'. */
  data: string;
  /** Last `id:` seen on the stream (it persists across events, as in the EventSource spec). */
  id: string | undefined;
}

/**
 * Incremental parser of a `text/event-stream` body (the WHATWG EventSource rules: lines end in
 * CRLF, LF or CR; `:` starts a comment; one leading space after the colon is dropped; an event
 * without data is not dispatched). Feed it decoded text chunks in order, split anywhere.
 */
export class SseParser {
  /** @param onComment receives each `:` comment line (without the colon), e.g. keep-alives. */
  constructor(private readonly onComment?: (text: string) => void) {}

  private buffer = '';
  private data: string[] = [];
  private eventType = '';
  private lastId: string | undefined;
  /** The `retry:` reconnection time in ms, if the server sent one. */
  retryMs: number | undefined;

  /** The last event id seen, for `Last-Event-ID` when reconnecting. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\n|\r/);
      if (end < 0) break;
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      const data = this.data;
      const type = this.eventType;
      this.data = [];
      this.eventType = '';
      return data.length === 0 ? undefined : { event: type || 'message', data: data.join('\n'), id: this.lastId };
    }
    if (line.startsWith(':')) {
      this.onComment?.(line.slice(1));
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id' && !value.includes('\u0000')) this.lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
