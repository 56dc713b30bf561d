package storetest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
)

func TestBankViolation(t *testing.T) {
	ok := []katong.Amount{10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000}
	tests := []struct {
		name string
		bal  []katong.Amount
		want string // part of the violation; "" for none
	}{
		{"Exact", ok, ""},
		{"Moved", []katong.Amount{0, 20000, 10000, 10000, 10000, 10000, 5000, 15000}, ""},
		{"MoneyLost", []katong.Amount{9999, 10000, 10000, 10000, 10000, 10000, 10000, 10000}, "sum to 79999"},
		{"MoneyMade", []katong.Amount{10001, 10000, 10000, 10000, 10000, 10000, 10000, 10000}, "sum to 80001"},
		{"Negative", []katong.Amount{-1, 10001, 10000, 10000, 10000, 10000, 10000, 10000}, "< 0"},
		{"Missing", ok[:7], "read 7 accounts"},
	}
	for _, tc := range tests {
		got := bankViolation(tc.bal)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: bankViolation(%v) = %q; want %q", tc.name, tc.bal, got, tc.want)
		}
	}
}

// TestLedgerViolations is the negative control of CheckLedger: each kind
// of corruption must be reported.
func TestLedgerViolations(t *testing.T) {
	ctx := context.Background()
	corruptions := []struct {
		name, stmt, want string
	}{
		{"BookedDrift", `UPDATE accounts SET booked = booked + 1 WHERE id = $1`, "entries sum to"},
		{"OneSidedEntry", `INSERT INTO entries (txn_id, account_id, amount, balance_after, created_at)
			SELECT txn_id, account_id, 5, balance_after, created_at FROM entries WHERE account_id = $1`, "summing to"},
		{"RunningBalance", `UPDATE entries SET balance_after = balance_after + 7 WHERE account_id = $1`, "balance_after"},
		{"HeldDrift", `UPDATE accounts SET held = held + 3 WHERE id = $1`, "active holds sum to"},
	}
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			db := SQLite(t)
			MustEnsureSystem(t, db)
			a := MustOpenAccount(t, db, "a")
			l := NewLedger(t, db, nil)
			if _, err := l.Do(ctx, ledger.Request{Client: "c", Key: "1", Kind: katong.TxnDeposit, To: a, Amount: 100}); err != nil {
				t.Fatal(err)
			}
			if v := LedgerViolations(ctx, db); len(v) != 0 {
				t.Fatalf("a sound ledger has violations: %v", v)
			}
			if _, err := db.ExecContext(ctx, c.stmt, a); err != nil {
				t.Fatal(err)
			}
			v := LedgerViolations(ctx, db)
			if !strings.Contains(strings.Join(v, "\n"), c.want) {
				t.Errorf("after %s, violations %q; want one saying %q", c.name, v, c.want)
			}
		})
	}
}

