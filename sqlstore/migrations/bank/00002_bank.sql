-- Customers, cards and staff. Card and ID numbers are held only as a keyed
-- HMAC (look-up), an AES-GCM ciphertext and the last four digits.
CREATE TABLE customers (
	id            {{PK}},
	name          TEXT NOT NULL,
	mobile        TEXT NOT NULL,
	id_hmac       {{BLOB}} NOT NULL UNIQUE,
	id_sealed     {{BLOB}} NOT NULL,
	id_masked     TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX customers_mobile ON customers (mobile);
CREATE TABLE cards (
	id          {{PK}},
	account_id  BIGINT NOT NULL REFERENCES accounts (id),
	customer_id BIGINT NOT NULL REFERENCES customers (id),
	pan_hmac    {{BLOB}} NOT NULL UNIQUE,
	pan_sealed  {{BLOB}} NOT NULL,
	tail        TEXT NOT NULL,
	masked      TEXT NOT NULL,
	product     TEXT NOT NULL DEFAULT '储蓄卡',
	pin_hmac    {{BLOB}},
	created_at  BIGINT NOT NULL
);
CREATE INDEX cards_customer ON cards (customer_id);
CREATE INDEX cards_account ON cards (account_id);
-- Tellers and supervisors: kept apart from customers.
CREATE TABLE staff (
	id            {{PK}},
	username      TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	branch        TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);
-- The customer's inbox in the bank app (new-device notices and others).
CREATE TABLE notices (
	id          {{PK}},
	customer_id BIGINT NOT NULL REFERENCES customers (id),
	at          BIGINT NOT NULL,
	title       TEXT NOT NULL,
	body        TEXT NOT NULL,
	read_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notices_customer ON notices (customer_id, id);
