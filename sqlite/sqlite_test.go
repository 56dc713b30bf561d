package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"katong/sqlite"
	"katong/sqlstore"
	"katong/storetest"
)

// TestSQLite runs the conformance suite: the ledger rules, the bank
// invariant (T1) and the model test (T8).
func TestSQLite(t *testing.T) {
	storetest.Run(t, storetest.SQLite)
}

// TestOpenRefusesUnsafeDurability is T4 tier 1: a setting that could lose
// an acknowledged commit on power loss stops Open, and the error names it.
func TestOpenRefusesUnsafeDurability(t *testing.T) {
	tests := []struct {
		name    string
		opts    sqlite.Options
		setting string
	}{
		{"SynchronousNormal", sqlite.Options{Synchronous: "NORMAL"}, "synchronous"},
		{"SynchronousOff", sqlite.Options{Synchronous: "OFF"}, "synchronous"},
		{"JournalDelete", sqlite.Options{JournalMode: "DELETE"}, "journal_mode"},
		{"JournalTruncate", sqlite.Options{JournalMode: "TRUNCATE"}, "journal_mode"},
		{"JournalMemory", sqlite.Options{JournalMode: "MEMORY"}, "journal_mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "unsafe.db")
			db, err := sqlite.Open(context.Background(), path, sqlstore.BankSchema, tc.opts)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%+v) succeeded; want it refused", tc.opts)
			}
			if !strings.Contains(err.Error(), tc.setting) {
				t.Errorf("Open(%+v) = %v; want an error naming %s", tc.opts, err, tc.setting)
			}
		})
	}
}

// TestOpenDurable checks that every connection of the pool, not just the
// first, runs in WAL mode with synchronous=FULL, and that EXTRA is
// accepted too.
func TestOpenDurable(t *testing.T) {
	ctx := context.Background()
	for _, sync := range []string{"", "FULL", "EXTRA"} {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "safe.db"), sqlstore.BankSchema, sqlite.Options{Synchronous: sync})
		if err != nil {
			t.Fatalf("Open(synchronous %q): %v", sync, err)
		}
		defer db.Close()
		for i := range 4 {
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close() // hold it so that the next is another connection
			var mode string
			var level int
			if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" || level < 2 {
				t.Errorf("synchronous %q, connection %d: journal_mode=%s synchronous=%d; want wal and 2 or more", sync, i, mode, level)
			}
		}
	}
}

// TestUnflushedStaysApart: the connections an unflushed batch keeps
// (synchronous NORMAL) never go back to the pool, also when a batch fails
// and the batch takes a fresh one: every connection a durable write can
// get is FULL.
func TestUnflushedStaysApart(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"), sqlstore.BankSchema, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fail := errors.New("refused")
	b := sqlstore.NewBatch(db, true, func(ctx context.Context, tx *sql.Tx, items []string) error {
		for _, it := range items {
			if it == "fail" {
				return fail
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, channel, actor, action, result) VALUES (1, 'app', $1, 'test', 'ok')`, it); err != nil {
				return err
			}
		}
		return nil
	})
	for _, it := range []string{"a", "fail", "b", "fail"} {
		err := b.Do(ctx, it)
		if (it == "fail") != errors.Is(err, fail) {
			t.Fatalf("%s: %v", it, err)
		}
	}
	// Hold every connection the pool can give and ask each.
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 31 { // the pool's 32 less the batch's own
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := db.Conn(cctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var level int
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
			t.Fatal(err)
		}
		if level != 2 {
			t.Fatalf("a pool connection has synchronous=%d; want FULL (2)", level)
		}
	}
}

// TestOneProcess: an SQLite database is open in one place at a time (the
// store keeps the accounts it has read on that ground): a second open is
// refused with a clear error while the first is open, and works once it
// has closed.
func TestOneProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "one.db")
	db, err := sqlite.Open(ctx, path, sqlstore.BankSchema, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !db.Owned {
		t.Error("an SQLite database is not Owned")
	}
	if again, err := sqlite.Open(ctx, path, sqlstore.BankSchema, sqlite.Options{}); err == nil {
		again.Close()
		t.Fatal("a second open of an open database worked")
	} else if !strings.Contains(err.Error(), "open in another process") {
		t.Errorf("second open: %v; want it to say the database is open in another process", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, sqlstore.BankSchema, sqlite.Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	db.Close()
}
