-- The add-service's write model: one ledger row per accepted addition, and the outbox
-- that carries its event to change data capture.

CREATE TABLE additions (
  -- The event id (also the outbox row id, the AMQP message_id and the inbox key).
  id              uuid        PRIMARY KEY,
  a               bigint      NOT NULL,
  b               bigint      NOT NULL,
  -- a + b; the add-service refuses pairs whose sum overflows bigint.
  result          bigint      NOT NULL,
  -- Optional client-chosen key: a retry with the same key is answered from this row.
  idempotency_key text        UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 128),
  accepted_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Column names follow Debezium's Outbox Event Router, so Debezium Server can stand in
-- for the built-in relay. CDC reads the INSERT from the WAL (the slot keeps it until the
-- relay confirms), so the add-service prunes rows after OUTBOX_RETENTION_SECONDS.
CREATE TABLE outbox (
  id            uuid        PRIMARY KEY,
  aggregatetype text        NOT NULL,
  aggregateid   text        NOT NULL,
  type          text        NOT NULL,
  payload       jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Only inserts are streamed: the pruning deletes are not events.
CREATE PUBLICATION sumstream_outbox FOR TABLE outbox WITH (publish = 'insert');
