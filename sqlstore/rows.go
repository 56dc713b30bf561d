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

// chunks are the row counts of the multi-row statements: a batch of n
// rows is written by the largest that fit, so only four statement texts
// per table exist and each is parsed once per connection.
var chunks = []int{64, 16, 4, 1}

// InsertRows inserts rows, each a list of values of the same width, with
// head ("INSERT INTO t (a, b) VALUES ") and multi-row VALUES lists of the
// chunk sizes, each statement prepared once per connection.
func (db *DB) InsertRows(ctx context.Context, tx *sql.Tx, head string, rows [][]any) error {
	for len(rows) > 0 {
		n := chunkOf(len(rows))
		width := len(rows[0])
		stmt, err := db.cached(ctx, head, n, func() string { return insertSQL(db.Dialect, head, width, n) })
		if err != nil {
			return err
		}
		args := make([]any, 0, n*width)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func chunkOf(n int) int {
	for _, c := range chunks {
		if c <= n {
			return c
		}
	}
	return 1
}
