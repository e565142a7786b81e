/**
 * Baseline for the GET /sum benchmark: a bare node:http server that answers every request with
 * the same JSON the sum-service sends (`{"sum":N}`, same headers), with no routing, metrics or
 * cache. Whatever the sum-service does beyond this is what the ratio measures.
 *
 * Run as its own process: `node --import tsx bench/baselines/bareSumServer.ts PORT SUM`.
 * Prints `listening <port>` once it accepts connections.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const body = `{"sum":${process.argv[3] ?? '0'}}`;
const length = String(Buffer.byteLength(body));

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': length, 'cache-control': 'no-store' });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
