-- Least-privilege roles for SumStream's three services. Run it as the role that applied the
-- migrations (the schema owner), in the SumStream database, with a password for each role:
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 \
--     -v add_password="$ADD_DB_PASSWORD" -v relay_password="$RELAY_DB_PASSWORD" -v sum_password="$SUM_DB_PASSWORD" \
--     -f deploy/postgres/roles.sql
--
-- Then run each service with its own DATABASE_URL and SUMSTREAM_MIGRATE=false, and apply
-- future migrations with `npm run migrate` as the owner. Safe to run again (passwords rotate).
--
--   sumstream_add    writes the ledger, its idempotency keys and the outbox, makes the ledger's
--                    partitions (sumstream_maintain_ledger), reads the sum and the inbox (GetSum,
--                    WatchSum, read-your-writes: GetSum{after} checks the inbox for the event)
--   sumstream_relay  REPLICATION: it reads the outbox from the WAL only; and its record of the
--                    slot (cdc_slots), so it can tell a lost slot from a new one
--   sumstream_sum    writes the inbox and the sum, prunes the inbox and moves its horizon;
--                    cannot read or write the ledger

SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['sumstream_add', 'sumstream_relay', 'sumstream_sum']) AS r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec

ALTER ROLE sumstream_add   LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'add_password';
ALTER ROLE sumstream_relay LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE REPLICATION   PASSWORD :'relay_password';
ALTER ROLE sumstream_sum   LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'sum_password';

SELECT format('GRANT CONNECT ON DATABASE %I TO sumstream_add, sumstream_relay, sumstream_sum', current_database()) \gexec
GRANT USAGE ON SCHEMA public TO sumstream_add, sumstream_relay, sumstream_sum;

GRANT SELECT, INSERT         ON additions        TO sumstream_add;
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO sumstream_add;
GRANT SELECT, INSERT, DELETE ON outbox           TO sumstream_add;
-- Makes and expires the ledger's partitions as the owner (SECURITY DEFINER, migrations/0004).
GRANT EXECUTE ON FUNCTION sumstream_maintain_ledger(integer, integer, text) TO sumstream_add;
GRANT SELECT                 ON sum_shards       TO sumstream_add;
GRANT SELECT                 ON processed_events TO sumstream_add;

GRANT SELECT, INSERT, UPDATE ON cdc_slots        TO sumstream_relay;

GRANT SELECT, INSERT, DELETE ON processed_events TO sumstream_sum;
GRANT SELECT, UPDATE         ON inbox_horizon    TO sumstream_sum;
GRANT SELECT, UPDATE         ON sum_shards       TO sumstream_sum;
