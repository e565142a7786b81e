-- What the cdc-relay knows about its replication slot, kept in the database itself so it is
-- replicated (and failed over) with the ledger. A row means "a relay streamed from this slot":
-- if the slot is then missing, or was created after a failover, outbox events may never have
-- been published, and the relay refuses to stream until `sumstream cdc resync` (docs/operations.md).
CREATE TABLE cdc_slots (
  slot_name   text        PRIMARY KEY,
  -- The server's timeline when the relay last checked the slot; a higher one means a failover since.
  timeline    integer     NOT NULL CHECK (timeline >= 1),
  -- Set when the slot was found lost; sticky until a resync clears it, so every relay agrees.
  lost_reason text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
