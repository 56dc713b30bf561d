package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
)

// Run runs the whole conformance suite against the databases open
// returns: the ledger rules, the bank invariant (T1) and the model test
// (T8). The model test's crash step reopens databases with Reopen, so
// open must return databases made by this package's helpers (SQLite,
// Postgres, ...); other stores use RunOpener.
func Run(t *testing.T, open func(t testing.TB) *sqlstore.DB) {
	RunOpener(t, OpenFunc(open))
}

// RunOpener is Run for an Opener.
func RunOpener(t *testing.T, o Opener) {
	t.Run("Conformance", func(t *testing.T) { Conformance(t, o.Open) })
	t.Run("Bank", func(t *testing.T) { Bank(t, o.Open) })
	t.Run("Model", func(t *testing.T) { Model(t, o) })
}

// NewLedger starts a ledger on db whose log goes to t; t's cleanup closes
// it. now may be nil for the real clock.
func NewLedger(t testing.TB, db *sqlstore.DB, now func() time.Time) *ledger.Ledger {
	t.Helper()
	l := startLedger(t, db, now)
	t.Cleanup(func() { l.Close() })
	return l
}

func startLedger(t testing.TB, db *sqlstore.DB, now func() time.Time) *ledger.Ledger {
	return ledger.New(db.Ledger(), ledger.Options{Now: now, Log: slog.New(slog.NewTextHandler(tbWriter{t}, nil))})
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// MustEnsureSystem opens the bank's own accounts.
func MustEnsureSystem(t testing.TB, db *sqlstore.DB) {
	t.Helper()
	if err := db.Ledger().EnsureSystem(context.Background()); err != nil {
		t.Fatalf("EnsureSystem: %v", err)
	}
}

// MustOpenAccount opens a customer account with a zero balance.
func MustOpenAccount(t testing.TB, db *sqlstore.DB, name string) katong.AccountID {
	t.Helper()
	id, err := db.Ledger().OpenAccount(context.Background(), katong.KindCustomer, 1, name)
	if err != nil {
		t.Fatalf("OpenAccount(%s): %v", name, err)
	}
	return id
}

// CheckLedger checks the double-entry invariants of the whole database and
// reports every violation on t:
//
//   - every transaction has two or more entries, and they sum to zero;
//   - each account's entries, in id order, carry running balances from
//     zero, and the last equals the account's booked balance;
//   - each account's held total is the sum of its active holds, and no
//     customer account has less than zero available;
//   - all booked balances sum to zero.
func CheckLedger(t testing.TB, db *sqlstore.DB) {
	t.Helper()
	for _, v := range LedgerViolations(context.Background(), db) {
		t.Error(v)
	}
}

// LedgerViolations returns what CheckLedger would report.
func LedgerViolations(ctx context.Context, db *sqlstore.DB) []string {
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	rows, err := db.QueryContext(ctx, `SELECT t.id, t.kind, count(e.id), coalesce(sum(e.amount), 0)
		FROM txns t LEFT JOIN entries e ON e.txn_id = t.id GROUP BY t.id, t.kind HAVING count(e.id) < 2 OR coalesce(sum(e.amount), 0) <> 0`)
	if err != nil {
		return []string{err.Error()}
	}
	for rows.Next() {
		var id, n, sum int64
		var kind string
		if err := rows.Scan(&id, &kind, &n, &sum); err != nil {
			rows.Close()
			return []string{err.Error()}
		}
		fail("txn %d (%s): %d entries summing to %d; want 2 or more summing to 0", id, kind, n, sum)
	}
	rows.Close()

	accounts, err := db.Ledger().Accounts(ctx)
	if err != nil {
		return append(out, err.Error())
	}
	var total katong.Amount
	for _, a := range accounts {
		total += a.Booked
		var running katong.Amount
		var n int
		rows, err := db.QueryContext(ctx, `SELECT id, amount, balance_after FROM entries WHERE account_id = $1 ORDER BY id`, a.ID)
		if err != nil {
			return append(out, err.Error())
		}
		for rows.Next() {
			var id int64
			var amt, after katong.Amount
			if err := rows.Scan(&id, &amt, &after); err != nil {
				rows.Close()
				return append(out, err.Error())
			}
			running += amt
			n++
			if after != running {
				fail("account %d entry %d: balance_after %d, running sum of entries %d", a.ID, id, after, running)
				running = after
			}
		}
		rows.Close()
		if running != a.Booked {
			fail("account %d: booked %d, but its %d entries sum to %d", a.ID, a.Booked, n, running)
		}
		var held katong.Amount
		if err := db.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM holds WHERE account_id = $1 AND status = 'active'`,
			a.ID).Scan(&held); err != nil {
			return append(out, err.Error())
		}
		if held != a.Held {
			fail("account %d: held %d, active holds sum to %d", a.ID, a.Held, held)
		}
		if a.Kind == katong.KindCustomer && a.Available() < 0 {
			fail("customer account %d: available %d < 0", a.ID, a.Available())
		}
	}
	if total != 0 {
		fail("booked balances of all accounts sum to %d, want 0", total)
	}
	return out
}

func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 60s", name, s)
	}
	return d
}

func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// replayCommand is the shell command that runs just this test again with
// the environment given.
func replayCommand(t testing.TB, env string) string {
	pkg := "./..."
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if rel, err := filepath.Rel(dir, wd); err == nil {
					pkg = "./" + filepath.ToSlash(rel)
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("%s go test %s -count=1 -v -run '%s'", env, pkg, strings.Join(parts, "/"))
}
