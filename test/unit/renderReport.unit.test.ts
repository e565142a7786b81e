import { describe, expect, it } from 'vitest';
import {
  LATENCY_NOTE,
  type LoadReport,
  niceTicks,
  renderHtml,
  renderMarkdown,
  renderSvg,
  type TargetReport,
} from '../../src/load/renderReport.js';

function target(name: 'add' | 'sum', overrides: Partial<TargetReport> = {}): TargetReport {
  return {
    name,
    label: name === 'add' ? 'gRPC Addition/Add 127.0.0.1:50051' : 'REST GET http://127.0.0.1:4000/sum',
    requests: 3000,
    ok: 2997,
    errors: 3,
    dropped: 0,
    errorRate: 0.001,
    errorsByKind: { UNAVAILABLE: 3 },
    seconds: 3.01,
    throughput: 996.7,
    latencyMs: { min: 0.412, mean: 1.873, p50: 1.5, p90: 2.75, p95: 3.1, p99: 7.25, p999: 15.2, max: 31.9 },
    series: [
      { t: 1, seconds: 1, rate: 1000, ok: 999, errors: 1, dropped: 0, p50Ms: 1.4, p99Ms: 6.5, maxMs: 20 },
      { t: 2, seconds: 1, rate: 1000, ok: 998, errors: 2, dropped: 0, p50Ms: 1.6, p99Ms: 7.9, maxMs: 31.9 },
      { t: 3.01, seconds: 1.01, rate: 990.1, ok: 1000, errors: 0, dropped: 0, p50Ms: 1.5, p99Ms: 7.0, maxMs: 12 },
    ],
    ...overrides,
  };
}

const report: LoadReport = {
  tool: 'sumstream-load',
  startedAt: '2025-11-26T02:00:00.000Z',
  finishedAt: '2025-11-26T02:00:03.500Z',
  settings: {
    mode: 'open',
    targets: ['add', 'sum'],
    rate: 1000,
    connections: 100,
    workers: undefined,
    thinkMs: undefined,
    durationMs: 3000,
    maxRequests: undefined,
    maxInFlight: 20000,
    timeoutMs: 10000,
    grpc: '127.0.0.1:50051',
    rest: 'http://127.0.0.1:4000/',
  },
  latencyNote: LATENCY_NOTE.open,
  targets: [target('add'), target('sum', { errors: 0, ok: 3000, errorRate: 0, errorsByKind: {} })],
  sumCheck: {
    status: 'PASS',
    before: '10',
    after: '296010',
    acknowledgedAdds: 2997,
    acknowledgedTotal: '296000',
    expected: '296010',
    uncertainAdds: 0,
    uncertainTotal: '0',
    waitedMs: 840,
    message: 'PASS: GET /sum went from 10 to 296010 = 10 + 296000',
    note: 'exact only when nothing else writes',
  },
};

describe('renderMarkdown', () => {
  it('has a percentile table with one row per target, latency in ms', () => {
    const markdown = renderMarkdown(report);
    const lines = markdown.split('\n');
    const head = lines.findIndex((line) => line.startsWith('| target |'));
    expect(lines[head]).toBe(
      '| target | requests | ok | errors | dropped | error rate | req/s | min | mean | p50 | p90 | p95 | p99 | p99.9 | max |',
    );
    expect(lines[head + 1]).toMatch(/^\|---\|(---:\|){14}$/);
    expect(lines[head + 2]).toBe(
      '| gRPC Add | 3,000 | 2,997 | 3 | 0 | 0.100% | 996.7 | 0.41 | 1.87 | 1.50 | 2.75 | 3.10 | 7.25 | 15.20 | 31.90 |',
    );
    expect(lines[head + 3]).toMatch(/^\| REST GET \/sum \| 3,000 \| 3,000 \| 0 \| 0 \| 0\.00% \|/);
    expect(markdown).toContain('- add: UNAVAILABLE × 3');
    expect(markdown).toContain('## Sum check: PASS');
    expect(markdown).toContain('scheduled arrival time');
    expect(markdown).toContain('open loop, 1,000 requests/s per target, 100 connections per target, for 3 s');
  });

  it('describes a closed loop and leaves out the sum check when none ran', () => {
    const closed = renderMarkdown({
      ...report,
      settings: { ...report.settings, mode: 'closed', rate: undefined, workers: 40, thinkMs: 100 },
      latencyNote: LATENCY_NOTE.closed,
      sumCheck: undefined,
    });
    expect(closed).toContain('closed loop, 40 workers per target (100 ms pause)');
    expect(closed).not.toContain('Sum check');
    expect(closed).toContain('coordinated omission');
  });
});

describe('renderSvg', () => {
  it('draws throughput and latency panels as well-formed SVG with one point per window', () => {
    const svg = renderSvg(target('add'));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const polylines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(polylines).toHaveLength(5); // ok/s, errors/s, p50, p99, max
    for (const points of polylines) {
      expect(points).toHaveLength(3);
      for (const point of points) expect(point).toMatch(/^\d+(\.\d)?,\d+(\.\d)?$/);
    }
    expect(svg).toContain('throughput');
    expect(svg).toContain('latency');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    // Every opened element is closed (a cheap well-formedness check: no nested text content besides <text>).
    const opened = (svg.match(/<(svg|text)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text)>/g) ?? []).length;
    expect(opened).toBe(closed);
  });

  it('escapes labels and copes with an empty series', () => {
    const svg = renderSvg(target('sum', { label: 'a <b> & "c"', series: [] }));
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });
});

describe('renderHtml', () => {
  it('is one self-contained page: table, sum check and inline SVG, nothing fetched', () => {
    const html = renderHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('<th>p99</th>');
    expect(html).toContain('<td>7.25</td>');
    expect(html).toContain('Sum check: PASS');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org|127\.0\.0\.1)/);
  });
});

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 × 10^k and covers the maximum', () => {
    expect(niceTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(2400)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect(niceTicks(0.7)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});
