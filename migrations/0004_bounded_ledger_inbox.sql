-- Bounded state (docs/operations.md#bounds-what-sumstream-does-at-each-limit, ADR 0012).
--
-- 1. The ledger becomes a table partitioned by accepted_at, so retention is a metadata operation
--    (detach or drop a partition), never a mass delete. PRIMARY KEY and UNIQUE on a partitioned
--    table must include the partition key, so idempotency keys move to a table of their own with
--    its own retention window, and the ledger keeps the key for audit only.
-- 2. The inbox records each event's position (its accepted_at, the same in every replay) so rows
--    can be pruned past a deduplication horizon; an event older than the horizon is refused.

ALTER TABLE additions RENAME TO additions_unpartitioned;
ALTER TABLE additions_unpartitioned RENAME CONSTRAINT additions_pkey TO additions_unpartitioned_pkey;

CREATE TABLE additions (
  id              uuid        NOT NULL,
  a               bigint      NOT NULL,
  b               bigint      NOT NULL,
  result          bigint      NOT NULL,
  -- The client's key, kept for audit; uniqueness lives in idempotency_keys.
  idempotency_key text        CHECK (length(idempotency_key) BETWEEN 1 AND 128),
  accepted_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (id, accepted_at)
) PARTITION BY RANGE (accepted_at);

-- One row per range partition, written by sumstream_maintain_ledger (and here): reading bounds
-- back from pg_class.relpartbound would mean parsing SQL text.
CREATE TABLE ledger_partitions (
  partition_name text        PRIMARY KEY,
  lower_bound    timestamptz NOT NULL,
  upper_bound    timestamptz NOT NULL UNIQUE CHECK (upper_bound > lower_bound)
);

-- Everything accepted before this migration goes into one partition; rows routed nowhere else
-- (maintenance behind, or a clock far ahead) land in the default partition and are moved out when
-- their partition is made.
DO $$
DECLARE
  history_end timestamptz := greatest(clock_timestamp(), (SELECT max(accepted_at) + interval '1 microsecond' FROM additions_unpartitioned));
BEGIN
  EXECUTE format('CREATE TABLE additions_history PARTITION OF additions FOR VALUES FROM (MINVALUE) TO (%L)', history_end);
  INSERT INTO ledger_partitions VALUES ('additions_history', '-infinity', history_end);
END $$;
CREATE TABLE additions_default PARTITION OF additions DEFAULT;

INSERT INTO additions (id, a, b, result, idempotency_key, accepted_at)
SELECT id, a, b, result, idempotency_key, accepted_at FROM additions_unpartitioned;

CREATE TABLE idempotency_keys (
  idempotency_key text        PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 128),
  addition_id     uuid        NOT NULL,
  accepted_at     timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_accepted_at ON idempotency_keys (accepted_at);
INSERT INTO idempotency_keys (idempotency_key, addition_id, accepted_at)
SELECT idempotency_key, id, accepted_at FROM additions_unpartitioned WHERE idempotency_key IS NOT NULL;

DROP TABLE additions_unpartitioned;

-- Makes the missing partitions up to 2 to 3 intervals ahead of now (moving any rows of their
-- range out of the default partition), then detaches or drops the partitions wholly older than
-- `retention_seconds` (0 keeps every partition). SECURITY DEFINER: the add-service's role may run
-- it without owning the ledger. One caller at a time (an advisory lock); the others return at once.
CREATE FUNCTION sumstream_maintain_ledger(partition_seconds integer, retention_seconds integer, expire text)
RETURNS TABLE (created integer, expired integer, partitions integer, default_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '1s' AS $$
DECLARE
  step    constant interval    := make_interval(secs => partition_seconds);
  target  constant timestamptz := to_timestamp((floor(extract(epoch FROM clock_timestamp()) / partition_seconds) + 3) * partition_seconds);
  p_lower timestamptz;
  p_upper timestamptz;
  p_name  text;
  old     record;
BEGIN
  IF partition_seconds < 1 THEN RAISE EXCEPTION 'partition_seconds must be at least 1, got %', partition_seconds; END IF;
  IF expire NOT IN ('detach', 'drop') THEN RAISE EXCEPTION 'expire must be detach or drop, got %', expire; END IF;
  created := 0;
  expired := 0;
  IF pg_try_advisory_xact_lock(7301122004) THEN
    SELECT max(upper_bound) INTO p_lower FROM ledger_partitions;
    WHILE p_lower < target LOOP
      -- The next boundary; after a long pause, one partition spans the gap up to the current one.
      p_upper := greatest(to_timestamp((floor(extract(epoch FROM p_lower) / partition_seconds) + 1) * partition_seconds),
                          to_timestamp(floor(extract(epoch FROM clock_timestamp()) / partition_seconds) * partition_seconds));
      p_name  := 'additions_p' || to_char(p_lower AT TIME ZONE 'UTC', 'YYYYMMDD"t"HH24MISS');
      EXECUTE format('CREATE TABLE %I (LIKE additions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', p_name);
      EXECUTE format('WITH moved AS (DELETE FROM additions_default WHERE accepted_at >= %L AND accepted_at < %L RETURNING *)
                      INSERT INTO %I SELECT * FROM moved', p_lower, p_upper, p_name);
      EXECUTE format('ALTER TABLE additions ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', p_name, p_lower, p_upper);
      INSERT INTO ledger_partitions VALUES (p_name, p_lower, p_upper);
      created := created + 1;
      p_lower := p_upper;
    END LOOP;
    IF retention_seconds > 0 THEN
      FOR old IN SELECT partition_name FROM ledger_partitions
                 WHERE upper_bound <= clock_timestamp() - make_interval(secs => retention_seconds)
                 ORDER BY upper_bound LOOP
        IF expire = 'drop' THEN
          EXECUTE format('DROP TABLE %I', old.partition_name);
        ELSE
          EXECUTE format('ALTER TABLE additions DETACH PARTITION %I', old.partition_name);
        END IF;
        DELETE FROM ledger_partitions WHERE partition_name = old.partition_name;
        expired := expired + 1;
      END LOOP;
    END IF;
  END IF;
  SELECT count(*) INTO partitions FROM ledger_partitions;
  SELECT count(*) INTO default_rows FROM (SELECT 1 FROM additions_default LIMIT 100000) AS d;
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION sumstream_maintain_ledger(integer, integer, text) FROM PUBLIC;

-- The inbox: each row's position is its event's accepted_at (NULL for events that carry no stable
-- time, the original SumStream's outbox rows: those rows are never pruned).
ALTER TABLE processed_events ADD COLUMN event_at timestamptz;
UPDATE processed_events SET event_at = applied_at;
CREATE INDEX processed_events_event_at ON processed_events (event_at);

-- Events older than `horizon` have had their inbox rows pruned, so the sum-service refuses them
-- (dead-lettered, reason beyond_horizon) instead of counting them again. Moved forward by the pruner
-- under an exclusive advisory lock that every apply transaction takes shared.
CREATE TABLE inbox_horizon (
  singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  horizon   timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO inbox_horizon DEFAULT VALUES;
