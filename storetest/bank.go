package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
)

// The bank workload of RELIABILITY.md T1 (Jepsen's bank test).
const (
	BankAccounts = 8
	BankTotal    = katong.Amount(80_000)
	bankWriters  = 8
	bankReaders  = 2
)

// Bank runs T1 against a database from open: 8 customer accounts holding
// 80,000 fen in all, 8 goroutines transferring between them through two
// ledgers on the same database (two processes; on PostgreSQL each with two
// committers)
// and 2 reading all 8 balances in one read transaction, for
// KATONG_T1_DURATION (3 s by default; CI may set 60s). Every read must
// sum to 80,000 with no balance below zero, and afterwards every transfer
// must have 2 entries summing to zero and every balance must equal the
// sum of its entries.
//
// Its negative control runs the same workload and checker against a
// naive read-modify-write transfer and requires the checker to catch it.
func Bank(t *testing.T, open func(t testing.TB) *sqlstore.DB) {
	dur := envDuration(t, "KATONG_T1_DURATION", 3*time.Second)
	seed := uint64(time.Now().UnixNano())
	t.Logf("T1: seed %d, duration %v (KATONG_T1_DURATION)", seed, dur)

	t.Run("Ledger", func(t *testing.T) {
		db := open(t)
		ids := setupBank(t, db)
		// Two ledgers of two committers each, as two processes of the
		// service would run: the database, not the ledger's own queue,
		// must keep concurrent transactions apart.
		committers := 2
		if db.Dialect.Name == "sqlite" {
			committers = 1 // SQLite has one writer
		}
		var ls []*ledger.Ledger
		for range 2 {
			l := ledger.New(db.Ledger(), ledger.Options{Committers: committers, Log: slog.New(slog.NewTextHandler(tbWriter{t}, nil))})
			t.Cleanup(func() { l.Close() })
			ls = append(ls, l)
		}
		var n atomic.Int64
		transfer := func(ctx context.Context, rng *rand.Rand, from, to katong.AccountID, amt katong.Amount) error {
			i := n.Add(1)
			_, err := ls[i%2].Do(ctx, ledger.Request{Client: "t1", Key: fmt.Sprintf("t1-%d", i),
				Kind: katong.TxnTransfer, From: from, To: to, Amount: amt})
			if katong.ErrorCode(err) == katong.EInsufficient {
				return nil
			}
			return err
		}
		rep := runBank(t, db, ids, seed, dur, transfer, false)
		// Requests whose callers gave up are still queued: let the ledgers
		// commit them before checking, or the check races their commits.
		for _, l := range ls {
			l.Close()
		}
		t.Log(rep)
		if rep.transfers == 0 || rep.reads == 0 {
			t.Errorf("T1 did no work: %s", rep)
		}
		for _, v := range rep.violations {
			t.Errorf("T1 violation: %s", v)
		}
		for _, e := range rep.errors {
			t.Errorf("T1 error: %s", e)
		}
		checkBankLedger(t, db, ids)
		if db.Dialect.Name == "postgres" {
			// Deadlocks are retried, so they cost time, not money: each
			// stalls the writers for deadlock_timeout (1 s by default).
			var deadlocks int64
			if err := db.QueryRow(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks); err == nil && deadlocks > 0 {
				t.Logf("T1: %d deadlocks between concurrent ledger transactions (rows not locked in ascending id order?)", deadlocks)
			}
		}
	})

	t.Run("NegativeControl", func(t *testing.T) {
		db := open(t)
		ids := setupBank(t, db)
		limit := min(dur, 5*time.Second)
		transfer := func(ctx context.Context, rng *rand.Rand, from, to katong.AccountID, amt katong.Amount) error {
			return naiveTransfer(ctx, db, from, to, amt, func() {
				// Let other writers in between the read and the write,
				// as a busier server would.
				runtime.Gosched()
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			})
		}
		rep := runBank(t, db, ids, seed, limit, transfer, true)
		t.Log(rep)
		if len(rep.violations) == 0 {
			t.Errorf("the T1 checker did not catch the naive read-modify-write transfer in %v (%s): the check is worthless", limit, rep)
		} else {
			t.Logf("caught as it must be: %s", rep.violations[0])
		}
	})
}

// setupBank opens the 8 accounts and deposits 10,000 fen in each.
func setupBank(t testing.TB, db *sqlstore.DB) []katong.AccountID {
	t.Helper()
	MustEnsureSystem(t, db)
	l := NewLedger(t, db, nil)
	var ids []katong.AccountID
	for i := range BankAccounts {
		id := MustOpenAccount(t, db, fmt.Sprintf("bank-%d", i))
		if _, err := l.Do(context.Background(), ledger.Request{Client: "t1-setup", Key: fmt.Sprint(i),
			Kind: katong.TxnDeposit, To: id, Amount: BankTotal / BankAccounts}); err != nil {
			t.Fatalf("T1 deposit: %v", err)
		}
		ids = append(ids, id)
	}
	return ids
}

type bankReport struct {
	transfers, reads int64
	violations       []string
	errors           []string
}

func (r *bankReport) String() string {
	return fmt.Sprintf("%d transfers, %d reads, %d violations, %d errors", r.transfers, r.reads, len(r.violations), len(r.errors))
}

