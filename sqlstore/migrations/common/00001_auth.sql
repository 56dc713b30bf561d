-- Sessions, lock-outs, rate limits and the audit log: every Katong
-- database (each bank's and the wallet's) has them.
CREATE TABLE sessions (
	token_hash   {{BLOB}} PRIMARY KEY,
	subject_kind TEXT NOT NULL,
	subject_id   BIGINT NOT NULL,
	device       TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	last_seen    BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	revoked      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_subject ON sessions (subject_kind, subject_id);
-- Wrong-secret counters; key is a keyed hash, never a card number.
CREATE TABLE lockouts (
	lock_key     TEXT PRIMARY KEY,
	failures     BIGINT NOT NULL,
	window_start BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE rate_windows (
	rate_key     TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	hits         BIGINT NOT NULL
);
CREATE TABLE audit (
	id          {{PK}},
	at          BIGINT NOT NULL,
	channel     TEXT NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	card_masked TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL,
	detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
-- Devices a subject has logged in from, for the new-device notice.
CREATE TABLE devices (
	subject_kind TEXT NOT NULL,
	subject_id   BIGINT NOT NULL,
	device_hash  TEXT NOT NULL,
	first_seen   BIGINT NOT NULL,
	PRIMARY KEY (subject_kind, subject_id, device_hash)
);
