package auth

import (
	"context"
	"database/sql"
	"fmt"

	"katong"
)

// AuditAll appends records in one transaction: one commit for many
// records, for a writer that batches them (the wallet's group commit).
// Each record is stored as Audit stores it.
func (s *Service) AuditAll(ctx context.Context, rs []Record) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			if r.At.IsZero() {
				r.At = s.Now()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, channel, actor, action, card_masked, result, detail)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.At.UnixMicro(), r.Channel, katong.Redact(r.Actor), r.Action,
				katong.Redact(r.Card), r.Result, katong.Redact(r.Detail)); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
		}
		return nil
	})
}
