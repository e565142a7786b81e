import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SumSnapshot } from '../../sum-view/readSum.js';
import type { Routes } from '../../shared/http/createHttpServer.js';
import { sendJson } from '../../shared/http/problem.js';
import type { Logger } from '../../shared/log/createLogger.js';
import { renderStatusPage, STATUS_PAGE_PLACEHOLDERS } from './renderStatusPage.js';

export interface StatusPageOptions {
  /** The sum as of now (the same source as `GET /sum`). */
  readSum: () => Promise<SumSnapshot>;
  /** The body of `/status.json` (see StatusCollector). */
  status: () => Promise<string>;
  logger: Logger;
}

/** Everything the page loads comes from this process; nothing inline, nothing from elsewhere. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/**
 * `GET /` (the status page, with the sum as of the request filled in), its script and stylesheet,
 * and `GET /status.json`. The files are read once, here, at start.
 */
export function statusPageRoutes(options: StatusPageOptions): Routes {
  const template = readAsset('index.html');
  const missing = STATUS_PAGE_PLACEHOLDERS.filter((placeholder) => !template.includes(placeholder));
  if (missing.length > 0)
    throw new Error(
      `statusPage/index.html lacks ${missing.join(', ')}; restore them (the page shows the sum through them).`,
    );
  const script = asset('status-page.js', 'text/javascript; charset=utf-8');
  const stylesheet = asset('status-page.css', 'text/css; charset=utf-8');

  return {
    '/': {
      GET: async (_req, res) => {
        const snapshot = await options.readSum().catch((error: unknown) => {
          options.logger.warn({ err: error }, 'status page: cannot read the sum');
          return undefined;
        });
        const body = renderStatusPage(template, snapshot, new Date());
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
          ...SECURITY_HEADERS,
        });
        res.end(body);
      },
    },
    '/status-page.js': { GET: (req, res) => sendAsset(req, res, script) },
    '/status-page.css': { GET: (req, res) => sendAsset(req, res, stylesheet) },
    '/status.json': {
      GET: async (_req, res) => sendJson(res, 200, await options.status(), { 'cache-control': 'no-store' }),
    },
  };
}

function readAsset(name: string): string {
  return readFileSync(new URL(name, import.meta.url), 'utf8');
}

function asset(name: string, contentType: string): Asset {
  const body = Buffer.from(readAsset(name));
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Served with an ETag and revalidated on every load, so a new version is picked up at once. */
function sendAsset(req: IncomingMessage, res: ServerResponse, { body, contentType, etag }: Asset): void {
  const headers = { etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': contentType, 'content-length': body.length, ...headers });
  res.end(body);
}
