package wallet

import (
	"sync"
	"time"
)

// breaker is a per-bank circuit breaker. Closed, it lets every call
// through and counts consecutive failures; after threshold of them it
// opens and refuses calls at once for coolDown; then one call is let
// through as a probe (half-open): its success closes the breaker, its
// failure opens it again.
type breaker struct {
	threshold int
	coolDown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	open      bool
	openUntil time.Time
	probing   bool
}

func newBreaker(threshold int, coolDown time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, coolDown: coolDown, now: now}
}

// allow reports whether a call may go out now; when it may not, wait is
// how long the breaker stays open. Every allowed call must be followed by
// done or abandon.
func (b *breaker) allow() (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true, 0
	}
	if now := b.now(); now.Before(b.openUntil) {
		return false, b.openUntil.Sub(now)
	}
	if b.probing {
		return false, b.coolDown
	}
	b.probing = true
	return true, 0
}

// done records the outcome of an allowed call: ok means the bank answered.
func (b *breaker) done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.failures, b.open, b.probing = 0, false, false
		return
	}
	b.failures++
	if b.probing || b.failures >= b.threshold {
		b.open, b.probing = true, false
		b.openUntil = b.now().Add(b.coolDown)
	}
}

// abandon ends an allowed call that says nothing about the bank (the
// caller went away): a probe slot is freed for the next call.
func (b *breaker) abandon() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// state names the breaker's state for logs and tests.
func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open:
		return "closed"
	case b.probing || !b.now().Before(b.openUntil):
		return "half-open"
	}
	return "open"
}
