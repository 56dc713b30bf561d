// Package sqlstore persists Katong's data in SQL. The queries are written
// once, with $n placeholders that both SQLite (modernc.org/sqlite) and
// PostgreSQL (pgx) accept; what differs between the two, opening, pragmas,
// durability checks and a few words of DDL, lives in the sqlite and
// postgres packages, which hand a *sql.DB and a Dialect to New.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"katong"
	"katong/shortcache"
)

// Dialect is what a database engine needs said differently.
type Dialect struct {
	Name      string // "sqlite" or "postgres"
	PK        string // DDL of an auto-increment 64-bit primary key
	Blob      string // DDL of a byte-string column
	ForUpdate string // suffix of a row-locking SELECT; "" where the transaction already excludes writers
	// Retryable reports whether a failed transaction may be run again
	// (serialisation failure, deadlock, busy).
	Retryable func(error) bool
	// Lock takes the migration lock inside tx (PostgreSQL: advisory lock).
	Lock string
	// IDs returns $1 new transaction ids ("" where there is one writer and
	// ids can follow the largest).
	IDs string
	// Writers is how many write transactions usefully run at once: 1 for
	// SQLite (one writer), more for PostgreSQL (row locks).
	Writers int
	// NoFlush makes a connection's commits stop waiting for the disk
	// while staying crash-consistent (an unflushed Batch); "" where the
	// engine cannot.
	NoFlush string
	// Local is true where the database runs in this process (SQLite): a
	// point read then takes microseconds and cannot wait on a network,
	// so Row runs it without the caller's cancellation, which would cost
	// database/sql a goroutine per query.
	Local bool
}

// Param is the placeholder of the i-th argument (from 1): SQLite's
// anonymous "?" (named ones cost a look-up each in big statements), or
// PostgreSQL's "$i".
func (d Dialect) Param(i int) string {
	if d.Name == "sqlite" {
		return "?"
	}
	return "$" + strconv.Itoa(i)
}

