// Package storetest opens throw-away Katong databases for tests and holds
// the conformance suite that every ledger store must pass: the rules of
// the ledger (postings, overdraft, freeze, holds, idempotency), the Jepsen
// bank invariant under concurrency (RELIABILITY.md T1) with its negative
// control, and a seeded model test with simulated crashes (T8).
//
// SQLite databases live in a test's temporary directory. PostgreSQL tests
// need KATONG_TEST_POSTGRES, a DSN of a server where the user may create
// databases, for example
//
//	KATONG_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//
// Each test gets a fresh database katong_test_<random>, dropped when it
// ends; without the variable the PostgreSQL tests are skipped, loudly.
//
// Knobs, all optional:
//
//	KATONG_T1_DURATION  how long the bank workload runs (default 3s; CI may set 60s)
//	KATONG_T8_SEEDS     model test seeds per store (default 20 on SQLite, 5 on PostgreSQL;
//	                    a quarter of that under -race)
//	KATONG_T8_OPS       operations per seed (default 1000)
//	KATONG_T8_SEED      run only these seeds (comma-separated), to replay a failure
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"katong/postgres"
	"katong/sqlite"
	"katong/sqlstore"
)

// PostgresEnv names the environment variable with the DSN of the
// PostgreSQL server that tests may create databases on.
const PostgresEnv = "KATONG_TEST_POSTGRES"

// Opener opens fresh databases and reopens them after a simulated crash.
// The model test (T8) uses Reopen for its "crash" step.
type Opener interface {
	// Open returns a fresh, migrated database that t's cleanup closes.
	Open(t testing.TB) *sqlstore.DB
	// Reopen simulates a crash of the process that had old open: old is
	// closed without any orderly shutdown and the same database is opened
	// again, as a restarted process would open it. The result is closed
	// by t's cleanup.
	Reopen(t testing.TB, old *sqlstore.DB) *sqlstore.DB
}

// OpenFunc adapts an open function to an Opener. Its Reopen works for the
// databases this package's helpers opened (SQLite, Postgres and their
// Schema variants); for any other database it fails the test.
type OpenFunc func(t testing.TB) *sqlstore.DB

// Open calls f.
func (f OpenFunc) Open(t testing.TB) *sqlstore.DB { return f(t) }

// Reopen calls the package's Reopen.
func (f OpenFunc) Reopen(t testing.TB, old *sqlstore.DB) *sqlstore.DB { return Reopen(t, old) }

// reopeners remembers how to reopen each database the helpers opened.
var reopeners sync.Map // *sqlstore.DB → func(testing.TB) *sqlstore.DB

// Reopen simulates a crash and restart for a database opened by this
// package's helpers: see Opener.Reopen.
//
// For SQLite it copies the database file and its write-ahead log as they
// are on disk, the state a kill -9 would leave (no checkpoint, no clean
// close), opens the copy, so SQLite must recover the WAL, and closes old.
// For PostgreSQL it closes old's connections, which rolls back anything
// they had open, and connects again.
func Reopen(t testing.TB, old *sqlstore.DB) *sqlstore.DB {
	t.Helper()
	f, ok := reopeners.Load(old)
	if !ok {
		t.Fatalf("storetest.Reopen: database %p was not opened by storetest", old)
	}
	return f.(func(testing.TB) *sqlstore.DB)(t)
}

// SQLite returns a fresh bank database in a temporary directory.
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return SQLiteSchema(t, sqlstore.BankSchema)
}

// SQLiteSchema returns a fresh database of the schema in a temporary
// directory.
func SQLiteSchema(t testing.TB, schema sqlstore.Schema) *sqlstore.DB {
	t.Helper()
	return openSQLite(t, filepath.Join(t.TempDir(), "katong.db"), schema, 0)
}

func openSQLite(t testing.TB, path string, schema sqlstore.Schema, gen int) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sqlite.Open(ctx, path, schema, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		db.Close()
		reopeners.Delete(db)
	})
	reopeners.Store(db, func(t testing.TB) *sqlstore.DB {
		t.Helper()
		next := filepath.Join(filepath.Dir(path), fmt.Sprintf("katong-%d.db", gen+1))
		for _, suffix := range []string{"", "-wal"} {
			if err := copyFile(path+suffix, next+suffix); err != nil {
				t.Fatalf("storetest: crash copy of %s: %v", path+suffix, err)
			}
		}
		db.Close()
		reopeners.Delete(db)
		return openSQLite(t, next, schema, gen+1)
	})
	return db
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if os.IsNotExist(err) {
		return nil // no WAL yet
	} else if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// MustHavePostgres returns the DSN in KATONG_TEST_POSTGRES, or skips the
// test when it is not set.
func MustHavePostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skip("KATONG_TEST_POSTGRES not set: PostgreSQL tests skipped")
	}
	return dsn
}

// Postgres returns a fresh bank database on the server named by
// KATONG_TEST_POSTGRES, or skips the test when it is not set.
func Postgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	return PostgresSchema(t, sqlstore.BankSchema)
}

// PostgresSchema returns a fresh database of the schema on the server
// named by KATONG_TEST_POSTGRES, or skips the test when it is not set.
func PostgresSchema(t testing.TB, schema sqlstore.Schema) *sqlstore.DB {
	t.Helper()
	return openPostgres(t, PostgresDSN(t), schema)
}

func openPostgres(t testing.TB, dsn string, schema sqlstore.Schema) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, schema)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		reopeners.Delete(db)
	})
	reopeners.Store(db, func(t testing.TB) *sqlstore.DB {
		t.Helper()
		db.Close()
		reopeners.Delete(db)
		return openPostgres(t, dsn, schema)
	})
	return db
}

// PostgresDSN creates an empty database katong_test_<random> on the server
// named by KATONG_TEST_POSTGRES and returns its DSN; t's cleanup drops it
// (WITH (FORCE), so connections left open do not keep it alive). It skips
// the test when the variable is not set. The database has no schema: give
// the DSN to postgres.Open or to a binary under test.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := MustHavePostgres(t)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "katong_test_" + hex.EncodeToString(b[:])
	if err := adminExec(admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("storetest: %s: %v", PostgresEnv, err)
	}
	return dsn
}

func adminExec(dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// withDatabase returns dsn (URL or keyword/value form) with its database
// name replaced.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // a later keyword wins
}
