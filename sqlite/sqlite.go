// Package sqlite opens Katong databases on embedded SQLite
// (modernc.org/sqlite, no cgo): WAL, synchronous=FULL, BEGIN IMMEDIATE for
// every write transaction, a start-up check that refuses unsafe
// durability settings (RELIABILITY.md T4 tier 1), and one process per
// database: the process that opens it sees every write to it
// (sqlstore.DB.Owned).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"katong/sqlstore"
)

// Dialect is SQLite's.
var Dialect = sqlstore.Dialect{
	Name: "sqlite",
	PK:   "INTEGER PRIMARY KEY AUTOINCREMENT",
	Blob: "BLOB",
	// BEGIN IMMEDIATE already excludes other writers.
	ForUpdate: "",
	Retryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
	// In WAL mode NORMAL commits write the WAL without an fsync; the
	// database stays consistent, and the next FULL commit or checkpoint
	// makes them durable (an unflushed sqlstore.Batch).
	NoFlush: "PRAGMA synchronous=NORMAL",
	Local:   true,
}

// Options are the settings of an SQLite database. The zero value is the
// safe one; Synchronous exists so tests can prove that an unsafe setting
// is refused.
type Options struct {
	Synchronous string // "" means FULL
	JournalMode string // "" means WAL
}

// Open opens (creating if needed) the database file at path, checks its
// durability settings and migrates it to the newest schema. The database
// is this process's until Close: a second Open, here or in another
// process, is refused.
func Open(ctx context.Context, path string, schema sqlstore.Schema, o Options) (*sqlstore.DB, error) {
	if o.Synchronous == "" {
		o.Synchronous = "FULL"
	}
	if o.JournalMode == "" {
		o.JournalMode = "WAL"
	}
	release, err := own(path)
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened && release != nil {
			release()
		}
	}()
	q := url.Values{}
	q.Add("_pragma", "journal_mode("+o.JournalMode+")")
	q.Add("_pragma", "synchronous("+o.Synchronous+")")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(2)") // statement journals in memory, not in temporary files
	// Checkpoints run in the background (checkpoint below), not in the
	// commit that happens to cross the threshold: no commit waits for one.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := CheckDurability(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	s := sqlstore.New(db, Dialect)
	s.Owned = release != nil
	if err := s.Migrate(ctx, schema); err != nil {
		db.Close()
		return nil, err
	}
	cctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go checkpoint(cctx, db, done)
	s.OnClose(func() { stop(); <-done })
	if release != nil {
		s.OnClosed(release)
	}
	opened = true
	return s, nil
}

// checkpoint copies the WAL into the database file every 200 ms without
// blocking readers or writers (PASSIVE), and truncates the WAL once a
// minute when it can, until ctx ends.
func checkpoint(ctx context.Context, db *sql.DB, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mode := "PASSIVE"
		if n%300 == 0 {
			mode = "TRUNCATE"
		}
		db.ExecContext(ctx, "PRAGMA wal_checkpoint("+mode+")")
	}
}

// CheckDurability refuses a database whose settings can lose an
// acknowledged commit on power loss: it must be in WAL mode with
// synchronous=FULL (2) or EXTRA (3).
func CheckDurability(ctx context.Context, db *sql.DB) error {
	var mode string
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: read journal_mode: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("sqlite: read synchronous: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: unsafe journal_mode=%s: need WAL", mode)
	}
	if sync < 2 {
		return fmt.Errorf("sqlite: unsafe synchronous=%d: need FULL (2), a commit could be lost on power loss", sync)
	}
	return nil
}
