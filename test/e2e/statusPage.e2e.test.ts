import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StatusDocument } from '../../src/sum-service/statusPage/computeStatus.js';
import { eventually } from '../helpers/eventually.js';
import { type Stack, startStack } from '../helpers/startStack.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../.sumstream/status-page.png', import.meta.url));
/** Each Add's a + b is the largest int64, so the sum passes 2^53 at once (a JS number would round it). */
const A = 2n ** 62n;
const B = 2n ** 62n - 1n;

describe('status page in headless Chromium (real processes, PostgreSQL, RabbitMQ)', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let base: string;
  const pageRequests: string[] = [];
  const pageErrors: string[] = [];

  const text = async (selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: run \`SUMSTREAM_BROWSER_TESTS=true bash scripts/ensure-system-deps.sh\` (npm test does) or \`apt-get install -y chromium\`.`,
      );
    [stack, browser] = await Promise.all([
      startStack({ databaseUrl: inject('databaseUrl'), amqpManagementUrl: inject('amqpManagementUrl') }),
      chromium.launch({ executablePath: CHROMIUM }),
    ]);
    base = `http://127.0.0.1:${stack.ports.sum}`;
    const client = stack.client();
    for (let i = 0; i < 2; i++) await client.add(A, B);
    await stack.waitForSum(2n * (A + B));
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('shows the exact sum of GET /sum, then each new sum through Server-Sent Events without reloading', async () => {
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    page.on('request', (request) => pageRequests.push(new URL(request.url()).pathname));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));

    await page.goto(`${base}/`);
    expect(await text('#sum')).toBe(String(await stack.sum()));
    expect(await text('#sum')).toBe(String(2n * (A + B)));
    await eventually(async () => expect(await page.locator('#connection').getAttribute('data-state')).toBe('live'), {
      timeoutMs: 15_000,
    });
    await page.evaluate('window.sumstreamSamePage = true');

    // When three more additions are applied
    const client = stack.client();
    for (let i = 0; i < 3; i++) await client.add(A, B - BigInt(i));
    const expected = 5n * (A + B) - 3n;

    // Then the page shows the new sum, exactly, on the same page, and never polled /sum for it
    await eventually(async () => expect(await text('#sum')).toBe(String(expected)), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect(await text('#applied-events')).toBe('5');
    expect(String(await stack.sum())).toBe(String(expected));
    expect(await page.evaluate('window.sumstreamSamePage')).toBe(true);
    expect(pageRequests.filter((p) => p === '/')).toHaveLength(1);
    expect(pageRequests).toContain('/sum/stream');
    expect(pageRequests).not.toContain('/sum');
  });

  it('fills the rate, latency, queue, slot-lag and health fields from /status.json', async () => {
    await eventually(
      async () => {
        expect(await text('#rate')).toMatch(/^\d+(\.\d)? \/s \(last \d+(\.\d)? s\)$/);
        expect(await text('#latency')).toMatch(
          /^p50 [\d.]+ (µs|ms|s) · p99 [\d.]+ (µs|ms|s) \((last [\d.]+ s|since start; none recently), \d+ events?\)$/,
        );
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    const status = (await (await fetch(`${base}/status.json`)).json()) as StatusDocument;
    expect(status.queues.main).toMatchObject({ name: 'addition', consumers: 1 });
    expect(status.replication_slots).toMatchObject({ slots: [{ slot_name: stack.slot, active: true }] });

    expect(await text('#queue-main-name')).toBe('addition');
    expect(await text('#queue-main')).toMatch(/^\d+ messages? ready · 1 consumer$/);
    expect(await text('#queue-dead-letter-name')).toBe('addition.dead-letter');
    expect(await text('#queue-dead-letter')).toBe('0 messages ready · 0 consumers');
    expect(await text('#slot-lag')).toMatch(new RegExp(`^${stack.slot}: [\\d,.]+ (B|KiB|MiB)`));
    expect(await text('#health')).toBe('OK: consuming from RabbitMQ, PostgreSQL answers');
    expect(await page.locator('#health').getAttribute('data-status')).toBe('ok');
    expect(await text('#totals')).toMatch(/^5 events · 0 duplicates skipped · 0 dead-lettered · 0 retries$/);
    expect(await text('#uptime')).toMatch(/^(\d+ min )?\d+ s$/);
    expect(await text('#memory')).toMatch(/MiB/);
    expect(pageErrors).toEqual([]);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('reconnects by itself after the sum-service crashes, and catches up with what was applied meanwhile', async () => {
    await stack.kill('sum-service');
    await eventually(
      async () => expect(await page.locator('#connection').getAttribute('data-state')).toBe('reconnecting'),
      { timeoutMs: 15_000 },
    );
    await stack.client().add(A, 0);
    const expected = 5n * (A + B) - 3n + A;

    await stack.start('sum-service');

    await eventually(
      async () => {
        expect(await text('#sum')).toBe(String(expected));
        expect(await page.locator('#connection').getAttribute('data-state')).toBe('live');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(await text('#applied-events')).toBe('6');
    expect(await page.evaluate('window.sumstreamSamePage')).toBe(true);
  });

  it('shows the sum and says what is missing when JavaScript is off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const plain = await context.newPage();
      await plain.goto(`${base}/`);
      expect((await plain.locator('#sum').textContent())?.trim()).toBe(String(await stack.sum()));
      const notice = plain.locator('.notice');
      expect(await notice.isVisible()).toBe(true);
      expect(await notice.textContent()).toMatch(
        /^Live updates need JavaScript\. Without it this page shows the sum when it was\s+loaded and reloads every 10 seconds/,
      );
    } finally {
      await context.close();
    }
  });
});
