package katong_test

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"katong"
)

// mustInvalid fails unless err is an EInvalid *katong.Error naming field.
func mustInvalid(tb testing.TB, err error, field, input string) {
	tb.Helper()
	var e *katong.Error
	if !errors.As(err, &e) {
		tb.Fatalf("%q: error %v (%T) is not a *katong.Error", input, err, err)
	}
	if e.Code != katong.EInvalid || e.Field != field {
		tb.Fatalf("%q: error code %s field %q; want %s %q", input, e.Code, e.Field, katong.EInvalid, field)
	}
	if e.Message == "" {
		tb.Fatalf("%q: error has no message", input)
	}
}

func TestParseAmount(t *testing.T) {
	good := []struct {
		in   string
		want katong.Amount
	}{
		{"12", 1200},
		{"12.3", 1230},
		{"12.34", 1234},
		{"1205.07", 120507},
		{"0.1", 10},
		{"0.01", 1},
		{"0", 0},
		{"0.00", 0},
		{"007.50", 750},
		{"9999999999999.99", 999999999999999},
		{"1000000000000", 100000000000000},
	}
	for _, tc := range good {
		got, err := katong.ParseAmount(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, nil", tc.in, got, err, tc.want)
		}
	}
	bad := []struct {
		in, msg string // msg: a part of the expected message
	}{
		{"-1", "sign"},
		{"+1", "sign"},
		{"1e3", "exponent"},
		{"1E3", "exponent"},
		{"1,000", "grouping"},
		{"1_000", "grouping"},
		{"１２", "ASCII"},
		{"٣", "ASCII"},
		{"1.234", "2 decimal"},
		{"", "empty"},
		{".5", "before the decimal point"},
		{"5.", "after the decimal point"},
		{".", "before the decimal point"},
		{" 1", "spaces"},
		{"1 ", "spaces"},
		{"1 000", "spaces"},
		{"1.2.3", "more than one decimal point"},
		{"10000000000000", "13 integer digits"},
		{"99999999999999999999999", "13 integer digits"},
		{"abc", "unexpected"},
		{"0x10", "unexpected"},
		{"NaN", "unexpected"},
		{"1.-1", "sign"},
	}
	for _, tc := range bad {
		got, err := katong.ParseAmount(tc.in)
		if err == nil {
			t.Errorf("ParseAmount(%q) = %d, nil; want an error", tc.in, got)
			continue
		}
		mustInvalid(t, err, "amount", tc.in)
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseAmount(%q) error %q; want it to mention %q", tc.in, err, tc.msg)
		}
	}
}

func TestAmountString(t *testing.T) {
	tests := []struct {
		a         katong.Amount
		str, yuan string
	}{
		{120507, "1205.07", "¥1,205.07"},
		{-300, "-3.00", "-¥3.00"},
		{0, "0.00", "¥0.00"},
		{5, "0.05", "¥0.05"},
		{-5, "-0.05", "-¥0.05"},
		{99999, "999.99", "¥999.99"},
		{100000, "1000.00", "¥1,000.00"},
		{100000000, "1000000.00", "¥1,000,000.00"},
		{123456789012, "1234567890.12", "¥1,234,567,890.12"},
		{math.MaxInt64, "92233720368547758.07", "¥92,233,720,368,547,758.07"},
		{math.MinInt64, "-92233720368547758.08", "-¥92,233,720,368,547,758.08"},
	}
	for _, tc := range tests {
		if got := tc.a.String(); got != tc.str {
			t.Errorf("Amount(%d).String() = %q; want %q", int64(tc.a), got, tc.str)
		}
		if got := tc.a.Yuan(); got != tc.yuan {
			t.Errorf("Amount(%d).Yuan() = %q; want %q", int64(tc.a), got, tc.yuan)
		}
	}
}

// canonicalAmount reports whether s is in the form Amount.String produces
// for a non-negative amount: no superfluous leading zero, two decimals.
func canonicalAmount(s string) bool {
	i := strings.IndexByte(s, '.')
	return i > 0 && len(s)-i == 3 && (i == 1 || s[0] != '0')
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12", "12.3", "1205.07", "0.1", "-1", "1e3", "1,000", "１２", "1.234", "", ".5", "5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := katong.ParseAmount(s)
		if err != nil {
			mustInvalid(t, err, "amount", s)
			return
		}
		if a < 0 {
			t.Fatalf("ParseAmount(%q) = %d; negative", s, a)
		}
		// An independent reference: the exact rational value times 100.
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("ParseAmount(%q) accepted what big.Rat rejects", s)
		}
		r.Mul(r, big.NewRat(100, 1))
		if !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != int64(a) {
			t.Fatalf("ParseAmount(%q) = %d; want %s", s, a, r.RatString())
		}
		str := a.String()
		back, err := katong.ParseAmount(str)
		if err != nil || back != a {
			t.Fatalf("ParseAmount(%q) = %d, %v; want %d (round trip of %q)", str, back, err, a, s)
		}
		if canonicalAmount(s) && str != s {
			t.Fatalf("ParseAmount(%q).String() = %q; want the input back", s, str)
		}
	})
}
