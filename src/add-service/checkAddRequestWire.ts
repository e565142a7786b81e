/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Wire type each known AddRequest field must use (proto3: a = 1, b = 2 varint; idempotency_key = 3 bytes). */
const KNOWN_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, VARINT],
  [2, VARINT],
  [3, LENGTH_DELIMITED],
]);

/** Reads a varint of at most `maxBytes` bytes (10 for 64-bit values, 5 for tags and lengths). */
function readVarint(bytes: Uint8Array, offset: number, maxBytes = 10): { value: bigint; next: number } | undefined {
  let value = 0n;
  for (let i = 0; i < maxBytes; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return { value, next: offset + i + 1 };
  }
  return undefined;
}

/**
 * Checks that `bytes` is a well-formed protobuf AddRequest before it is decoded: every tag and
 * varint complete, lengths within the message, known fields with their declared wire types,
 * unknown fields skippable (protobuf keeps them legal), no deprecated groups or invalid wire
 * types. protobufjs alone accepts some malformed inputs (wrong wire types, truncated strings).
 * Returns a description of the first problem, or undefined when the bytes are well formed.
 */
export function checkAddRequestWire(bytes: Uint8Array): string | undefined {
  let offset = 0;
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset, 5);
    if (!tag || tag.value > 0xffffffffn) return `malformed tag at byte ${offset}`;
    const field = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (field === 0) return `field number 0 at byte ${offset}`;
    const expected = KNOWN_FIELDS.get(field);
    if (expected !== undefined && expected !== wireType)
      return `field ${field} has wire type ${wireType}, expected ${expected}`;
    offset = tag.next;
    switch (wireType) {
      case VARINT: {
        const value = readVarint(bytes, offset);
        if (!value) return `truncated varint in field ${field}`;
        offset = value.next;
        break;
      }
      case FIXED64:
        offset += 8;
        break;
      case FIXED32:
        offset += 4;
        break;
      case LENGTH_DELIMITED: {
        const length = readVarint(bytes, offset, 5);
        if (!length) return `malformed length of field ${field}`;
        if (length.value > BigInt(bytes.length - length.next))
          return `field ${field} claims ${length.value} bytes but ${bytes.length - length.next} remain`;
        offset = length.next + Number(length.value);
        break;
      }
      default:
        return `unsupported wire type ${wireType} in field ${field}`;
    }
    if (offset > bytes.length) return `field ${field} runs past the end of the message`;
  }
  return undefined;
}
