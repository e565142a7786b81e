import { SumStreamError } from '../shared/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The read token `Add` answers for an addition. Clients treat it as opaque; today it is the
 * event id, so a token can be checked against the inbox directly.
 */
export function readTokenOf(eventId: string): string {
  return eventId;
}

/** The event id a read token stands for; a malformed token is a validation failure that says what to send. */
export function eventIdOfReadToken(token: string): string {
  if (!UUID.test(token)) {
    const shown = token.length > 60 ? `${JSON.stringify(token.slice(0, 60))}…` : JSON.stringify(token);
    throw new SumStreamError(
      'invalid',
      `Malformed read token ${shown}: pass the read_token of an AddResponse unchanged.`,
    );
  }
  return token.toLowerCase();
}

/**
 * How long a read-after request waits, ms: the server's limit, lowered (never raised) by a
 * positive per-request `requestedMs`; 0 or undefined means the server's limit.
 */
export function readAfterWaitMs(requestedMs: number | undefined, limitMs: number): number {
  return requestedMs !== undefined && requestedMs > 0 ? Math.min(requestedMs, limitMs) : limitMs;
}
