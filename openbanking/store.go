package openbanking

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"katong"
	"katong/auth"
	"katong/sqlstore"
)

// Consent statuses (OBIE v4).
const (
	StatusAWAU = "AWAU" // awaiting authorisation
	StatusAUTH = "AUTH"
	StatusRJCT = "RJCT"
	StatusCANC = "CANC"
	StatusEXPD = "EXPD"
)

// consent is an account-access consent.
type consent struct {
	ID          string
	ClientID    string
	CustomerID  katong.CustomerID
	Permissions []string
	// As the client sent them (normalised to carry a zone), "" if absent.
	Expiration, TxFrom, TxTo string
	// The same in Unix microseconds, 0 if absent.
	ExpiresAt, TxFromAt, TxToAt int64
	Status, Reason              string
	Created, Updated, Deleted   int64
}

func (c *consent) has(p string) bool {
	for _, q := range c.Permissions {
		if q == p {
			return true
		}
	}
	return false
}

// expired reports whether the consent's expiry has passed at now.
func (c *consent) expired(now time.Time) bool {
	return c.ExpiresAt != 0 && now.UnixMicro() >= c.ExpiresAt
}

const consentCols = `id, client_id, customer_id, permissions, expiration, tx_from, tx_to, expires_at, tx_from_at, tx_to_at,
	status, status_reason, created_at, updated_at, deleted_at`

func scanConsent(row sqlstore.Scanner) (*consent, error) {
	var c consent
	var perms string
	err := row.Scan(&c.ID, &c.ClientID, &c.CustomerID, &perms, &c.Expiration, &c.TxFrom, &c.TxTo,
		&c.ExpiresAt, &c.TxFromAt, &c.TxToAt, &c.Status, &c.Reason, &c.Created, &c.Updated, &c.Deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, obErr(cUnknownID, "ConsentId", "no such consent")
	} else if err != nil {
		return nil, err
	}
	c.Permissions = strings.Split(perms, ",")
	return &c, nil
}

// consent returns a consent by id. Returns cUnknownID if there is none
// or it was deleted.
func (s *Server) consent(ctx context.Context, id string) (*consent, error) {
	c, err := scanConsent(s.bank.DB.Row(ctx, `SELECT `+consentCols+` FROM ob_consents WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	if c.Deleted != 0 {
		return nil, obErr(cUnknownID, "ConsentId", "no such consent")
	}
	return c, nil
}

// consentFor is consent read afresh or, for the data endpoints, through
// the grant cache (g); the caller gets its own copy.
func (s *Server) consentFor(ctx context.Context, id string, g grants) (*consent, error) {
	if g == fresh {
		return s.consent(ctx, id)
	}
	c, err := s.consents.Load(id, s.bank.Now(), func() (consent, error) {
		c, err := s.consent(ctx, id)
		if err != nil {
			return consent{}, err
		}
		return *c, nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *Server) insertConsent(ctx context.Context, c *consent) error {
	_, err := s.bank.DB.ExecContext(ctx, `INSERT INTO ob_consents (`+consentCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, c.ClientID, c.CustomerID, strings.Join(c.Permissions, ","), c.Expiration, c.TxFrom, c.TxTo,
		c.ExpiresAt, c.TxFromAt, c.TxToAt, c.Status, c.Reason, c.Created, c.Updated, c.Deleted)
	return err
}

// endConsent moves a consent from one of the statuses in from to status
// (with a reason) and revokes its tokens. It reports whether it changed.
func (s *Server) endConsent(ctx context.Context, id, status, reason string, from ...string) (bool, error) {
	now := s.bank.Now().UnixMicro()
	changed := false
	err := s.bank.DB.Tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE ob_consents SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4 AND status IN (`
		args := []any{status, reason, now, id}
		for i, f := range from {
			if i > 0 {
				q += ", "
			}
			args = append(args, f)
			q += "$" + itoa(len(args))
		}
		res, err := tx.ExecContext(ctx, q+")", args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n == 1
		_, err = tx.ExecContext(ctx, `UPDATE ob_tokens SET revoked_at = $1 WHERE consent_id = $2 AND revoked_at = 0`, now, id)
		return err
	})
	s.forgetGrants(id)
	return changed, err
}

// expire marks an expired consent EXPD (reason TKXP) and ends its tokens.
func (s *Server) expire(ctx context.Context, c *consent) error {
	if _, err := s.endConsent(ctx, c.ID, StatusEXPD, "TKXP", StatusAWAU, StatusAUTH); err != nil {
		return err
	}
	c.Status, c.Reason = StatusEXPD, "TKXP"
	return nil
}

// consentAccount is an account a consent covers, through its card.
type consentAccount struct {
	ObID      string // the opaque AccountId
	AccountID katong.AccountID
	CardID    katong.CardID
}

// consentAccounts returns the accounts the consent covers, by AccountId.
func (s *Server) consentAccounts(ctx context.Context, c *consent) ([]consentAccount, error) {
	return sqlstore.All(ctx, s.bank.DB, func(row sqlstore.Scanner) (consentAccount, error) {
		var a consentAccount
		err := row.Scan(&a.ObID, &a.AccountID, &a.CardID)
		return a, err
	}, `SELECT i.id, ca.account_id, ca.card_id FROM ob_consent_accounts ca
		JOIN ob_account_ids i ON i.account_id = ca.account_id AND i.client_id = $1
		WHERE ca.consent_id = $2 ORDER BY ca.account_id`, c.ClientID, c.ID)
}

// accountIn resolves an AccountId for a request under consent c: an id the
// client never had is cUnknownID (400 U011); a real one outside the
// consent is cOutsideConsent (403).
func (s *Server) accountIn(ctx context.Context, c *consent, obID string) (*consentAccount, error) {
	// An AccountId's account and its place in a consent never change once
	// made: what was found is kept (whether the consent still holds is
	// liveConsent's question, asked on every request).
	ca, err := s.accounts.Load(c.ID+"\x00"+obID, time.Now(), func() (consentAccount, error) {
		var acct katong.AccountID
		var card sql.NullInt64
		err := s.bank.DB.Row(ctx, `SELECT i.account_id, ca.card_id FROM ob_account_ids i
			LEFT JOIN ob_consent_accounts ca ON ca.consent_id = $3 AND ca.account_id = i.account_id
			WHERE i.id = $1 AND i.client_id = $2`, obID, c.ClientID, c.ID).Scan(&acct, &card)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return consentAccount{}, obErr(cUnknownID, "AccountId", "no such account")
		case err == nil && !card.Valid:
			return consentAccount{}, obErr(cOutsideConsent, "AccountId", "the account is not in the consent")
		}
		return consentAccount{ObID: obID, AccountID: acct, CardID: katong.CardID(card.Int64)}, err
	})
	if err != nil {
		return nil, err
	}
	return &ca, nil
}

// obAccountID returns (making it on first use) the client's opaque id of
// an account.
func obAccountID(ctx context.Context, tx *sql.Tx, clientID string, a katong.AccountID) (string, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ob_account_ids (id, client_id, account_id) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, account_id) DO NOTHING`, newID("acc-"), clientID, a); err != nil {
		return "", err
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM ob_account_ids WHERE client_id = $1 AND account_id = $2`, clientID, a).Scan(&id)
	return id, err
}

