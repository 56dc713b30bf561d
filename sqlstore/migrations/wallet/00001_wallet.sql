-- The wallet: its users, the cards they bound (卡通), binding attempts in
-- flight, and the payments and refunds it made from bound cards. No
-- balance is ever stored here: the wallet asks the issuing bank each time.
-- Card numbers are held only as a keyed HMAC, the masked form and the tail.
CREATE TABLE wallet_users (
	id            {{PK}},
	mobile        TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);
-- A binding is active (shown to the user), revoking (unbound by the user,
-- the consent's DELETE at the bank still to be made: a durable queue) or
-- revoked. Tokens are sealed with the vault; they are wiped once revoked.
CREATE TABLE bindings (
	id             {{PK}},
	user_id        BIGINT NOT NULL REFERENCES wallet_users (id),
	bank_id        TEXT NOT NULL,
	account_id     TEXT NOT NULL,
	consent_id     TEXT NOT NULL,
	card_hmac      {{BLOB}} NOT NULL,
	card_masked    TEXT NOT NULL,
	card_tail      TEXT NOT NULL,
	access_sealed  {{BLOB}},
	refresh_sealed {{BLOB}},
	access_expires BIGINT NOT NULL DEFAULT 0,
	status         TEXT NOT NULL,
	created_at     BIGINT NOT NULL,
	unbound_at     BIGINT NOT NULL DEFAULT 0,
	revoke_tries   BIGINT NOT NULL DEFAULT 0,
	revoke_next_at BIGINT NOT NULL DEFAULT 0,
	revoke_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bindings_user ON bindings (user_id, status);
CREATE UNIQUE INDEX bindings_card ON bindings (user_id, card_hmac) WHERE status = 'active';
CREATE INDEX bindings_revoking ON bindings (status, revoke_next_at);
-- A binding in flight: the OAuth state (stored as its SHA-256), the PKCE
-- verifier (sealed), the session it belongs to, and the typed card.
CREATE TABLE bind_attempts (
	state_hash      {{BLOB}} PRIMARY KEY,
	user_id         BIGINT NOT NULL REFERENCES wallet_users (id),
	session_hash    {{BLOB}} NOT NULL,
	bank_id         TEXT NOT NULL,
	consent_id      TEXT NOT NULL,
	verifier_sealed {{BLOB}} NOT NULL,
	card_hmac       {{BLOB}} NOT NULL,
	card_masked     TEXT NOT NULL,
	card_tail       TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL,
	used_at         BIGINT NOT NULL DEFAULT 0
);
-- Payments from bound cards. The bank's idempotency key is stored before
-- the request is sent, so a lost answer is asked again with the same key:
-- pending until the bank's answer is known, then paid or failed.
CREATE TABLE payments (
	id              {{PK}},
	user_id         BIGINT NOT NULL REFERENCES wallet_users (id),
	binding_id      BIGINT NOT NULL REFERENCES bindings (id),
	client_key      TEXT NOT NULL,
	bank_key        TEXT NOT NULL UNIQUE,
	amount          BIGINT NOT NULL,
	reference       TEXT NOT NULL,
	status          TEXT NOT NULL,
	bank_payment_id TEXT NOT NULL DEFAULT '',
	fail_code       TEXT NOT NULL DEFAULT '',
	tries           BIGINT NOT NULL DEFAULT 0,
	next_at         BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX payments_client_key ON payments (user_id, client_key);
CREATE INDEX payments_user ON payments (user_id, id);
CREATE INDEX payments_pending ON payments (status, next_at);
CREATE TABLE refunds (
	id             {{PK}},
	payment_id     BIGINT NOT NULL REFERENCES payments (id),
	user_id        BIGINT NOT NULL REFERENCES wallet_users (id),
	client_key     TEXT NOT NULL,
	bank_key       TEXT NOT NULL UNIQUE,
	amount         BIGINT NOT NULL,
	reference      TEXT NOT NULL,
	status         TEXT NOT NULL,
	bank_refund_id TEXT NOT NULL DEFAULT '',
	fail_code      TEXT NOT NULL DEFAULT '',
	tries          BIGINT NOT NULL DEFAULT 0,
	next_at        BIGINT NOT NULL DEFAULT 0,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX refunds_client_key ON refunds (user_id, client_key);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_pending ON refunds (status, next_at);
