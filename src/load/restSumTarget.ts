/**
 * REST GET /sum under load: node:http with a keep-alive agent holding up to `connections` sockets.
 * A request succeeds when it answers 200 with a body {"sum": <integer>}.
 */
import http from 'node:http';
import type { LoadTarget } from './loadTarget.js';
import type { CallOutcome } from './targetStats.js';

export interface RestSumTargetOptions {
  /** Base URL of the sum-service. */
  baseUrl: URL;
  connections: number;
  timeoutMs: number;
}

const SUM_BODY = /^\{"sum":-?\d+\}$/;

/** Error kind of a failed request: the socket error code (ECONNREFUSED ...) or its message. */
function errorKind(error: NodeJS.ErrnoException): string {
  return error.code ?? error.message.slice(0, 60);
}

export class RestSumTarget implements LoadTarget {
  readonly name = 'sum' as const;
  readonly label: string;
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(private readonly options: RestSumTargetOptions) {
    this.url = new URL(
      'sum',
      options.baseUrl.href.endsWith('/') ? options.baseUrl : new URL(`${options.baseUrl.href}/`),
    );
    this.label = `REST GET ${this.url.href}`;
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: options.connections,
      maxFreeSockets: options.connections,
      scheduling: 'fifo',
    });
  }

  async connect(): Promise<void> {
    const outcome = await this.call(0);
    if (!outcome.ok)
      throw new Error(
        `cannot read ${this.url.href}: ${outcome.error}. Is the stack running (npm start)? Is --rest right?`,
      );
  }

  call(_slot: number): Promise<CallOutcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: CallOutcome): void => {
        if (!settled) {
          settled = true;
          clearTimeout(deadline);
          resolve(outcome);
        }
      };
      // A deadline over the whole request, time waiting for a free socket included.
      const deadline = setTimeout(() => {
        settle({ ok: false, error: 'timeout' });
        request.destroy();
      }, this.options.timeoutMs);
      const request = http.get(this.url, { agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => settle({ ok: false, error: errorKind(error) }));
        response.on('end', () => {
          if (response.statusCode !== 200) settle({ ok: false, error: `http_${response.statusCode}` });
          else if (!SUM_BODY.test(Buffer.concat(chunks).toString('utf8'))) settle({ ok: false, error: 'bad_body' });
          else settle({ ok: true });
        });
      });
      request.on('error', (error) => settle({ ok: false, error: errorKind(error) }));
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
