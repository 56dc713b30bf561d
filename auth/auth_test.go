package auth_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"katong"
	"katong/auth"
	"katong/sqlite"
	"katong/sqlstore"
	"katong/testkit"
)

func newService(t *testing.T) (*auth.Service, *testkit.Clock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), sqlstore.BankSchema, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := auth.New(db, func(k string) string { return "k:" + k })
	clk := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	s.Now = clk.Now
	return s, clk
}

// TestPasswordHash is S5: the stored hash is an Argon2id PHC string with
// m ≥ 19456 KiB, t ≥ 2, p = 1, salted, and verifies only the password.
func TestPasswordHash(t *testing.T) {
	h := auth.HashPassword("correct horse battery staple")
	p, err := auth.ParsePHC(h)
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory < 19456 || p.Time < 2 || p.Threads != 1 || len(p.Salt) < 16 || len(p.Key) < 32 {
		t.Fatalf("weak parameters: %+v", p)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if h == auth.HashPassword("correct horse battery staple") {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !auth.VerifyPassword(h, "correct horse battery staple") || auth.VerifyPassword(h, "correct horse battery stapl") {
		t.Fatal("verify")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x", h[:len(h)-3] + "!!!"} {
		if auth.VerifyPassword(bad, "correct horse battery staple") {
			t.Errorf("verified against %q", bad)
		}
	}
}

// TestPasswordPolicy is S5's boundaries: 11 refused, 12 and 64 accepted for
// staff; common passwords refused; no composition rules.
func TestPasswordPolicy(t *testing.T) {
	for _, c := range []struct {
		pw string
		ok bool
	}{
		{strings.Repeat("k", 5) + "atong1", false}, // 11
		{"katongvault1", true},                     // 12
		{strings.Repeat("卡", 12), true},            // 12 characters, not bytes
		{strings.Repeat("abcdefgh", 8), true},      // 64
		{strings.Repeat("a", auth.MaxLen+1), false},
		{"password1234", false}, // common
		{"123456789012", false}, // common digit run
		{"all lower case words", true},
	} {
		err := auth.CheckPassword(c.pw, auth.StaffMinLen)
		if (err == nil) != c.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", c.pw, err, c.ok)
		}
		if err != nil && katong.AsError(err).Field != "password" {
			t.Errorf("error does not name the field: %v", err)
		}
	}
}

// TestAttemptRace is T7's core: 50 concurrent wrong tries on one key let
// at most MaxFailures through before the lock; the lock holds until it
// expires; a right secret after that clears the count.
func TestAttemptRace(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Attempt(ctx, "card:x"); err == nil {
				allowed.Add(1)
			} else if katong.ErrorCode(err) != katong.ELocked {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n > int64(s.MaxFailures) || n == 0 {
		t.Fatalf("%d tries got past a limit of %d", n, s.MaxFailures)
	}
	if _, locked, _ := s.Failures(ctx, "card:x"); !locked {
		t.Fatal("not locked after 50 wrong tries")
	}
	clk.Advance(s.LockFor - time.Second)
	if err := s.Attempt(ctx, "card:x"); katong.ErrorCode(err) != katong.ELocked {
		t.Fatalf("lock ended early: %v", err)
	}
	clk.Advance(2 * time.Second)
	if err := s.Attempt(ctx, "card:x"); err != nil {
		t.Fatalf("lock did not end: %v", err)
	}
	s.Succeed(ctx, "card:x")
	if n, locked, _ := s.Failures(ctx, "card:x"); n != 0 || locked {
		t.Fatalf("after success: %d failures, locked %v", n, locked)
	}
	if err := s.Attempt(ctx, "card:y"); err != nil {
		t.Fatalf("another key is locked: %v", err)
	}
}

// TestUse: a query's limit is decided at once, its record and count are
// written in a batch, and the count is shared through the database: with
// another process's view of the same database (a second Service), and
// after a restart.
func TestUse(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	r := katong.Rate{N: 3, Per: time.Minute}
	use := func(s *auth.Service, key string, r katong.Rate) error {
		t.Helper()
		limited, err := s.Use(ctx, auth.Use{Key: key, Rate: r, Record: auth.Record{Channel: katong.ChannelApp,
			Actor: "customer:1", Action: "balance", Card: "6222021234567894"}})
		if err != nil {
			t.Fatal(err)
		}
		return limited
	}
	for i := 0; i < 3; i++ {
		if err := use(s, "q", r); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	err := use(s, "q", r)
	if katong.ErrorCode(err) != katong.ERateLimited || katong.AsError(err).RetryAfter <= 0 || katong.AsError(err).RetryAfter > time.Minute {
		t.Fatalf("4th: %v", err)
	}
	if err := use(s, "other", r); err != nil {
		t.Fatalf("another key is limited: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	log, err := s.AuditLog(ctx, 0, 10)
	if err != nil || len(log) != 5 {
		t.Fatalf("%d records, %v", len(log), err)
	}
	if log[1].Result != string(katong.ERateLimited) || log[2].Result != "ok" || log[0].Card != "6222 **** **** 7894" {
		t.Fatalf("records: %+v", log)
	}

	// A second process on the same database starts from the stored count.
	other := auth.New(s.DB(), s.Key)
	other.Now = clk.Now
	if err := use(other, "other", r); err != nil {
		t.Fatalf("2nd of 3 in the other process: %v", err)
	}
	if err := use(other, "q", r); katong.ErrorCode(err) != katong.ERateLimited {
		t.Fatalf("the other process did not see the count: %v", err)
	}

	clk.Advance(time.Minute)
	if err := use(s, "q", r); err != nil {
		t.Fatalf("next window: %v", err)
	}
	if err := use(s, "q", katong.Rate{}); err != nil {
		t.Fatalf("zero rate limits: %v", err)
	}
}

// TestUseConcurrent: uses from many goroutines of one process let exactly
// N through, and every one leaves a record.
func TestUseConcurrent(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	r := katong.Rate{N: 20, Per: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			limited, err := s.Use(ctx, auth.Use{Key: "card:1", Rate: r, Record: auth.Record{Channel: katong.ChannelApp,
				Actor: "customer:1", Action: "balance"}})
			if err != nil {
				t.Error(err)
			} else if limited == nil {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 20 {
		t.Fatalf("%d allowed, limit 20", n)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if log, err := s.AuditLog(ctx, 0, 500); err != nil || len(log) != 100 {
		t.Fatalf("%d records, %v", len(log), err)
	}
}

// TestSessions is S7: random tokens, server-side end, idle time-out on a
// moved clock, kinds kept apart, other sessions ended on demand.
func TestSessions(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	p := auth.SessionPolicy{Idle: 15 * time.Minute, Absolute: time.Hour}
	a, _ := s.StartSession(ctx, "staff", 1, "", p)
	b, _ := s.StartSession(ctx, "staff", 1, "", p)
	if a == b || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if _, err := s.Session(ctx, "customer", a, p); katong.ErrorCode(err) != katong.EUnauthorized {
		t.Fatal("a staff token worked as a customer's")
	}
	clk.Advance(14 * time.Minute)
	if _, err := s.Session(ctx, "staff", a, p); err != nil {
		t.Fatal(err)
	}
	clk.Advance(15 * time.Minute)
	if _, err := s.Session(ctx, "staff", a, p); katong.ErrorCode(err) != katong.EUnauthorized {
		t.Fatal("idle session still works")
	}
	c, _ := s.StartSession(ctx, "staff", 1, "", p)
	s.EndSessions(ctx, "staff", 1, c)
	if _, err := s.Session(ctx, "staff", c, p); err != nil {
		t.Fatal("the kept session ended")
	}
	s.EndSession(ctx, c)
	if _, err := s.Session(ctx, "staff", c, p); katong.ErrorCode(err) != katong.EUnauthorized {
		t.Fatal("ended session still works")
	}
}

func TestAudit(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	if err := s.Audit(ctx, auth.Record{Channel: katong.ChannelCounter, Actor: "teller:t1", Action: "balance",
		Card: "6222021234567894", Result: "ok", Detail: "typed 11010519491231002X\r\nforged"}); err != nil {
		t.Fatal(err)
	}
	log, err := s.AuditLog(ctx, 0, 10)
	if err != nil || len(log) != 1 {
		t.Fatal(log, err)
	}
	r := log[0]
	if r.Card != "6222 **** **** 7894" || strings.Contains(r.Detail, "19491231") || strings.Contains(r.Detail, "\n") {
		t.Fatalf("audit record not masked: %+v", r)
	}
}

// TestSessionEndedElsewhere: a session ended through another instance
// stops working here within auth.SessionCache.
func TestSessionEndedElsewhere(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	other := auth.New(s.DB(), s.Key)
	other.Now = clk.Now
	p := auth.SessionPolicy{Idle: 15 * time.Minute, Absolute: time.Hour}
	tok, _ := s.StartSession(ctx, "customer", 1, "", p)
	if _, err := s.Session(ctx, "customer", tok, p); err != nil {
		t.Fatal(err)
	}
	if err := other.EndSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Session(ctx, "customer", tok, p); katong.ErrorCode(err) != katong.EUnauthorized {
		t.Fatal("ended session works where it was ended")
	}
	clk.Advance(auth.SessionCache)
	if _, err := s.Session(ctx, "customer", tok, p); katong.ErrorCode(err) != katong.EUnauthorized {
		t.Fatalf("ended session works here %v after its end", auth.SessionCache)
	}
}
