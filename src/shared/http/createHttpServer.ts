import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log/createLogger.js';
import { sendProblem } from './problem.js';

const OBSERVED = Symbol('observed');

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
/** Path → method → handler. Paths are exact; the query string is ignored. */
export type Routes = Record<string, Partial<Record<'GET' | 'POST', Handler>>>;

export interface HttpServerOptions {
  routes: Routes;
  logger: Logger;
  /** Called after each response with the matched route (or `unmatched`), status, seconds and the request. */
  observe?: (route: string, method: string, status: number, seconds: number, req: IncomingMessage) => void;
  /** Whole-request timeout in ms (slow clients are cut off). Default 10000. */
  requestTimeoutMs?: number;
  /** Headers must arrive within this many ms. Default 5000. */
  headersTimeoutMs?: number;
}

/**
 * A small HTTP server: exact-path routes, 404 and 405 as problem JSON, HEAD answered as GET
 * without a body, handler errors as 500 problem JSON, and timeouts against slow clients.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const observe = options.observe;
  // Responses that finish later (waiting handlers, streams) are observed by one shared 'finish'
  // listener reading its state from the response: no closure per request.
  interface Observed extends ServerResponse {
    [OBSERVED]: { started: bigint; route: string; req: IncomingMessage };
  }
  function onFinish(this: Observed): void {
    const { started, route, req } = this[OBSERVED];
    observe?.(route, req.method ?? '', this.statusCode, Number(process.hrtime.bigint() - started) / 1e9, req);
  }
  const fail = (res: ServerResponse, path: string, error: unknown): void => {
    options.logger.error({ err: error, path }, 'request failed');
    if (!res.headersSent) sendProblem(res, 500, 'Internal Server Error', 'The request failed; see the service log.');
    else res.destroy();
  };
  // Timeouts are enforced by a periodic sweep; check every second, not Node's default 30 s.
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    const started = observe ? process.hrtime.bigint() : 0n;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const route = options.routes[path];
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const handler = route?.[method as 'GET' | 'POST'];
    if (!route) {
      sendProblem(res, 404, 'Not Found', `No route ${path}. Routes: ${Object.keys(options.routes).join(', ')}.`);
    } else if (!handler) {
      const allow = Object.keys(route)
        .flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))
        .join(', ');
      sendProblem(res, 405, 'Method Not Allowed', `${req.method} is not allowed on ${path}; use ${allow}.`, { allow });
    } else {
      // Request bodies are never read: Node discards an unread body when the response finishes,
      // which keeps keep-alive connections usable. Handlers are called synchronously: one that
      // can answer at once (GET /sum from memory) does so in this tick; one that waits returns a
      // promise, whose failure is caught.
      try {
        const waiting = handler(req, res);
        if (waiting) waiting.catch((error: unknown) => fail(res, path, error));
      } catch (error) {
        fail(res, path, error);
      }
    }
    if (!observe) return;
    const label = route ? path : 'unmatched';
    // Answered in this tick: observed now, with no listener; otherwise when the response finishes.
    if (res.writableEnded)
      observe(label, req.method ?? '', res.statusCode, Number(process.hrtime.bigint() - started) / 1e9, req);
    else {
      (res as Observed)[OBSERVED] = { started, route: label, req };
      res.on('finish', onFinish);
    }
  });
  // CONNECT and Upgrade requests bypass the request handler; without these Node would just drop them.
  for (const event of ['connect', 'upgrade'] as const) {
    server.on(event, (req: IncomingMessage, socket: import('node:stream').Duplex) => {
      const body = JSON.stringify({
        type: 'about:blank',
        title: 'Method Not Allowed',
        status: 405,
        detail: `${req.method} and protocol upgrades are not served here.`,
      });
      socket.end(
        `HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  }
  server.requestTimeout = options.requestTimeoutMs ?? 10_000;
  server.headersTimeout = options.headersTimeoutMs ?? 5_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Listens and resolves with the bound port (useful with port 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Stops accepting, lets in-flight requests finish, then drops idle keep-alive sockets. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
