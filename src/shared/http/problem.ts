import type { ServerResponse } from 'node:http';

/** Writes an RFC 9457 problem document. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  title: string,
  detail?: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, ...(detail === undefined ? {} : { detail }) });
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Writes a JSON body given as an already-serialised string. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
