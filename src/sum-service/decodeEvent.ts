import { ADDITION_EVENT_TYPE, type ApplicableEvent } from '../shared/vocabulary.js';

/** Why a message was dead-lettered: a small fixed set, usable as a metric label. */
export type DeadLetterReason =
  | 'malformed_json'
  | 'invalid_shape'
  | 'missing_id'
  | 'invalid_id'
  | 'invalid_amount'
  | 'unknown_type'
  | 'conflicting_id'
  /** Older than the inbox's deduplication horizon: whether it was applied can no longer be told. */
  | 'beyond_horizon';

export type Decoded =
  | { kind: 'apply'; event: ApplicableEvent }
  | { kind: 'ignore'; why: string }
  | { kind: 'dead-letter'; reason: DeadLetterReason; detail: string };

/** The AMQP properties the decoder looks at. */
export interface MessageMeta {
  messageId?: string | undefined;
  type?: string | undefined;
  headers?: Record<string, unknown> | undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_ID_LENGTH = 200;

const deadLetter = (reason: DeadLetterReason, detail: string): Decoded => ({ kind: 'dead-letter', reason, detail });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseAmount(value: unknown): bigint | undefined {
  let n: bigint;
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) n = BigInt(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else return undefined;
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

function normaliseId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const id = value.trim().toLowerCase();
  return id.length > 0 ? id : undefined;
}

function acceptedAtMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  // Debezium's ts_ms / created_at in microseconds or milliseconds.
  if (typeof value === 'number' && Number.isFinite(value)) return value > 1e14 ? value / 1000 : value;
  return undefined;
}

/**
 * Decodes one message into an event to apply, one to ignore, or a dead letter with a reason.
 * Accepts three shapes:
 * 1. SumStream's event payload `{id, a, b, amount, acceptedAt}` (built-in relay, and Debezium's
 *    Outbox Event Router, which may deliver the payload as a JSON string);
 * 2. Debezium's raw change-event envelope of our outbox (`payload.after.payload`);
 * 3. the original SumStream's raw envelope (`payload.after.msg`, ops c and r), keyed by its row id.
 * The event id comes from the body, else `message_id`, else the `id` header; ids that disagree
 * are refused.
 */
export function decodeEvent(body: Buffer, meta: MessageMeta = {}): Decoded {
  if (body.length === 0) return { kind: 'ignore', why: 'empty body (a tombstone)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'string') parsed = JSON.parse(parsed);
  } catch (error) {
    return deadLetter('malformed_json', `Body is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed))
    return deadLetter(
      'invalid_shape',
      `Expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}.`,
    );

  // Debezium JSON converter with schemas wraps everything in {schema, payload}.
  const envelope = isObject(parsed['payload']) && 'schema' in parsed ? parsed['payload'] : parsed;
  if ('op' in envelope && ('after' in envelope || 'before' in envelope)) return decodeChangeEnvelope(envelope);

  const type = meta.type ?? (typeof envelope['type'] === 'string' ? envelope['type'] : undefined);
  if (type !== undefined && type !== ADDITION_EVENT_TYPE)
    return deadLetter('unknown_type', `Event type ${JSON.stringify(type)} is not ${ADDITION_EVENT_TYPE}.`);
  return decodePayload(envelope, meta);
}

function decodePayload(payload: Record<string, unknown>, meta: MessageMeta, fallbackId?: string): Decoded {
  const candidates = [
    normaliseId(payload['id']),
    normaliseId(meta.messageId),
    normaliseId(meta.headers?.['id']),
    fallbackId,
  ].filter((id): id is string => id !== undefined);
  const eventId = candidates[0];
  if (eventId === undefined)
    return deadLetter('missing_id', 'No event id: expected "id" in the body, an AMQP message_id or an "id" header.');
  if (candidates.some((id) => id !== eventId))
    return deadLetter('conflicting_id', `Event ids disagree: ${[...new Set(candidates)].join(' vs ')}.`);
  if (eventId.length > MAX_ID_LENGTH)
    return deadLetter('invalid_id', `Event id is ${eventId.length} characters; at most ${MAX_ID_LENGTH}.`);
  const amount = parseAmount(payload['amount']);
  if (amount === undefined)
    return deadLetter(
      'invalid_amount',
      `"amount" must be an int64 as a decimal string, got ${JSON.stringify(payload['amount'])?.slice(0, 60)}.`,
    );
  const at = acceptedAtMs(payload['acceptedAt']);
  // acceptedAt comes from the ledger row, so it is the same in every replay: a stable position.
  return { kind: 'apply', event: { eventId, amount, acceptedAtMs: at, positionMs: at } };
}

function decodeChangeEnvelope(envelope: Record<string, unknown>): Decoded {
  const op = envelope['op'];
  if (op === 'u' || op === 'd' || op === 't')
    return { kind: 'ignore', why: `change event op ${op} is not an addition` };
  if (op !== 'c' && op !== 'r')
    return deadLetter('invalid_shape', `Change event op ${JSON.stringify(op)} is not one of c, r, u, d, t.`);
  const after = envelope['after'];
  if (!isObject(after)) return deadLetter('invalid_shape', `Change event op ${op} has no "after" row.`);
  const rowId = normaliseId(after['id']);
  if ('payload' in after) {
    // Our outbox row: its payload column holds SumStream's event payload.
    let inner: unknown = after['payload'];
    if (typeof inner === 'string') {
      try {
        inner = JSON.parse(inner);
      } catch (error) {
        return deadLetter('malformed_json', `Outbox payload is not JSON: ${(error as Error).message}`);
      }
    }
    if (!isObject(inner)) return deadLetter('invalid_shape', 'Outbox payload is not a JSON object.');
    return decodePayload(inner, { headers: {} }, rowId);
  }
  if ('msg' in after) {
    // The original SumStream's outbox(id bigserial, msg integer): the row id is the event id.
    if (rowId === undefined) return deadLetter('missing_id', 'Original outbox row has no id.');
    const amount = parseAmount(after['msg']);
    if (amount === undefined)
      return deadLetter(
        'invalid_amount',
        `Original outbox "msg" must be an integer, got ${JSON.stringify(after['msg'])?.slice(0, 60)}.`,
      );
    return {
      kind: 'apply',
      event: { eventId: `original-outbox:${rowId}`, amount, acceptedAtMs: acceptedAtMs(envelope['ts_ms']) },
    };
  }
  return deadLetter(
    'invalid_shape',
    'Change event row has neither "payload" (SumStream outbox) nor "msg" (original outbox).',
  );
}
