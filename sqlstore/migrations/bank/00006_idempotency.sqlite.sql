-- As 00006_idempotency.postgres.sql. SQLite cannot drop a table's UNIQUE
-- constraint, so txns is built again without it. entries refers to txns,
-- and a referenced table cannot be dropped inside a transaction with
-- foreign keys on, so entries is built again too, from a plain copy.
CREATE TABLE txns_new (
	id         {{PK}},
	kind       TEXT NOT NULL,
	client     TEXT NOT NULL,
	idem_key   TEXT NOT NULL,
	memo       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
INSERT INTO txns_new (id, kind, client, idem_key, memo, created_at)
	SELECT id, kind, client, idem_key, memo, created_at FROM txns;
CREATE TABLE entries_copy AS SELECT id, txn_id, account_id, amount, balance_after, created_at FROM entries;
DROP TABLE entries;
DROP TABLE txns;
ALTER TABLE txns_new RENAME TO txns;
CREATE TABLE entries (
	id            {{PK}},
	txn_id        BIGINT NOT NULL REFERENCES txns (id),
	account_id    BIGINT NOT NULL REFERENCES accounts (id),
	amount        BIGINT NOT NULL,
	balance_after BIGINT NOT NULL,
	created_at    BIGINT NOT NULL
);
INSERT INTO entries (id, txn_id, account_id, amount, balance_after, created_at)
	SELECT id, txn_id, account_id, amount, balance_after, created_at FROM entries_copy;
DROP TABLE entries_copy;
CREATE INDEX entries_account ON entries (account_id, id);
CREATE INDEX idempotency_created ON idempotency (created_at);
