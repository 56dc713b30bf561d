// Package testkit holds small helpers that the tests of several packages
// share: a log sink that is safe to read while a server writes, a clock a
// test can move, and the S1 check that no response or log line holds a
// card number.
package testkit

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"katong"
)

// SyncBuffer is an io.Writer that tests can read while others write.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of what was written so far.
func (s *SyncBuffer) Bytes() []byte { return []byte(s.String()) }

// Clock is a clock a test moves while a server reads it.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

func (c *Clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *Clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// digitRuns are card numbers written in groups of four separated by
// single spaces or hyphens (the last group may be shorter), as people and
// pages write them, and plain runs of digits. Both are searched: a grouped
// number may run straight on into a plain one.
var digitRuns = []*regexp.Regexp{
	regexp.MustCompile(`[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,4})?`),
	regexp.MustCompile(`[0-9]+`),
}

// flat is s without the spaces and hyphens people write numbers with.
var flat = strings.NewReplacer(" ", "", "-", "")

// LuhnRuns returns every run of 13 to 19 digits in s that passes the Luhn
// check, including windows inside longer runs and numbers written in
// groups of four.
func LuhnRuns(s string) []string {
	var out []string
	for _, re := range digitRuns {
		for _, run := range re.FindAllString(s, -1) {
			d := flat.Replace(run)
			for i := 0; i+13 <= len(d); i++ {
				for n := 13; n <= 19 && i+n <= len(d); n++ {
					if katong.Luhn(d[i : i+n]) {
						out = append(out, d[i:i+n])
					}
				}
			}
		}
	}
	return out
}

// Spaced writes a card number in groups of four, as people type it.
func Spaced(pan string) string {
	var b strings.Builder
	for i := 0; i < len(pan); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(pan[i])
	}
	return b.String()
}

// WithLuhn appends the Luhn check digit to s.
func WithLuhn(s string) string {
	for d := byte('0'); d <= '9'; d++ {
		if katong.Luhn(s + string(d)) {
			return s + string(d)
		}
	}
	panic("unreachable")
}

// CheckNoCardNumbers is S1: it fails the test if s (a response or a log,
// described by where) holds a Luhn-valid 13–19 digit run or any of the
// canaries (clear card and ID numbers the test typed), however spaced or
// hyphenated.
func CheckNoCardNumbers(t testing.TB, where, s string, canaries ...string) {
	t.Helper()
	if runs := LuhnRuns(s); len(runs) > 0 {
		t.Errorf("S1: %s holds Luhn-valid digit runs %q", where, runs)
	}
	f := flat.Replace(s)
	for _, c := range canaries {
		if c != "" && strings.Contains(f, flat.Replace(c)) {
			t.Errorf("S1: %s holds the clear number %s", where, katong.Redact(c))
		}
	}
}
