package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"katong"
	"katong/auth"
)

// testUses: balance queries' limits and audit records (auth.Service.Use)
// on this store: the batch's multi-row count and insert, exact limits
// under concurrency in one process, counts shared with a second process
// through the database, a window boundary inside one batch, and every
// record written.
func testUses(f *fixture) {
	t := f.t
	key := func(s string) string { return f.client + ":" + s }
	a := auth.New(f.db, func(s string) string { return fmt.Sprintf("%x", s) }) // keys are text: hex, as the vault's HMAC
	a.Now = f.clock.Now
	r := katong.Rate{N: 10, Per: time.Minute}
	use := func(s *auth.Service, k string) error {
		limited, err := s.Use(f.ctx, auth.Use{Key: key(k), Rate: r, Record: auth.Record{Channel: katong.ChannelApp,
			Actor: f.client, Action: "balance", Card: "6222 **** **** 7894"}})
		if err != nil {
			t.Fatal(err)
		}
		return limited
	}
	before, err := a.AuditLog(f.ctx, 0, 500)
	if err != nil {
		t.Fatal(err)
	}

	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if use(a, "card") == nil {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != int64(r.N) {
		t.Fatalf("%d of 40 allowed; limit %d", n, r.N)
	}
	if err := a.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	// Another process on the same database starts from the stored count.
	b := auth.New(f.db, a.Key)
	b.Now = f.clock.Now
	if err := use(b, "card"); katong.ErrorCode(err) != katong.ERateLimited {
		t.Fatalf("the second process did not see the count: %v", err)
	}
	// Two windows in one batch: the end of this one, the start of the next.
	f.clock.Set(f.clock.Now().Truncate(time.Minute).Add(time.Minute - time.Millisecond))
	for i := range 5 {
		if err := use(a, "edge"); err != nil {
			t.Fatalf("edge %d: %v", i, err)
		}
	}
	f.clock.Advance(2 * time.Millisecond)
	for i := range 10 {
		if err := use(a, "edge"); err != nil {
			t.Fatalf("next window %d: %v", i, err)
		}
	}
	if err := use(a, "edge"); katong.ErrorCode(err) != katong.ERateLimited {
		t.Fatalf("11th in the new window: %v", err)
	}
	if err := b.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	after, err := a.AuditLog(f.ctx, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(after) - len(before); got != 40+1+16 {
		t.Fatalf("%d audit records written; want 57", got)
	}
	limited := 0
	for _, rec := range after[:len(after)-len(before)] {
		if rec.Result == string(katong.ERateLimited) {
			limited++
		}
	}
	if limited != 30+1+1 {
		t.Fatalf("%d records say RATE_LIMITED; want 32", limited)
	}
}
