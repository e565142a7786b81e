import { describe, expect, it } from 'vitest';
import { formatSumUpdate } from '../../src/cli/commands/watchCommand.js';
import { readExactInteger, topLevelMembers } from '../../src/cli/exactJson.js';
import { SseParser } from '../../src/cli/SseParser.js';
import { toJson } from '../../src/cli/toJson.js';

describe('toJson', () => {
  it('writes bigints as exact integer literals, wherever they are', () => {
    const big = 2n ** 70n + 1n;
    expect(toJson({ sum: big, n: [1n, -2n], s: 'text', nested: { x: big } })).toBe(
      `{"sum":${big},"n":[1,-2],"s":"text","nested":{"x":${big}}}`,
    );
    expect(toJson({ sum: 5n }, 2)).toBe('{\n  "sum": 5\n}');
  });

  it('leaves strings alone, even ones that look like its marks', () => {
    expect(toJson({ a: '\u0000abc:0\u0000', b: 1n })).toBe('{"a":"\\u0000abc:0\\u0000","b":1}');
  });
});

describe('exact JSON integers', () => {
  it('reads integers past 2^53 exactly', () => {
    expect(readExactInteger('{"sum":27670116110564327421}', 'sum')).toBe(27670116110564327421n);
    expect(readExactInteger('{ "applied_events" : 3 , "sum" : -9223372036854775809 }', 'sum')).toBe(
      -9223372036854775809n,
    );
  });

  it('takes top-level members only, with nested objects, arrays and tricky strings skipped whole', () => {
    const members = topLevelMembers('{"a":{"sum":1,"b":[1,{"c":"}"}]},"s":"x\\",}","sum":2}');
    expect(members.get('sum')).toBe('2');
    expect(members.get('a')).toBe('{"sum":1,"b":[1,{"c":"}"}]}');
    expect(members.get('s')).toBe('"x\\",}"');
  });

  it('refuses malformed JSON, non-integers and missing members', () => {
    expect(() => readExactInteger('{"sum":1', 'sum')).toThrow(SyntaxError);
    expect(() => readExactInteger('{"sum":1.5}', 'sum')).toThrow(/expected an integer "sum" member, found 1.5/);
    expect(() => readExactInteger('{"sum":1e3}', 'sum')).toThrow(SyntaxError);
    expect(() => readExactInteger('{"sum":"1"}', 'sum')).toThrow(SyntaxError);
    expect(() => readExactInteger('{"other":1}', 'sum')).toThrow(/found none/);
    expect(() => readExactInteger('[1]', 'sum')).toThrow(/expected a JSON object/);
  });
});

describe('SseParser', () => {
  it('dispatches events at blank lines, with the last id and the event type', () => {
    const parser = new SseParser();
    const events = parser.push(
      'event: sum\nid: 1\ndata: {"sum":5,"applied_events":1}\n\n: keep-alive\n\nevent: sum\nid: 2\ndata: {"sum":7,"applied_events":2}\n\n',
    );
    expect(events).toEqual([
      { event: 'sum', id: '1', data: '{"sum":5,"applied_events":1}' },
      { event: 'sum', id: '2', data: '{"sum":7,"applied_events":2}' },
    ]);
    expect(parser.lastEventId).toBe('2');
  });

  it('joins data lines, defaults the type to message, reads retry, and ignores events without data', () => {
    const parser = new SseParser();
    expect(parser.push('retry: 2500\nevent: sum\n\ndata:a\ndata: b\n\n')).toEqual([
      { event: 'message', id: undefined, data: 'a\nb' },
    ]);
    expect(parser.retryMs).toBe(2500);
  });

  it('gives the same events however the stream is split, with CRLF, LF or CR line ends', () => {
    const stream = 'event: sum\r\nid: 9\r\ndata: {"sum":1}\r\n\r\nevent: sum\rdata: {"sum":2}\r\r\n';
    const whole = new SseParser().push(stream);
    expect(whole.map((e) => e.data)).toEqual(['{"sum":1}', '{"sum":2}']);
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))];
      expect(events, `split at ${cut}`).toEqual(whole);
    }
  });
});

describe('watch lines', () => {
  it('shows the time, the exact sum and the applied events', () => {
    expect(formatSumUpdate({ sum: 2n ** 64n, appliedEvents: 3n, id: '3' }, new Date('2025-01-02T03:04:05.678Z'))).toBe(
      '03:04:05.678  sum 18446744073709551616  applied_events 3',
    );
  });
});
