-- Counter visits of the teller console: a card and ID number checked at the
-- counter, for the rest of the customer's visit (receipt, cash, status). The
-- row is reached by an opaque random id, stored only as its SHA-256, and
-- only from the teller session that made it. The receipt's figures are a
-- snapshot of the inquiry; card and name are stored masked only.
CREATE TABLE teller_visits (
	id_hash       {{BLOB}} PRIMARY KEY,
	session_hash  {{BLOB}} NOT NULL,
	staff_id      BIGINT NOT NULL,
	card_id       BIGINT NOT NULL,
	account_id    BIGINT NOT NULL,
	card_masked   TEXT NOT NULL,
	holder_masked TEXT NOT NULL,
	result        TEXT NOT NULL,
	available     BIGINT NOT NULL DEFAULT 0,
	booked        BIGINT NOT NULL DEFAULT 0,
	as_of         BIGINT NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL
);
CREATE INDEX teller_visits_expires ON teller_visits (expires_at);
