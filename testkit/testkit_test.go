package testkit

import (
	"testing"
	"time"
)

func TestLuhnRuns(t *testing.T) {
	for s, want := range map[string]int{
		"card 6222021234567894 here":   1,
		"card 6222 0212 3456 7894":     1,
		"card 6222-0212-3456-7894":     1,
		"card 6222021234567890 wrong":  0,
		"id 1234 and 56 and 7":         0,
		"x96222021234567894y":          1, // a window inside a longer run
		"request_id abcdefghijk234567": 0,
	} {
		if got := LuhnRuns(s); (len(got) > 0) != (want > 0) {
			t.Errorf("LuhnRuns(%q) = %q", s, got)
		}
	}
	if Spaced("6222021234567894") != "6222 0212 3456 7894" || WithLuhn("622202123456789") != "6222021234567894" {
		t.Fatal("Spaced or WithLuhn")
	}
}

func TestClock(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 32, 0, 0, time.UTC)
	c := NewClock(at)
	c.Advance(time.Minute)
	if !c.Now().Equal(at.Add(time.Minute)) {
		t.Fatal(c.Now())
	}
}
