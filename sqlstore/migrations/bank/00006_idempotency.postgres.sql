-- A ledger transaction's (client, idem_key) is unique through the
-- idempotency table, written in the same transaction; the copy of that
-- rule on txns made every write update one more index, and refused a key
-- used again after PurgeKeys had forgotten it. Entries are never looked up
-- by transaction. Purging old keys reads them by age.
ALTER TABLE txns DROP CONSTRAINT IF EXISTS txns_client_idem_key_key;
DROP INDEX IF EXISTS entries_txn;
CREATE INDEX idempotency_created ON idempotency (created_at);
