package teller

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"errors"
	"time"

	"katong"
	"katong/auth"
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// visit is a customer at the counter whose card and ID number were
// checked: what the rest of the visit (receipt, cash, status) works on.
// The balance is a snapshot of the last audited inquiry.
type visit struct {
	ID           string
	StaffID      int64
	CardID       katong.CardID
	AccountID    katong.AccountID
	CardMasked   string      // first six and last four digits
	HolderMasked string      // katong.MaskName
	Result       katong.Code // "" when the inquiry gave a balance
	Available    katong.Amount
	Booked       katong.Amount
	AsOf         time.Time
}

func visitHash(id string) []byte {
	h := sha256.Sum256([]byte("teller-visit\x00" + id))
	return h[:]
}

// validVisitID reports whether id can be one of newID's, so that anything
// else is refused before it reaches the database.
func validVisitID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

func noVisit() error {
	return &katong.Error{Code: katong.ENotFound, Field: "visit", Message: "no such counter visit for this session"}
}

// saveVisit stores a new visit bound to the session token and returns its
// id. Expired visits are swept on the way.
func (c *Console) saveVisit(ctx context.Context, tok string, v *visit) (string, error) {
	now := c.b.Now()
	if _, err := c.b.DB.ExecContext(ctx, `DELETE FROM teller_visits WHERE expires_at < $1`, now.UnixMicro()); err != nil {
		return "", err
	}
	id := newID()
	_, err := c.b.DB.ExecContext(ctx, `INSERT INTO teller_visits (id_hash, session_hash, staff_id, card_id, account_id,
		card_masked, holder_masked, result, available, booked, as_of, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		visitHash(id), auth.HashToken(tok), v.StaffID, v.CardID, v.AccountID, v.CardMasked, v.HolderMasked,
		string(v.Result), v.Available, v.Booked, v.AsOf.UnixMicro(), now.UnixMicro(), now.Add(visitTTL).UnixMicro())
	if err != nil {
		return "", err
	}
	v.ID = id
	return id, nil
}

// loadVisit returns the visit of the id if the session made it and it has
// not expired. Returns ENotFound (Field "visit") otherwise: another
// teller's visit looks exactly like none.
func (c *Console) loadVisit(ctx context.Context, tok, id string) (*visit, error) {
	if !validVisitID(id) {
		return nil, noVisit()
	}
	v := &visit{ID: id}
	var result string
	var asOf int64
	err := c.b.DB.Row(ctx, `SELECT staff_id, card_id, account_id, card_masked, holder_masked, result,
		available, booked, as_of FROM teller_visits WHERE id_hash = $1 AND session_hash = $2 AND expires_at > $3`,
		visitHash(id), auth.HashToken(tok), c.b.Now().UnixMicro()).
		Scan(&v.StaffID, &v.CardID, &v.AccountID, &v.CardMasked, &v.HolderMasked, &result, &v.Available, &v.Booked, &asOf)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noVisit()
	} else if err != nil {
		return nil, err
	}
	v.Result, v.AsOf = katong.Code(result), time.UnixMicro(asOf)
	return v, nil
}

// updateVisit stores a new balance snapshot.
func (c *Console) updateVisit(ctx context.Context, v *visit) error {
	_, err := c.b.DB.ExecContext(ctx, `UPDATE teller_visits SET result = $1, available = $2, booked = $3, as_of = $4
		WHERE id_hash = $5`, string(v.Result), v.Available, v.Booked, v.AsOf.UnixMicro(), visitHash(v.ID))
	return err
}
