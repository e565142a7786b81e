import type { Routes } from '../shared/http/createHttpServer.js';
import { sendJson, sendProblem } from '../shared/http/problem.js';
import type { SumSnapshot } from '../shared/db/readSum.js';
import type { Logger } from '../shared/log/createLogger.js';

/**
 * `GET /sum` → `{"sum": <exact integer>}`. The number is written from PostgreSQL's NUMERIC
 * text, never through a JS number, so it is exact at any size. When the store cannot be
 * read: 503 problem JSON that also keeps the original's `error` member.
 */
export function sumRoutes(readSum: () => Promise<SumSnapshot>, logger: Logger, onSum?: (sum: string) => void, admit: () => boolean = () => true): Routes {
  return {
    '/sum': {
      GET: async (_req, res) => {
        if (!admit()) return sendProblem(res, 429, 'Too Many Requests', 'This sum-service is over its rate limit (SUM_RATE_LIMIT); retry shortly.', { 'retry-after': '1' });
        let snapshot: SumSnapshot;
        try {
          snapshot = await readSum();
        } catch (error) {
          logger.warn({ err: error }, 'cannot read the sum');
          const body = JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'The sum store cannot be read right now; retry shortly.', error: 'Failed to read sum' });
          res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
          res.end(body);
          return;
        }
        onSum?.(snapshot.sum);
        sendJson(res, 200, `{"sum":${snapshot.sum}}`, { 'cache-control': 'no-store' });
      },
    },
  };
}
