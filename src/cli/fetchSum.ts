import { CliFailure, UsageError } from './cliErrors.js';
import { connectionErrorReason } from './connectionErrorReason.js';
import { readExactInteger } from './exactJson.js';

export interface FetchSumOptions {
  /** sum-service base URL, e.g. http://127.0.0.1:4000. */
  baseUrl: string;
  /** Read token from Add: answer once that addition is applied. */
  after?: string;
  /** With `after`: how long the sum-service waits, ms (its own default when undefined). */
  timeoutMs?: number;
  /** How long this client waits for an answer, ms. */
  requestTimeoutMs: number;
}

/** `<base>/<path>` whatever the base URL's trailing slash. */
export function endpointUrl(baseUrl: string, path: string): URL {
  return new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
}

/** GET /sum (optionally ?after=TOKEN&timeout_ms=N) as an exact integer; failures become CliFailure / UsageError with the fix. */
export async function fetchSum(options: FetchSumOptions): Promise<bigint> {
  const url = endpointUrl(options.baseUrl, 'sum');
  if (options.after !== undefined) url.searchParams.set('after', options.after);
  if (options.timeoutMs !== undefined) url.searchParams.set('timeout_ms', String(options.timeoutMs));
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.requestTimeoutMs),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') {
      throw new CliFailure(
        `GET ${url.href} gave no answer within ${options.requestTimeoutMs} ms. Check the sum-service (npx sumstream doctor).`,
        { cause: error },
      );
    }
    throw new CliFailure(
      `Cannot reach the sum-service at ${options.baseUrl}: ${connectionErrorReason(error)}. Start the stack with \`npx sumstream up\`, or point --url / SUMSTREAM_SUM_URL at it.`,
      { cause: error },
    );
  }
  const text = await response.text();
  if (response.status === 200) {
    try {
      return readExactInteger(text, 'sum');
    } catch (error) {
      throw new CliFailure(
        `GET ${url.href} answered 200 but not {"sum": <integer>}: ${text.slice(0, 200)}. Is ${options.baseUrl} a SumStream sum-service?`,
        { cause: error },
      );
    }
  }
  const detail = problemDetail(text);
  if (response.status === 400) throw new UsageError(`The sum-service refused the request (400): ${detail}`);
  if (response.status === 504) {
    throw new CliFailure(
      `The addition behind the read token was not applied within the wait (504): ${detail} ` +
        'Is the pipeline running? `npx sumstream doctor` shows the cdc-relay, the slot lag and the queue; retry, or raise --timeout-ms.',
    );
  }
  if (response.status === 404 && options.after !== undefined) {
    throw new CliFailure(
      `GET ${url.href} answered 404: ${detail} This sum-service may predate read tokens; update it, or drop --after.`,
    );
  }
  throw new CliFailure(`GET ${url.href} answered ${response.status}: ${detail}`);
}

/** The `detail` (or `title`) of a problem JSON body, else the body itself, shortened. */
export function problemDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (typeof body.title === 'string') return body.title;
  } catch {
    // not JSON: show it as it is
  }
  return text.slice(0, 200) || '(empty body)';
}
