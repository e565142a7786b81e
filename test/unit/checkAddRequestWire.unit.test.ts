import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAddRequestWire } from '../../src/add-service/checkAddRequestWire.js';
import { loadAdditionProto } from '../../src/shared/grpc/loadAdditionProto.js';

const addMethod = (
  loadAdditionProto()['Addition'] as Record<
    string,
    { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): unknown }
  >
)['Add']!;

describe('checkAddRequestWire', () => {
  it('accepts every request the real encoder produces, with unknown fields appended', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.string({ maxLength: 40 }),
        (a, b, key) => {
          const bytes = addMethod.requestSerialize({ a: a.toString(), b: b.toString(), idempotency_key: key });
          expect(checkAddRequestWire(bytes)).toBeUndefined();
          // field 15 varint 1, field 16 fixed32, field 17 bytes: unknown but well formed
          const withUnknown = Buffer.concat([
            bytes,
            Buffer.from([0x78, 0x01, 0x85, 0x01, 1, 2, 3, 4, 0x8a, 0x01, 0x01, 0x00]),
          ]);
          expect(checkAddRequestWire(withUnknown)).toBeUndefined();
        },
      ),
    );
  });

  it.each([
    ['a truncated varint', [0x08]],
    ['a wrong wire type for a known field', [0x0f, 0x01]],
    ['a length-delimited a', [0x0a, 0x01, 0x01]],
    ['a string longer than the message', [0x1a, 0x05, 0x61]],
    ['field number 0', [0x00, 0x01]],
    ['a group (wire type 3)', [0x7b]],
    ['a varint of more than 10 bytes', [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a fixed64 past the end', [0x79, 0x01]],
    ['a tag longer than five bytes', [0xc2, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00]],
  ])('refuses %s', (_name, bytes) => {
    expect(checkAddRequestWire(Buffer.from(bytes))).toEqual(expect.any(String));
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const problem = checkAddRequestWire(bytes);
        // Whatever it accepts, protobufjs can decode.
        if (problem === undefined) expect(() => addMethod.requestDeserialize(Buffer.from(bytes))).not.toThrow();
      }),
      { numRuns: 20_000 },
    );
  });
});