// TestReopen checks that the crash copy keeps every committed write and
// gives a working database.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	db := SQLite(t)
	MustEnsureSystem(t, db)
	a := MustOpenAccount(t, db, "a")
	l := startLedger(t, db, nil)
	for i := range 20 {
		if _, err := l.Do(ctx, ledger.Request{Client: "c", Key: string(rune('a' + i)), Kind: katong.TxnDeposit, To: a, Amount: 100}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	again := Reopen(t, db)
	if err := db.PingContext(ctx); err == nil {
		t.Error("the crashed handle still works; want it closed")
	}
	got, err := again.Ledger().Account(ctx, a)
	if err != nil || got.Booked != 2000 {
		t.Fatalf("after Reopen, account = %+v, %v; want booked 2000", got, err)
	}
	CheckLedger(t, again)
	l2 := NewLedger(t, again, nil)
	if _, err := l2.Do(ctx, ledger.Request{Client: "c", Key: "a", Kind: katong.TxnDeposit, To: a, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if twice := Reopen(t, again); twice == nil {
		t.Fatal("second Reopen failed")
	}
}

func TestPostgresSkipsWithoutDSN(t *testing.T) {
	t.Setenv(PostgresEnv, "")
	var skipped bool
	t.Run("Unset", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Postgres(t)
		t.Error("Postgres did not skip")
	})
	if !skipped {
		t.Errorf("with %s unset the test was not skipped", PostgresEnv)
	}
}

func TestPostgresDSN(t *testing.T) {
	admin := MustHavePostgres(t)
	var name string
	t.Run("Create", func(t *testing.T) {
		dsn := PostgresDSN(t)
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "katong_test_") {
			t.Errorf("database %q; want katong_test_<random>", name)
		}
	})
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test", name)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"},
		{"postgresql://u:p@h/db", "postgresql://u:p@h/x"},
		{"postgres://h", "postgres://h/x"},
		{"host=h user=u dbname=postgres", "host=h user=u dbname=postgres dbname=x"},
	}
	for _, tc := range tests {
		if got, err := withDatabase(tc.dsn, "x"); err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

func TestSchema(t *testing.T) {
	check := func(t *testing.T, db interface {
		QueryRow(string, ...any) *sql.Row
	}) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE name LIKE 'migrations/wallet/%'`).Scan(&n); err != nil || n == 0 {
			t.Errorf("wallet migrations applied: %d, %v; want some", n, err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE name LIKE 'migrations/bank/%'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("bank migrations in a wallet database: %d, %v; want none", n, err)
		}
	}
	t.Run("SQLite", func(t *testing.T) { check(t, SQLiteSchema(t, sqlstore.WalletSchema)) })
	t.Run("Postgres", func(t *testing.T) { check(t, PostgresSchema(t, sqlstore.WalletSchema)) })
}

// TestPurgeKeys: a key is remembered for sqlstore.KeyTTL, then forgotten.
func TestPurgeKeys(t *testing.T) {
	db := SQLite(t)
	MustEnsureSystem(t, db)
	clk := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return clk }
	l := NewLedger(t, db, db.Now)
	a := MustOpenAccount(t, db, "a")
	ctx := context.Background()
	req := ledger.Request{Client: "c", Key: "k", Kind: katong.TxnDeposit, To: a, Amount: 100}
	if _, err := l.Do(ctx, req); err != nil {
		t.Fatal(err)
	}
	clk = clk.Add(sqlstore.KeyTTL - time.Hour)
	if n, err := db.Ledger().PurgeKeys(ctx); err != nil || n != 0 {
		t.Fatalf("purged %d, %v before the TTL", n, err)
	}
	if res, err := l.Do(ctx, req); err != nil || !res.Replayed {
		t.Fatalf("retry within the TTL: %+v %v", res, err)
	}
	clk = clk.Add(2 * time.Hour)
	if n, err := db.Ledger().PurgeKeys(ctx); err != nil || n != 1 {
		t.Fatalf("purged %d, %v after the TTL", n, err)
	}
	if rec, _ := db.Ledger().Receipt(ctx, "c", "k"); rec != nil {
		t.Fatal("the key is still remembered")
	}
}

// TestUpgradeForgetsKeys: a database made before migration 00006, whose
// txns table still repeated the idempotency key's uniqueness, loses that
// copy on the next start with its rows and references intact, so that a
// key forgotten by PurgeKeys can be used again (docs/configuration.md,
// Retention).
func TestUpgradeForgetsKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) *sqlstore.DB
		old  []string // what 00006 undoes
	}{
		{"SQLite", SQLite, []string{`CREATE UNIQUE INDEX txns_key ON txns (client, idem_key)`}},
		{"Postgres", Postgres, []string{`ALTER TABLE txns ADD CONSTRAINT txns_client_idem_key_key UNIQUE (client, idem_key)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := tc.open(t)
			clk := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := func() time.Time { return clk }
			db.Now = now
			MustEnsureSystem(t, db)
			a := MustOpenAccount(t, db, "a")
			l := startLedger(t, db, now)
			req := ledger.Request{Client: "c", Key: "k", Kind: katong.TxnDeposit, To: a, Amount: 100}
			for _, k := range []string{"k", "k2", "k3"} {
				req.Key = k
				if _, err := l.Do(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			for _, stmt := range append(tc.old, `CREATE INDEX entries_txn ON entries (txn_id)`,
				`DROP INDEX idempotency_created`, `DELETE FROM schema_migrations WHERE name LIKE '%00006%'`) {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			again := Reopen(t, db) // migrates
			again.Now = now
			CheckLedger(t, again)
			if db.Dialect.Name == "sqlite" {
				var n int
				if err := again.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&n); err != nil || n != 0 {
					t.Fatalf("foreign key check: %d rows, %v", n, err)
				}
			}
			clk = clk.Add(sqlstore.KeyTTL + time.Hour)
			if n, err := again.Ledger().PurgeKeys(ctx); err != nil || n != 3 {
				t.Fatalf("purged %d, %v", n, err)
			}
			req.Key = "k"
			res, err := NewLedger(t, again, now).Do(ctx, req)
			if err != nil || res.Replayed {
				t.Fatalf("a forgotten key used again: %+v, %v", res, err)
			}
			if got, err := again.Ledger().Account(ctx, a); err != nil || got.Booked != 400 {
				t.Fatalf("account %+v, %v; want booked 400", got, err)
			}
		})
	}
}
