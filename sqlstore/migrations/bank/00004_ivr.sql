-- Phone calls served by the TwiML webhook: the engine's state between two
-- requests, so that any instance can serve the next turn of a call. Card
-- and ID digits in the state are sealed (AES-GCM); rows expire.
CREATE TABLE ivr_calls (
	call_sid   TEXT PRIMARY KEY,
	state      {{BLOB}} NOT NULL,
	version    BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX ivr_calls_expires ON ivr_calls (expires_at);
