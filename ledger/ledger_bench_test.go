package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
	"katong/storetest"
)

var benchStores = []struct {
	name string
	open func(testing.TB) *sqlstore.DB
}{
	{"sqlite", storetest.SQLite},
	{"postgres", storetest.Postgres}, // skipped without KATONG_TEST_POSTGRES
}

const benchAccounts = 4096

// setup opens a store with benchAccounts customer accounts, each holding
// far more than the benchmark can spend, and a ledger with the default
// options (group commit, one committer).
func setup(b *testing.B, open func(testing.TB) *sqlstore.DB) (*ledger.Ledger, []katong.AccountID) {
	b.Helper()
	db := open(b)
	storetest.MustEnsureSystem(b, db)
	l := storetest.NewLedger(b, db, nil)
	// Open the accounts in one transaction.
	ids := make([]katong.AccountID, benchAccounts)
	if err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		for i := range ids {
			if err := tx.QueryRow(`INSERT INTO accounts (kind, customer_id, name, opened_at, updated_at)
				VALUES ('customer', 0, $1, 0, 0) RETURNING id`, fmt.Sprintf("bench-%d", i)).Scan(&ids[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	// Fund them concurrently, so the deposits share commits.
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	sem := make(chan struct{}, 64)
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := l.Do(context.Background(), ledger.Request{Client: "bench-setup", Key: fmt.Sprint(i),
				Kind: katong.TxnDeposit, To: ids[i], Amount: ledger.MaxAmount}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return l, ids
}

// runClients runs b.N calls of fn spread over exactly clients goroutines
// and returns the calls per second.
func runClients(b *testing.B, clients int, fn func(rng *rand.Rand, i int64) error) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	b.ResetTimer()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := fn(rng, i); err != nil {
					once.Do(func() { failure = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if failure != nil {
		b.Fatal(failure)
	}
	return float64(b.N) / b.Elapsed().Seconds()
}

// BenchmarkTransfer measures transfers per second through the ledger,
// group commit included, with 8, 32 and 64 concurrent clients moving
// money between benchAccounts accounts.
func BenchmarkTransfer(b *testing.B) {
	for _, st := range benchStores {
		b.Run("store="+st.name, func(b *testing.B) {
			for _, clients := range []int{8, 32, 64} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					l, ids := setup(b, st.open)
					ctx := context.Background()
					rate := runClients(b, clients, func(rng *rand.Rand, i int64) error {
						from := rng.IntN(len(ids))
						to := (from + 1 + rng.IntN(len(ids)-1)) % len(ids)
						_, err := l.Do(ctx, ledger.Request{Client: "bench", Key: fmt.Sprintf("t%d", i),
							Kind: katong.TxnTransfer, From: ids[from], To: ids[to], Amount: 1 + katong.Amount(rng.IntN(10000))})
						return err
					})
					b.ReportMetric(rate, "transfers/s")
				})
			}
		})
	}
}

// BenchmarkBalance measures balance reads of one account by id, with 1
// and 32 concurrent clients.
func BenchmarkBalance(b *testing.B) {
	// An SQLite database is this process's, so its accounts are read
	// from memory once read (sqlstore.DB.Owned); sqlite-read goes to the
	// database every time, as a read after a write does.
	stores := append(benchStores[:len(benchStores):len(benchStores)], struct {
		name string
		open func(testing.TB) *sqlstore.DB
	}{"sqlite-read", func(t testing.TB) *sqlstore.DB {
		db := storetest.SQLite(t)
		db.Owned = false
		return db
	}})
	for _, st := range stores {
		b.Run("store="+st.name, func(b *testing.B) {
			for _, clients := range []int{1, 32} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					l, ids := setup(b, st.open)
					ctx := context.Background()
					rate := runClients(b, clients, func(*rand.Rand, int64) error {
						_, err := l.Balance(ctx, ids[0])
						return err
					})
					b.ReportMetric(rate, "reads/s")
				})
			}
		})
	}
}
