/**
 * Baseline for the GET /sum benchmark: a bare node:http server that answers every request with
 * the same JSON the sum-service sends (`{"sum":N}`, same headers), with no routing, metrics or
 * cache. Whatever the sum-service does beyond this is what the ratio measures.
 *
 * Run as its own process: `node --import tsx bench/baselines/bareSumServer.ts [PORT] [SUM]` (defaults
 * 0, a free port, and 0). Prints `listening <port>` once it accepts connections; exit 2 on bad arguments.
 */
import { createServer } from 'node:http';
import { Argument } from 'commander';
import { CommandLineError } from '../../src/shared/cli/parseCommandLine.js';
import { portArgument, readBaselineArguments } from './baselineArguments.js';

const [port, sum] = readBaselineArguments(
  'bench/baselines/bareSumServer.ts',
  'Bare node:http server answering every request with {"sum":SUM}.',
  (program) =>
    program
      .argument('[port]', 'port on 127.0.0.1 (0: a free one)', portArgument, 0)
      .addArgument(new Argument('[sum]', 'the sum it answers, an integer').argParser(sumArgument).default('0', '0')),
) as [number, string];
const body = `{"sum":${sum}}`;
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

/** The sum goes into the JSON body as it is written, so it must be an integer literal. */
function sumArgument(text: string): string {
  if (!/^-?\d+$/.test(text)) throw new CommandLineError(`SUM "${text}" is not an integer`);
  return text;
}
