-- The double-entry ledger. Amounts are integer fen; times are Unix microseconds (UTC).
CREATE TABLE accounts (
	id            {{PK}},
	kind          TEXT NOT NULL,
	customer_id   BIGINT NOT NULL DEFAULT 0,
	name          TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL DEFAULT 'active',
	freeze_reason TEXT NOT NULL DEFAULT '',
	booked        BIGINT NOT NULL DEFAULT 0,
	held          BIGINT NOT NULL DEFAULT 0,
	opened_at     BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	CHECK (kind <> 'customer' OR booked - held >= 0),
	CHECK (held >= 0)
);
CREATE INDEX accounts_customer ON accounts (customer_id);
CREATE TABLE txns (
	id         {{PK}},
	kind       TEXT NOT NULL,
	client     TEXT NOT NULL,
	idem_key   TEXT NOT NULL,
	memo       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	UNIQUE (client, idem_key)
);
CREATE TABLE entries (
	id            {{PK}},
	txn_id        BIGINT NOT NULL REFERENCES txns (id),
	account_id    BIGINT NOT NULL REFERENCES accounts (id),
	amount        BIGINT NOT NULL,
	balance_after BIGINT NOT NULL,
	created_at    BIGINT NOT NULL
);
CREATE INDEX entries_account ON entries (account_id, id);
CREATE INDEX entries_txn ON entries (txn_id);
CREATE TABLE holds (
	id         {{PK}},
	account_id BIGINT NOT NULL REFERENCES accounts (id),
	amount     BIGINT NOT NULL CHECK (amount > 0),
	status     TEXT NOT NULL,
	memo       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX holds_account ON holds (account_id, status);
-- One row per client and key: the replayed answer of an idempotent write.
CREATE TABLE idempotency (
	client      TEXT NOT NULL,
	idem_key    TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	result      TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (client, idem_key)
);
