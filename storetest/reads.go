package storetest

import (
	"sync"

	"katong"
	"katong/ledger"
)

// testReadsFollowWrites: an account read after a write has been
// acknowledged shows it, while other readers read the same account
// throughout (where the store keeps accounts it has read, a reader that
// read before a write must not put the old row back after it). Each kind
// of write to an account is covered: postings, holds and their release,
// freezing and unfreezing.
func testReadsFollowWrites(f *fixture) {
	a := f.account("watched")
	var stop sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		stop.Add(1)
		go func() {
			defer stop.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := f.db.Ledger().Account(f.ctx, a); err != nil {
					f.t.Error(err)
					return
				}
			}
		}()
	}
	defer func() { close(done); stop.Wait() }()

	check := func(step string, booked, held katong.Amount, status katong.AccountStatus) {
		f.t.Helper()
		got := f.get(a)
		if got.Booked != booked || got.Held != held || got.Status != status {
			f.t.Fatalf("after %s: booked %d held %d %s; want booked %d held %d %s",
				step, got.Booked, got.Held, got.Status, booked, held, status)
		}
	}
	var booked katong.Amount
	for i := 1; i <= 100; i++ {
		f.deposit(a, katong.Amount(i))
		booked += katong.Amount(i)
		check("a deposit", booked, 0, katong.StatusActive)
	}
	h := f.must(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 500})
	check("a hold", booked, 500, katong.StatusActive)
	for _, st := range []katong.AccountStatus{katong.StatusFrozen, katong.StatusActive} {
		if err := f.db.Ledger().SetStatus(f.ctx, a, st, "test"); err != nil {
			f.t.Fatal(err)
		}
		check("SetStatus("+string(st)+")", booked, 500, st)
	}
	f.must(ledger.Request{Kind: katong.TxnRelease, HoldID: h.HoldID})
	check("a release", booked, 0, katong.StatusActive)
	// A changed copy does not change what others read.
	got := f.get(a)
	got.Booked = -1
	check("changing a copy", booked, 0, katong.StatusActive)
}