// DB is a Katong database: a bank's or the wallet's.
type DB struct {
	*sql.DB
	groupState
	stmts stmtCache // statements of cached
	// Owned is true where this process alone opens the database (an
	// SQLite file, locked at open): a row it has read stays as read until
	// it writes the row itself, so Ledger keeps accounts it has read
	// (accountCache) and drops each one it writes before the write is
	// acknowledged.
	Owned        bool
	accountCache *shortcache.Cache[katong.AccountID, *katong.Account]
	closing      []func() // run by Close, before the database closes
	afterClose   []func() // run by Close, after the database closes
	Dialect      Dialect
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// accountCacheTTL bounds how long an account read stays in memory when
// Owned: not for freshness (a write drops it), only so that memory holds
// the accounts in use.
const accountCacheTTL = time.Minute

// New wraps an open database.
func New(db *sql.DB, d Dialect) *DB {
	s := &DB{DB: db, Dialect: d, Now: time.Now, accountCache: shortcache.New[katong.AccountID, *katong.Account](accountCacheTTL)}
	s.durable = NewBatch(s, false, runEach)
	return s
}

//go:embed migrations/*/*.sql
var migrations embed.FS

// Schema names a set of migrations: "bank" or "wallet".
type Schema string

const (
	BankSchema   Schema = "bank"
	WalletSchema Schema = "wallet"
)

// Migrate brings the database to the newest version of the schema. Each
// file migrations/common/NNNNN_name.sql (tables every database has:
// sessions, lock-outs, rate limits, audit), then each file
// migrations/<schema>/NNNNN_name.sql, runs once, in its own transaction,
// in name order; the words {{PK}} and {{BLOB}} take the dialect's DDL. A
// file named NNNNN_name.<dialect>.sql runs only on that dialect (what the
// two engines cannot say alike).
func (db *DB) Migrate(ctx context.Context, s Schema) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	common, _ := fs.Glob(migrations, "migrations/common/*.sql")
	own, err := fs.Glob(migrations, "migrations/"+string(s)+"/*.sql")
	if err != nil || len(own) == 0 {
		return fmt.Errorf("migrate: no migrations for %s", s)
	}
	sort.Strings(common)
	sort.Strings(own)
	for _, name := range append(common, own...) {
		if !db.Dialect.runs(name) {
			continue
		}
		if err := db.migrate(ctx, name); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	if err := db.warmCommon(ctx); err != nil {
		return err
	}
	if s == BankSchema {
		return db.warmLedger(ctx)
	}
	return nil
}

// runs reports whether the migration file name is for this dialect: a
// shared one, or one named for it.
func (d Dialect) runs(name string) bool {
	parts := strings.Split(strings.TrimSuffix(path.Base(name), ".sql"), ".")
	return len(parts) == 1 || parts[len(parts)-1] == d.Name
}

func (db *DB) migrate(ctx context.Context, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.Dialect.Lock != "" {
		if _, err := tx.ExecContext(ctx, db.Dialect.Lock); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	ddl := strings.NewReplacer("{{PK}}", db.Dialect.PK, "{{BLOB}}", db.Dialect.Blob).Replace(string(body))
	for _, stmt := range strings.Split(ddl, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w in %q", err, firstLine(stmt))
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`,
		name, db.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

// Tx runs fn in a write transaction and commits. On SQLite the DSN makes
// it BEGIN IMMEDIATE; on PostgreSQL a serialisation failure or deadlock
// runs fn again, up to 10 times.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return db.txOn(ctx, db.DB, fn)
}

// beginner is where a transaction begins: the pool or one connection.
type beginner interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}

// txOn is Tx on b.
func (db *DB) txOn(ctx context.Context, b beginner, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		err = txOnce(ctx, b, fn)
		if err == nil || db.Dialect.Retryable == nil || !db.Dialect.Retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * time.Millisecond):
		}
	}
	return err
}

func txOnce(ctx context.Context, b beginner, fn func(*sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// OnClose registers f to run when the database closes (to stop a
// background task that uses it).
func (db *DB) OnClose(f func()) { db.closing = append(db.closing, f) }

// OnClosed registers f to run once the database has closed (to release
// what guards the database).
func (db *DB) OnClosed(f func()) { db.afterClose = append(db.afterClose, f) }

// cached returns the prepared statement named by (name, n), building its
// text with build the first time. database/sql prepares it once on each
// connection it runs on.
func (db *DB) cached(ctx context.Context, name string, n int, build func() string) (*sql.Stmt, error) {
	key := stmtKey{name, n}
	db.stmts.mu.RLock()
	st := db.stmts.m[key]
	db.stmts.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, build())
	if err != nil {
		return nil, err
	}
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if old := db.stmts.m[key]; old != nil {
		st.Close()
		return old, nil
	}
	if db.stmts.m == nil {
		db.stmts.m = map[stmtKey]*sql.Stmt{}
	}
	db.stmts.m[key] = st
	return st, nil
}

// stmtCache maps (name, rows) to a prepared statement; a typed map, so
// that a look-up allocates nothing.
type stmtCache struct {
	mu sync.RWMutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	name string
	n    int
}

// Row runs a one-row query through a statement prepared once per
// connection (hot reads: sessions, accounts, cards), instead of parsing
// the SQL on every call.
func (db *DB) Row(ctx context.Context, q string, args ...any) *sql.Row {
	if db.Dialect.Local {
		ctx = context.WithoutCancel(ctx)
	}
	s, err := db.cached(ctx, q, 0, func() string { return q })
	if err != nil {
		return db.QueryRowContext(ctx, q, args...) // reports the error on Scan
	}
	return s.QueryRowContext(ctx, args...)
}

// notFound turns sql.ErrNoRows into ENotFound.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return katong.Errorf(katong.ENotFound, format, args...)
	}
	return err
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
