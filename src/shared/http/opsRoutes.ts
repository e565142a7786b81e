import type { Registry } from 'prom-client';
import type { Routes } from './createHttpServer.js';
import { sendJson, sendProblem } from './problem.js';

/** `/metrics`, `/healthz` (the process is alive) and `/readyz` (its dependencies answer). */
export function opsRoutes(registry: Registry, ready: () => Promise<string | undefined>): Routes {
  return {
    '/metrics': {
      GET: async (_req, res) => {
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      },
    },
    '/healthz': { GET: (_req, res) => sendJson(res, 200, '{"status":"ok"}') },
    '/readyz': {
      GET: async (_req, res) => {
        const problem = await ready().catch((error: unknown) => (error as Error).message);
        if (problem === undefined) sendJson(res, 200, '{"status":"ready"}');
        else sendProblem(res, 503, 'Service Unavailable', problem);
      },
    },
  };
}