type transferFunc func(ctx context.Context, rng *rand.Rand, from, to katong.AccountID, amt katong.Amount) error

// runBank runs the writers and readers for dur (or, with stopEarly, until
// the first violation) and checks every read and the final balances.
func runBank(t testing.TB, db *sqlstore.DB, ids []katong.AccountID, seed uint64, dur time.Duration, transfer transferFunc, stopEarly bool) *bankReport {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	rep := &bankReport{}
	var mu sync.Mutex
	var transfers, reads atomic.Int64
	record := func(list *[]string, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(*list) < 20 {
			*list = append(*list, fmt.Sprintf(format, args...))
		}
		if stopEarly && list == &rep.violations {
			cancel()
		}
	}
	var wg sync.WaitGroup
	for w := range bankWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				from := ids[rng.IntN(len(ids))]
				to := ids[rng.IntN(len(ids)-1)]
				if to == from {
					to = ids[len(ids)-1]
				}
				amt := katong.Amount(1 + rng.IntN(5000))
				if err := transfer(ctx, rng, from, to, amt); err != nil {
					if ctx.Err() != nil {
						return
					}
					record(&rep.errors, "transfer %d from %d to %d: %v", amt, from, to, err)
					continue
				}
				transfers.Add(1)
			}
		}()
	}
	for range bankReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				bal, err := readBank(ctx, db, ids)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					record(&rep.errors, "read: %v", err)
					continue
				}
				reads.Add(1)
				if v := bankViolation(bal); v != "" {
					record(&rep.violations, "read %d: %s", reads.Load(), v)
				}
			}
		}()
	}
	wg.Wait()
	rep.transfers, rep.reads = transfers.Load(), reads.Load()
	final, err := readBank(context.Background(), db, ids)
	if err != nil {
		t.Fatalf("T1 final read: %v", err)
	}
	if v := bankViolation(final); v != "" {
		record(&rep.violations, "final read: %s", v)
	}
	return rep
}

// readBank reads the 8 balances one by one in one read-only transaction:
// REPEATABLE READ on PostgreSQL; on SQLite a read transaction reads one
// snapshot of the WAL.
func readBank(ctx context.Context, db *sqlstore.DB, ids []katong.AccountID) ([]katong.Amount, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Dialect.Name == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := make([]katong.Amount, len(ids))
	for i, id := range ids {
		if err := tx.QueryRowContext(ctx, `SELECT booked FROM accounts WHERE id = $1`, id).Scan(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// bankViolation says what is wrong with one read of the 8 balances.
func bankViolation(bal []katong.Amount) string {
	if len(bal) != BankAccounts {
		return fmt.Sprintf("read %d accounts, want %d", len(bal), BankAccounts)
	}
	var sum katong.Amount
	for i, b := range bal {
		if b < 0 {
			return fmt.Sprintf("account %d has %d < 0 in %v", i, b, bal)
		}
		sum += b
	}
	if sum != BankTotal {
		return fmt.Sprintf("balances %v sum to %d, want %d", bal, sum, BankTotal)
	}
	return ""
}

// checkBankLedger checks the final ledger of T1: every transfer has two
// entries that sum to zero, and each balance is its opening (zero) plus
// the sum of its entries.
func checkBankLedger(t testing.TB, db *sqlstore.DB, ids []katong.AccountID) {
	t.Helper()
	ctx := context.Background()
	var bad int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT t.id FROM txns t JOIN entries e ON e.txn_id = t.id
		WHERE t.kind = 'transfer' GROUP BY t.id HAVING count(*) <> 2 OR sum(e.amount) <> 0) x`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("T1: %d transfers without exactly 2 entries summing to 0", bad)
	}
	for _, id := range ids {
		var booked, sum katong.Amount
		if err := db.QueryRowContext(ctx, `SELECT booked, (SELECT coalesce(sum(amount), 0) FROM entries WHERE account_id = $1)
			FROM accounts WHERE id = $1`, id).Scan(&booked, &sum); err != nil {
			t.Fatal(err)
		}
		if booked != sum {
			t.Errorf("T1: account %d booked %d; its entries sum to %d", id, booked, sum)
		}
	}
	CheckLedger(t, db)
}

// naiveTransfer is the known-bad implementation of the negative control:
// it reads both balances outside any transaction and writes them back in
// separate statements, without locking, so concurrent transfers lose
// updates and readers see money in flight.
func naiveTransfer(ctx context.Context, db *sqlstore.DB, from, to katong.AccountID, amt katong.Amount, yield func()) error {
	var fb, tb katong.Amount
	if err := db.QueryRowContext(ctx, `SELECT booked FROM accounts WHERE id = $1`, from).Scan(&fb); err != nil {
		return err
	}
	if fb < amt {
		return nil // insufficient
	}
	if err := db.QueryRowContext(ctx, `SELECT booked FROM accounts WHERE id = $1`, to).Scan(&tb); err != nil {
		return err
	}
	yield()
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET booked = $1 WHERE id = $2`, fb-amt, from); err != nil {
		return err
	}
	yield()
	_, err := db.ExecContext(ctx, `UPDATE accounts SET booked = $1 WHERE id = $2`, tb+amt, to)
	return err
}
