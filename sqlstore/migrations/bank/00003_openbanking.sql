-- Open Banking (package openbanking): account-access consents, the accounts
-- each one covers, opaque account ids per client, authorisation codes,
-- tokens (their SHA-256 only, never the token), wallet payments and refunds.
-- Times are Unix microseconds (UTC), amounts integer fen.
CREATE TABLE ob_consents (
	id            TEXT PRIMARY KEY,
	client_id     TEXT NOT NULL,
	customer_id   BIGINT NOT NULL DEFAULT 0,
	permissions   TEXT NOT NULL,
	expiration    TEXT NOT NULL DEFAULT '',
	tx_from       TEXT NOT NULL DEFAULT '',
	tx_to         TEXT NOT NULL DEFAULT '',
	expires_at    BIGINT NOT NULL DEFAULT 0,
	tx_from_at    BIGINT NOT NULL DEFAULT 0,
	tx_to_at      BIGINT NOT NULL DEFAULT 0,
	status        TEXT NOT NULL,
	status_reason TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	deleted_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ob_consents_customer ON ob_consents (customer_id, status);
CREATE INDEX ob_consents_client ON ob_consents (client_id);
CREATE TABLE ob_account_ids (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL,
	account_id BIGINT NOT NULL REFERENCES accounts (id),
	UNIQUE (client_id, account_id)
);
CREATE TABLE ob_consent_accounts (
	consent_id TEXT NOT NULL REFERENCES ob_consents (id),
	account_id BIGINT NOT NULL REFERENCES accounts (id),
	card_id    BIGINT NOT NULL REFERENCES cards (id),
	PRIMARY KEY (consent_id, account_id)
);
CREATE TABLE ob_codes (
	code_hash    {{BLOB}} PRIMARY KEY,
	consent_id   TEXT NOT NULL REFERENCES ob_consents (id),
	client_id    TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	challenge    TEXT NOT NULL,
	expires_at   BIGINT NOT NULL,
	used_at      BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE ob_tokens (
	token_hash {{BLOB}} PRIMARY KEY,
	kind       TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	consent_id TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ob_tokens_consent ON ob_tokens (consent_id);
CREATE INDEX ob_tokens_expires ON ob_tokens (expires_at);
CREATE TABLE ob_payments (
	id            TEXT PRIMARY KEY,
	client_id     TEXT NOT NULL,
	idem_key      TEXT NOT NULL,
	fingerprint   TEXT NOT NULL,
	consent_id    TEXT NOT NULL,
	account_id    BIGINT NOT NULL REFERENCES accounts (id),
	ob_account_id TEXT NOT NULL,
	amount        BIGINT NOT NULL CHECK (amount > 0),
	refunded      BIGINT NOT NULL DEFAULT 0,
	reference     TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL,
	txn_id        BIGINT NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	UNIQUE (client_id, idem_key),
	CHECK (refunded >= 0 AND refunded <= amount)
);
CREATE TABLE ob_refunds (
	id          TEXT PRIMARY KEY,
	payment_id  TEXT NOT NULL REFERENCES ob_payments (id),
	client_id   TEXT NOT NULL,
	idem_key    TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	amount      BIGINT NOT NULL CHECK (amount > 0),
	reference   TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	txn_id      BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (client_id, idem_key)
);
CREATE INDEX ob_refunds_payment ON ob_refunds (payment_id);
