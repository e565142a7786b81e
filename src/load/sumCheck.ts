/**
 * The sum check: GET /sum before the run and, after it, polled until it equals the value before plus
 * the total of every acknowledged Add (or the drain timeout passes). Failed Adds whose outcome is
 * unknown (deadline passed, connection lost) widen the accepted range by their own a + b.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SumCheckReport } from './renderReport.js';

export const SUM_CHECK_NOTE =
  'The check is exact only when nothing else writes to this stack during the run: Adds from other clients also move GET /sum.';

/** GET <baseUrl>/sum as an exact integer; throws with the status and body otherwise. */
export function readSum(baseUrl: URL, timeoutMs = 5_000): Promise<bigint> {
  const url = new URL('sum', baseUrl.href.endsWith('/') ? baseUrl : new URL(`${baseUrl.href}/`));
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: timeoutMs, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const match = /^\{"sum":(-?\d+)\}$/.exec(text);
        if (response.statusCode === 200 && match) resolve(BigInt(match[1]!));
        else reject(new Error(`GET ${url.href} answered ${response.statusCode} ${text.slice(0, 200)}`));
      });
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url.href} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export interface SumCheckInput {
  read: () => Promise<bigint>;
  before: bigint;
  acknowledgedAdds: number;
  acknowledgedTotal: bigint;
  uncertainAdds: number;
  uncertainTotal: bigint;
  drainTimeoutMs: number;
  intervalMs?: number;
  /** With uncertain Adds: how long the sum must stay unchanged inside the range. */
  settleMs?: number;
}

export async function checkSum(input: SumCheckInput): Promise<SumCheckReport> {
  const expected = input.before + input.acknowledgedTotal;
  const highest = expected + input.uncertainTotal;
  const started = performance.now();
  const deadline = started + input.drainTimeoutMs;
  const settleMs = input.settleMs ?? 2_000;
  let last: bigint | undefined;
  let lastError: string | undefined;
  let stableSince = performance.now();
  let passed = false;
  for (;;) {
    try {
      const value = await input.read();
      lastError = undefined;
      if (value !== last) stableSince = performance.now();
      last = value;
      if (
        input.uncertainAdds === 0
          ? value === expected
          : value >= expected && value <= highest && performance.now() - stableSince >= settleMs
      ) {
        passed = true;
        break;
      }
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (performance.now() >= deadline) break;
    await sleep(input.intervalMs ?? 200);
  }
  const waitedMs = Math.round(performance.now() - started);
  const after = last === undefined ? 'unreadable' : String(last);
  const adds = `${input.acknowledgedAdds.toLocaleString('en-US')} acknowledged Adds totalling ${input.acknowledgedTotal}`;
  const range =
    input.uncertainAdds === 0
      ? `${expected}`
      : `between ${expected} and ${highest} (${input.uncertainAdds} failed Adds of unknown outcome, totalling ${input.uncertainTotal})`;
  const message = passed
    ? input.uncertainAdds === 0
      ? `PASS: GET /sum went from ${input.before} to ${after} = ${input.before} + ${input.acknowledgedTotal} (${adds}); applied within ${waitedMs} ms after the last answer.`
      : `PASS: GET /sum went from ${input.before} to ${after}, ${range}; ${adds}; settled within ${waitedMs} ms.`
    : `FAIL: GET /sum is ${after}${lastError ? ` (last read failed: ${lastError})` : ''}, expected ${range}: ${input.before} before + ${adds}; waited ${waitedMs} ms.` +
      (last !== undefined ? ` Difference: ${last - expected}.` : '');
  return {
    status: passed ? 'PASS' : 'FAIL',
    before: String(input.before),
    after,
    acknowledgedAdds: input.acknowledgedAdds,
    acknowledgedTotal: String(input.acknowledgedTotal),
    expected: String(expected),
    uncertainAdds: input.uncertainAdds,
    uncertainTotal: String(input.uncertainTotal),
    waitedMs,
    message,
    note: SUM_CHECK_NOTE,
  };
}
