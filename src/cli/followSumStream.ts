import { CliFailure } from './cliErrors.js';
import { connectionErrorReason } from './connectionErrorReason.js';
import { readExactInteger } from './exactJson.js';
import { endpointUrl, problemDetail } from './fetchSum.js';
import { SseParser } from './SseParser.js';

/** One `event: sum` of GET /sum/stream, exact. */
export interface SumUpdate {
  sum: bigint;
  appliedEvents: bigint;
  /** The event's `id:` (the applied-events count), for resuming. */
  id: string | undefined;
}

export interface FollowOptions {
  /** sum-service base URL. */
  baseUrl: string;
  /** Sent as Last-Event-ID when resuming after a dropped connection. */
  lastEventId?: string;
  /** Called once the stream is open. */
  onOpen?: () => void;
  /** Called for every update; return false to stop following. */
  onUpdate: (update: SumUpdate) => boolean;
  signal: AbortSignal;
}

export interface FollowOutcome {
  /** 'stopped': onUpdate returned false; 'aborted': the signal fired; 'closed': the server ended the stream. */
  reason: 'stopped' | 'aborted' | 'closed';
  lastEventId: string | undefined;
  /** The server's `retry:` advice, ms. */
  retryMs: number | undefined;
}

/**
 * Follows GET /sum/stream (Server-Sent Events) until `onUpdate` returns false, the signal fires or
 * the server closes the stream. A stream that cannot be opened, or an event that is not
 * `{"sum": <integer>, "applied_events": <integer>}`, throws CliFailure with the fix.
 */
export async function followSumStream(options: FollowOptions): Promise<FollowOutcome> {
  const url = endpointUrl(options.baseUrl, 'sum/stream');
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const parser = new SseParser();
  const outcome = (reason: FollowOutcome['reason']): FollowOutcome => ({
    reason,
    lastEventId: parser.lastEventId ?? options.lastEventId,
    retryMs: parser.retryMs,
  });
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: options.signal });
  } catch (error) {
    if (options.signal.aborted) return outcome('aborted');
    throw new CliFailure(
      `Cannot reach the sum-service at ${options.baseUrl}: ${connectionErrorReason(error)}. Start the stack with \`npx sumstream up\`, or point --url / SUMSTREAM_SUM_URL at it.`,
      { cause: error },
    );
  }
  if (response.status !== 200 || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const detail = problemDetail(await response.text().catch(() => ''));
    const hint = response.status === 404 ? ' This sum-service has no /sum/stream; update it.' : '';
    throw new CliFailure(
      `GET ${url.href} answered ${response.status} ${response.headers.get('content-type') ?? ''} instead of an event stream: ${detail}.${hint}`,
    );
  }
  options.onOpen?.();
  const decoder = new TextDecoder();
  const reader = response.body!.getReader();
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch {
        // The signal fired, or the connection dropped: the caller decides whether to resume.
        return outcome(options.signal.aborted ? 'aborted' : 'closed');
      }
      if (chunk.done) return outcome('closed');
      for (const event of parser.push(decoder.decode(chunk.value as Uint8Array, { stream: true }))) {
        if (event.event !== 'sum') continue;
        let update: SumUpdate;
        try {
          update = {
            sum: readExactInteger(event.data, 'sum'),
            appliedEvents: readExactInteger(event.data, 'applied_events'),
            id: event.id,
          };
        } catch (error) {
          throw new CliFailure(
            `GET ${url.href} sent an event that is not {"sum": <integer>, "applied_events": <integer>}: ${event.data.slice(0, 200)}`,
            { cause: error },
          );
        }
        if (!options.onUpdate(update)) return outcome('stopped');
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
