package auth

import (
	"context"
	"database/sql"
	"fmt"
	"katong/sqlstore"
	"time"

	"katong"
)

// Record is one line of the audit log. Card is always masked.
type Record struct {
	ID      int64
	At      time.Time
	Channel katong.Channel
	Actor   string // who asked: "customer:12", "teller:t001@branch", "caller:+86…" (masked)
	Action  string // "balance", "login", "freeze", …
	Card    string // masked card
	Result  string // "ok" or an error code
	Detail  string
}

// Audit appends a record durably: staff actions, card checks, consents.
// Card must already be masked; Audit masks anything that still looks like
// a card or ID number. The queries this process queued before it (Use)
// are written first, so that the log keeps the order things happened in.
func (s *Service) Audit(ctx context.Context, r Record) error {
	if r.At.IsZero() {
		r.At = s.Now()
	}
	if err := s.Flush(ctx); err != nil {
		return err
	}
	return s.db.Grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.db.InsertRows(ctx, tx, sqlstore.InsertAudit, [][]any{r.redacted().row()}); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		return nil
	})
}

// redacted is r with anything in its free text that looks like a card or
// ID number masked.
func (r Record) redacted() Record {
	r.Actor, r.Card, r.Detail = katong.Redact(r.Actor), katong.Redact(r.Card), katong.Redact(r.Detail)
	return r
}

// row is r's values in the order of sqlstore.InsertAudit.
func (r Record) row() []any {
	return []any{r.At.UnixMicro(), r.Channel, r.Actor, r.Action, r.Card, r.Result, r.Detail}
}

// AuditLog returns the newest records, at most limit, before the id
// (0 for the newest). It first waits for this process's queries still
// queued (Use), so that the log shows every query answered here.
func (s *Service) AuditLog(ctx context.Context, before int64, limit int) ([]Record, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q := `SELECT id, at, channel, actor, action, card_masked, result, detail FROM audit`
	args := []any{}
	if before > 0 {
		q += ` WHERE id < $1`
		args = append(args, before)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)
	return sqlstore.All(ctx, s.db, func(row sqlstore.Scanner) (Record, error) {
		var r Record
		var at int64
		err := row.Scan(&r.ID, &at, &r.Channel, &r.Actor, &r.Action, &r.Card, &r.Result, &r.Detail)
		r.At = time.UnixMicro(at).UTC()
		return r, err
	}, q, args...)
}
