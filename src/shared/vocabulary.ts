/**
 * SumStream's shared vocabulary.
 *
 * - **addition**: one accepted `Add(a, b)` call; its ledger row is in `additions`.
 * - **event id**: the UUID of an addition. It is the ledger row id, the outbox row id, the
 *   AMQP `message_id` (and `id` header) and the inbox key, so every hop can be traced and
 *   de-duplicated by it.
 * - **outbox**: the table the add-service writes an event into, in the same transaction as
 *   the ledger row. CDC reads the INSERT from the WAL; the add-service prunes rows older than
 *   `OUTBOX_RETENTION_SECONDS`, so the table stays small.
 * - **publication / slot**: PostgreSQL logical replication objects. The publication selects
 *   outbox inserts; the slot remembers how far the relay has confirmed (the confirmed LSN).
 * - **LSN**: log sequence number, a position in PostgreSQL's WAL, written `XXXXXXXX/XXXXXXXX`.
 * - **relay**: the process that streams the slot into RabbitMQ and confirms an LSN only after
 *   RabbitMQ confirmed every event up to it. A standby relay waits for the leader lock.
 * - **inbox**: `processed_events`, one row per event applied to the sum; a redelivered event
 *   finds its row and is skipped. Rows older than the **deduplication horizon**
 *   (`INBOX_RETENTION_SECONDS`) are pruned, and an event older than the horizon is refused
 *   (dead-lettered, reason `beyond_horizon`), never counted again.
 * - **delivery limit**: how many times RabbitMQ redelivers a message before dead-lettering it.
 * - **dead letter**: a message the sum-service cannot apply, parked with the reason.
 * - **sum changed notification**: a PostgreSQL NOTIFY on `SUM_CHANGED_CHANNEL`, sent by every
 *   commit that changed the sum; processes that serve the sum LISTEN to it.
 * - **watcher**: a client following the sum (gRPC `WatchSum`, `GET /sum/stream`); it gets the
 *   current sum at once, then one update per change, coalesced.
 * - **read token**: what `Add` answers for read-your-writes (`GetSum{after}`, `GET /sum?after=`):
 *   opaque to clients; today the event id.
 */

/** The outbox `type` (and AMQP `type`) of an accepted addition. */
export const ADDITION_EVENT_TYPE = 'AdditionAccepted';
/** AMQP header: when the relay published the event (ms since epoch), for queue time. */
export const PUBLISHED_AT_HEADER = 'x-sumstream-published-at';

/** PostgreSQL channel notified after every commit that changed the sum. */
export const SUM_CHANGED_CHANNEL = 'sumstream_sum_changed';

/** The outbox `aggregatetype`. */
export const ADDITION_AGGREGATE_TYPE = 'addition';

/**
 * The event payload written to the outbox and published as the AMQP body.
 * Integers travel as decimal strings so no JSON parser rounds them.
 */
export interface AdditionEventPayload {
  id: string;
  a: string;
  b: string;
  /** a + b: what the sum-service adds to the sum. */
  amount: string;
  /** ISO-8601 commit-side timestamp, for end-to-end latency. */
  acceptedAt: string;
}

/** An event decoded and validated by the sum-service, ready to apply. */
export interface ApplicableEvent {
  eventId: string;
  /** Exact decimal integer. */
  amount: bigint;
  /** When the addition was accepted, if the event says so (ms since epoch). */
  acceptedAtMs: number | undefined;
  /**
   * The event's position against the inbox's deduplication horizon: when it was accepted (ms since
   * epoch), the same in every delivery and replay. Undefined when the event carries no stable time
   * (the original SumStream's outbox rows): its inbox row is then never pruned.
   */
  positionMs?: number | undefined;
}
