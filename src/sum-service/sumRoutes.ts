import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SumSnapshot } from '../sum-view/readSum.js';
import { SumStreamError } from '../shared/errors.js';
import type { Routes } from '../shared/http/createHttpServer.js';
import { sendJson, sendProblem } from '../shared/http/problem.js';
import type { Logger } from '../shared/log/createLogger.js';

export interface SumRoutesOptions {
  /** The sum now (from memory: SumCache). */
  readSum: () => Promise<SumSnapshot>;
  /** The sum now when it can be answered without waiting (SumCache.peek), else undefined. Default: never. */
  peekSum?: () => SumSnapshot | undefined;
  /**
   * The sum once the addition of read token `after` is applied: rejects with SumStreamError
   * `invalid` (malformed token), `timeout` (not applied within the wait) or `unavailable`.
   */
  readSumAfter: (after: string, timeoutMs: number | undefined, signal: AbortSignal) => Promise<SumSnapshot>;
  logger: Logger;
  /** Called with every sum answered. */
  onSum?: (sum: string) => void;
  /** Admits one request, or refuses it as over the rate limit. Default: unlimited. */
  admit?: () => boolean;
}

/** Largest `timeout_ms` accepted: the proto's uint32 range (the server's READ_AFTER_TIMEOUT_MS caps the wait anyway). */
const MAX_TIMEOUT_MS = 4_294_967_295;

/**
 * `GET /sum` → `{"sum": <exact integer>}`. The number is written from PostgreSQL's NUMERIC
 * text, never through a JS number, so it is exact at any size. When the store cannot be
 * read: 503 problem JSON that also keeps the original's `error` member.
 *
 * `GET /sum?after=TOKEN[&timeout_ms=N]` (read-your-writes) answers the same shape once the
 * addition of that read token is applied, with a sum that includes it; 504 problem JSON when it
 * is not applied within the wait (never a stale sum), 400 for a malformed token or timeout.
 */
export function sumRoutes(options: SumRoutesOptions): Routes {
  const { logger } = options;
  const admit = options.admit ?? (() => true);
  const answer = (res: ServerResponse, snapshot: SumSnapshot) => {
    options.onSum?.(snapshot.sum);
    sendJson(res, 200, `{"sum":${snapshot.sum}}`, { 'cache-control': 'no-store' });
  };
  return {
    '/sum': {
      GET: (req, res) => {
        if (!admit())
          return sendProblem(
            res,
            429,
            'Too Many Requests',
            'This sum-service is over its rate limit (SUM_RATE_LIMIT); retry shortly.',
            { 'retry-after': '1' },
          );
        // The hot path: a plain GET /sum with the current sum in memory is answered in this tick.
        const current = req.url === '/sum' ? options.peekSum?.() : undefined;
        if (current) return answer(res, current);
        return answerQuery(req, res);
      },
    },
  };

  async function answerQuery(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const after = query.get('after');
    const timeout = query.get('timeout_ms');
    if (after === null) {
      if (timeout !== null)
        return sendProblem(
          res,
          400,
          'Bad Request',
          'timeout_ms applies only with after=TOKEN (a read token from Add); send both, or neither.',
        );
      let snapshot: SumSnapshot;
      try {
        snapshot = await options.readSum();
      } catch (error) {
        logger.warn({ err: error }, 'cannot read the sum');
        return sendStoreDown(res);
      }
      return answer(res, snapshot);
    }

    let timeoutMs: number | undefined;
    if (timeout !== null) {
      if (!/^\d{1,10}$/.test(timeout) || Number(timeout) > MAX_TIMEOUT_MS) {
        return sendProblem(
          res,
          400,
          'Bad Request',
          `timeout_ms=${JSON.stringify(timeout.slice(0, 40))} is not a whole number of milliseconds; send e.g. timeout_ms=2000, or leave it out for the server's limit.`,
        );
      }
      timeoutMs = Number(timeout) || undefined;
    }
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    try {
      answer(res, await options.readSumAfter(after, timeoutMs, gone.signal));
    } catch (error) {
      if (gone.signal.aborted) return;
      if (error instanceof SumStreamError && error.kind === 'invalid')
        return sendProblem(res, 400, 'Bad Request', error.message);
      if (error instanceof SumStreamError && error.kind === 'timeout')
        return sendProblem(res, 504, 'Not applied yet', error.message);
      logger.warn({ err: error }, 'cannot read the sum after an addition');
      sendProblem(
        res,
        503,
        'Service Unavailable',
        error instanceof SumStreamError ? error.message : 'The sum store cannot be read right now; retry shortly.',
        { 'retry-after': '1' },
      );
    }
  }
}

function sendStoreDown(res: ServerResponse): void {
  const body = JSON.stringify({
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: 'The sum store cannot be read right now; retry shortly.',
    error: 'Failed to read sum',
  });
  res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
  res.end(body);
}
