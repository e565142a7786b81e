import type { SumSnapshot } from '../sum-view/readSum.js';

/**
 * One Server-Sent Event of `GET /sum/stream`: `id` is the applied-events count (what a client
 * sends back as Last-Event-ID), `data` the same JSON as `GET /sum` plus `applied_events`, with
 * the sum as an exact integer literal (PostgreSQL's NUMERIC text, never through a JS number).
 */
export function formatSumEvent(snapshot: SumSnapshot): string {
  return `id: ${snapshot.appliedEvents}\nevent: sum\ndata: {"sum":${snapshot.sum},"applied_events":${snapshot.appliedEvents}}\n\n`;
}

/** The reconnection delay hint a stream starts with. */
export function formatRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/** A comment line: keeps idle connections (and proxies) from timing out; EventSource ignores it. */
export const KEEPALIVE_COMMENT = ': keepalive\n\n';

/**
 * The applied-events count a reconnecting client says it has (`Last-Event-ID` header, or the
 * `lastEventId` query parameter of EventSource polyfills); undefined when absent or not ours.
 */
export function parseLastEventId(value: string | string[] | null | undefined): bigint | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text || !/^\d{1,30}$/.test(text)) return undefined;
  return BigInt(text);
}
