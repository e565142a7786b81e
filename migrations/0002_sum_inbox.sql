-- The sum-service's read model.

-- Inbox: one row per event applied to the sum. Its primary key is what makes a
-- redelivered or replayed event a no-op.
CREATE TABLE processed_events (
  -- Text, not uuid: events fed by the original Debezium configuration carry bigserial ids.
  event_id   text        PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 200),
  amount     numeric     NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The running sum, split over a few rows so concurrent consumers do not queue on one
-- hot row; the sum is the total over all shards. NUMERIC never overflows.
CREATE TABLE sum_shards (
  shard          integer PRIMARY KEY,
  total          numeric NOT NULL DEFAULT 0,
  applied_events bigint  NOT NULL DEFAULT 0
);

INSERT INTO sum_shards (shard) SELECT generate_series(0, 15);
