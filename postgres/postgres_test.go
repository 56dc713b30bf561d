package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"katong/postgres"
	"katong/sqlstore"
	"katong/storetest"
)

// TestPostgres runs the conformance suite: the ledger rules, the bank
// invariant (T1) and the model test (T8). It needs KATONG_TEST_POSTGRES.
func TestPostgres(t *testing.T) {
	storetest.Run(t, storetest.Postgres)
}

// pool opens a pool of one connection, so that a SET applies to every
// query CheckDurability makes.
func pool(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return db
}

// TestCheckDurability is T4 tier 1: a session that could acknowledge a
// commit before it is on disk is refused, and the error names the setting.
func TestCheckDurability(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	if err := postgres.CheckDurability(ctx, pool(t, dsn)); err != nil {
		t.Fatalf("CheckDurability on the default server settings = %v; want nil", err)
	}
	for _, v := range []string{"local", "remote_write", "on"} {
		db := pool(t, dsn)
		if _, err := db.ExecContext(ctx, "SET synchronous_commit = "+v); err != nil {
			t.Fatal(err)
		}
		if err := postgres.CheckDurability(ctx, db); err != nil {
			t.Errorf("CheckDurability with synchronous_commit=%s = %v; want nil (the local WAL is flushed)", v, err)
		}
	}
	db := pool(t, dsn)
	if _, err := db.ExecContext(ctx, "SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	err := postgres.CheckDurability(ctx, db)
	if err == nil || !strings.Contains(err.Error(), "synchronous_commit") {
		t.Errorf("CheckDurability with synchronous_commit=off = %v; want an error naming synchronous_commit", err)
	}
}

// TestOpenRefusesUnsafeDurability: Open refuses synchronous_commit=off
// whether it comes from the DSN or from the database's own settings.
func TestOpenRefusesUnsafeDurability(t *testing.T) {
	ctx := context.Background()
	t.Run("DSN", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		if !strings.HasPrefix(dsn, "postgres") {
			sep = " "
		}
		db, err := postgres.Open(ctx, dsn+sep+"synchronous_commit=off", sqlstore.BankSchema)
		if err == nil {
			db.Close()
			t.Fatal("Open with synchronous_commit=off in the DSN succeeded; want it refused")
		}
		if !strings.Contains(err.Error(), "synchronous_commit") {
			t.Errorf("Open = %v; want an error naming synchronous_commit", err)
		}
	})
	t.Run("AlterDatabase", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		admin := pool(t, dsn)
		var name string
		if err := admin.QueryRowContext(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = off"); err != nil {
			t.Fatal(err)
		}
		db, err := postgres.Open(ctx, dsn, sqlstore.BankSchema)
		if err == nil {
			db.Close()
			t.Fatal("Open of a database with synchronous_commit=off succeeded; want it refused")
		}
		if !strings.Contains(err.Error(), "synchronous_commit") {
			t.Errorf("Open = %v; want an error naming synchronous_commit", err)
		}
	})
}
