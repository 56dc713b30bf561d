package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// The tables every database has (migrations/common) that are written in
// batches: audit records and rate-limit windows.

// InsertAudit is the head of the audit table's multi-row insert; a row is
// (at, channel, actor, action, card_masked, result, detail).
const InsertAudit = `INSERT INTO audit (at, channel, actor, action, card_masked, result, detail) VALUES `

const auditWidth = 7

// WindowCount is one rate-limit key's hits in a batch: N events in the
// fixed window that starts at Start (Unix microseconds). CountWindows
// sets Hits to the window's count with them.
type WindowCount struct {
	Key   string
	Start int64
	N     int64
	Hits  int64
}

// CountWindows adds each count's events to its window in tx: a window
// whose start differs from the stored one starts again from zero. Keys
// must be distinct (one statement may not update a row twice).
func (db *DB) CountWindows(ctx context.Context, tx *sql.Tx, counts []*WindowCount) error {
	byKey := make(map[string]*WindowCount, len(counts))
	for _, c := range counts {
		byKey[c.Key] = c
	}
	for len(counts) > 0 {
		n := chunkOf(len(counts))
		stmt, err := db.cached(ctx, "count windows", n, func() string { return countWindowsSQL(db.Dialect, n) })
		if err != nil {
			return err
		}
		args := make([]any, 0, 3*n)
		for _, c := range counts[:n] {
			args = append(args, c.Key, c.Start, c.N)
		}
		rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var key string
			var hits int64
			if err := rows.Scan(&key, &hits); err != nil {
				rows.Close()
				return err
			}
			if c := byKey[key]; c != nil {
				c.Hits = hits
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		counts = counts[n:]
	}
	return nil
}

func countWindowsSQL(d Dialect, n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO rate_windows (rate_key, window_start, hits) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(" + d.Param(3*i+1) + ", " + d.Param(3*i+2) + ", " + d.Param(3*i+3) + ")")
	}
	q.WriteString(` ON CONFLICT (rate_key) DO UPDATE SET
		hits = CASE WHEN rate_windows.window_start = excluded.window_start
		            THEN rate_windows.hits + excluded.hits ELSE excluded.hits END,
		window_start = excluded.window_start
		RETURNING rate_key, hits`)
	return q.String()
}

// warmCommon prepares the batch statements of the common tables, before
// any write transaction needs them (see warmLedger).
func (db *DB) warmCommon(ctx context.Context) error {
	for _, n := range chunks {
		if _, err := db.cached(ctx, "count windows", n, func() string { return countWindowsSQL(db.Dialect, n) }); err != nil {
			return err
		}
		if _, err := db.cached(ctx, InsertAudit, n, func() string { return insertSQL(db.Dialect, InsertAudit, auditWidth, n) }); err != nil {
			return err
		}
	}
	return nil
}
