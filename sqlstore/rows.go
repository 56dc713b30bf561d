package sqlstore

import (
	"context"
	"database/sql"
)

// Scanner is what a row scan function reads from: *sql.Row or *sql.Rows.
type Scanner = interface{ Scan(...any) error }

// Queryer runs queries: a *DB, *sql.DB or *sql.Tx.
type Queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// All runs q and returns every row, read by scan.
func All[T any](ctx context.Context, db Queryer, scan func(Scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