// token is a stored token's grant.
type token struct {
	Kind      string // "app", "access", "refresh"
	ClientID  string
	ConsentID string
	Expires   int64
	Revoked   int64
}

// issue stores a new token of the kind and returns it. Only its hash is
// kept.
func (s *Server) issue(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, kind, clientID, consentID string, ttl time.Duration) (string, error) {
	tok := auth.NewToken()
	now := s.bank.Now()
	_, err := q.ExecContext(ctx, `INSERT INTO ob_tokens (token_hash, kind, client_id, consent_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, auth.HashToken(tok), kind, clientID, consentID, now.UnixMicro(), now.Add(ttl).UnixMicro())
	if err != nil {
		return "", err
	}
	return tok, nil
}

// lookupToken returns a live token of the kind ("" for any), read afresh
// or through the grant cache (g). The checks run on every call, on the row
// as last read. Returns EUnauthorized for an unknown, expired, revoked or
// other-kind token.
func (s *Server) lookupToken(ctx context.Context, tok, kind string, g grants) (*token, error) {
	if tok == "" || len(tok) > 512 {
		return nil, katong.Errorf(katong.EUnauthorized, "no token")
	}
	hash := auth.HashToken(tok)
	read := func() (token, error) { return s.readToken(ctx, hash) }
	var t token
	var err error
	if g == cached {
		t, err = s.tokens.Load(string(hash), s.bank.Now(), read)
	} else {
		t, err = read()
	}
	if err != nil {
		return nil, err
	}
	return s.checkToken(t, kind)
}

// readToken reads the token row of a token hash.
func (s *Server) readToken(ctx context.Context, hash []byte) (token, error) {
	var t token
	err := s.bank.DB.Row(ctx, `SELECT kind, client_id, consent_id, expires_at, revoked_at FROM ob_tokens WHERE token_hash = $1`,
		hash).Scan(&t.Kind, &t.ClientID, &t.ConsentID, &t.Expires, &t.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, katong.Errorf(katong.EUnauthorized, "unknown token")
	}
	return t, err
}

// checkToken refuses a token of another kind (unless kind is ""), a
// revoked or an expired one.
func (s *Server) checkToken(t token, kind string) (*token, error) {
	switch {
	case kind != "" && t.Kind != kind:
		return nil, katong.Errorf(katong.EUnauthorized, "token of another kind")
	case t.Revoked != 0:
		return nil, katong.Errorf(katong.EUnauthorized, "token revoked")
	case s.bank.Now().UnixMicro() >= t.Expires:
		return nil, katong.Errorf(katong.EUnauthorized, "token expired")
	}
	return &t, nil
}

// forgetGrants drops the cached consent and the cached tokens of a
// consent: called after each change to either.
func (s *Server) forgetGrants(consentID string) {
	s.tokens.DropIf(func(_ string, t token) bool { return t.ConsentID == consentID })
	s.consents.Drop(consentID)
}

// Purge deletes tokens and codes that expired more than a day ago.
func (s *Server) Purge(ctx context.Context) error {
	cut := s.bank.Now().Add(-24 * time.Hour).UnixMicro()
	if _, err := s.bank.DB.ExecContext(ctx, `DELETE FROM ob_tokens WHERE expires_at < $1`, cut); err != nil {
		return err
	}
	_, err := s.bank.DB.ExecContext(ctx, `DELETE FROM ob_codes WHERE expires_at < $1`, cut)
	return err
}

func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }
