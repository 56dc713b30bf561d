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
		// A grouped number running straight on into a plain one.
		"1234 5678 9012 6222021234567894":    1,
		`{"masked":"6222 **** **** 7894"}`:   0,
		`2026-12-06T10:32:00.123456+08:00`:   0,
		`{"Identification":"6222*****7894"}`: 0,
		`1234567890123`:                      0,
	} {
		if got := LuhnRuns(s); (len(got) > 0) != (want > 0) {
			t.Errorf("LuhnRuns(%q) = %q", s, got)
		}
	}
	if Spaced("6222021234567894") != "6222 0212 3456 7894" || WithLuhn("622202123456789") != "6222021234567894" {
		t.Fatal("Spaced or WithLuhn")
	}
}

// errors is a testing.TB that keeps what it is told is wrong.
type errors struct {
	testing.TB
	said []string
}

func (e *errors) Helper()                      {}
func (e *errors) Errorf(f string, args ...any) { e.said = append(e.said, f) }

func TestCheckNoCardNumbers(t *testing.T) {
	const pan, id = "6222021234567894", "110105199304132621"
	for s, want := range map[string]bool{
		"card 6222 **** **** 7894, ID 110***********2621": false,
		"card 622202 1234567894":                          true, // split anywhere: still the clear number
		"ID 110105-19930413-2621":                         true,
	} {
		e := &errors{TB: t}
		CheckNoCardNumbers(e, "text", s, pan, id)
		if got := len(e.said) > 0; got != want {
			t.Errorf("CheckNoCardNumbers(%q) complains %v; want %v", s, got, want)
		}
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
