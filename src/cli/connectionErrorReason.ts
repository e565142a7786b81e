/**
 * A short, human reason for a failed connection ("connection refused", "password authentication
 * failed"), found in the error or its causes (fetch, pg and amqplib nest the system error).
 */
export function connectionErrorReason(error: unknown): string {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  let fallback: string | undefined;
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    const known = typeof e.code === 'string' ? REASONS[e.code] : undefined;
    if (known) return known;
    if (
      typeof e.message === 'string' &&
      e.message !== '' &&
      fallback === undefined &&
      !/^fetch failed$/.test(e.message)
    )
      fallback = e.message;
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return fallback ?? String(error);
}

/** The reason named by a system error code inside a text (gRPC puts them in its details), if any. */
export function reasonInText(text: string): string | undefined {
  for (const match of text.matchAll(/\b(E[A-Z_]{3,})\b/g)) {
    const known = REASONS[match[1]!];
    if (known) return known;
  }
  return undefined;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_SOCKET: 'connection closed',
  // PostgreSQL SQLSTATEs
  '28P01': 'password authentication failed',
  '28000': 'authentication refused (no pg_hba.conf entry, or no such role)',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};
