package katong_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"katong"
)

// chainRE matches digit groups joined by single spaces or hyphens.
var chainRE = regexp.MustCompile(`[0-9]+(?:[ -][0-9]+)*`)

// groupRE matches one digit group.
var groupRE = regexp.MustCompile(`[0-9]+`)

func letter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func digit(c byte) bool { return '0' <= c && c <= '9' }

// leak returns a description of the first thing in s that Redact must not
// let through, or "" if there is none: a Luhn-valid card number of 13–19
// digits made of whole digit groups (a group glued to an ASCII letter does
// not count), a valid ID number not inside a longer digit run, a control
// character, or invalid UTF-8. It is a brute-force check written
// independently of the redactor.
func leak(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || 0x7f <= r && r <= 0x9f || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("control character %U", r)
		}
	}
	for _, c := range chainRE.FindAllStringIndex(s, -1) {
		chain := s[c[0]:c[1]]
		groups := groupRE.FindAllString(chain, -1)
		if c[0] > 0 && letter(s[c[0]-1]) {
			groups = groups[1:]
		}
		if c[1] < len(s) && letter(s[c[1]]) && len(groups) > 0 {
			groups = groups[:len(groups)-1]
		}
		for i := range groups {
			for j := i; j < len(groups); j++ {
				d := strings.Join(groups[i:j+1], "")
				if len(d) > 19 {
					break
				}
				if len(d) >= 13 && katong.Luhn(d) {
					return fmt.Sprintf("card number %q in chain %q", d, chain)
				}
			}
		}
	}
	for i := 0; i+18 <= len(s); i++ {
		if i > 0 && digit(s[i-1]) || i+18 < len(s) && digit(s[i+18]) {
			continue
		}
		if id, err := katong.NormalizeID(s[i:i+18], time.Now()); err == nil {
			return fmt.Sprintf("ID number %q", id)
		}
	}
	return ""
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"card 6222021234567894 ok", "card 6222 **** **** 7894 ok"},
		{"6222 0212 3456 7894", "6222 **** **** 7894"},
		{"6222-0212-3456-7894", "6222 **** **** 7894"},
		{"卡号6222021234567894余额", "卡号6222 **** **** 7894余额"},
		{`{"pan":"6222021234567894"}`, `{"pan":"6222 **** **** 7894"}`},
		{"/cards/6222021234567894/balance", "/cards/6222 **** **** 7894/balance"},
		{"pan=6222021234567894,6222021234567894", "pan=6222 **** **** 7894,6222 **** **** 7894"},
		{"6222021234567894 6222021234567894", "6222 **** **** 7894 6222 **** **** 7894"},
		{"4222222222222", "4222 **** **** 2222"},
		{"card 6222021234567890 fails Luhn", "card 6222021234567890 fails Luhn"},
		{"15 digits 123456789012345", "15 digits 123456789012345"},
		{"id=550e8400-e29b-41d4-a716-446655440000", "id=550e8400-e29b-41d4-a716-446655440000"},
		{"0x6222021234567894", "0x6222021234567894"},
		{"abc6222021234567894", "abc6222021234567894"},
		{"6222021234567894abc", "6222021234567894abc"},
		{"amount 1205.07 at 2025-06-01 12:00", "amount 1205.07 at 2025-06-01 12:00"},
		{"身份证11010519491231002X", "身份证110***********002X"},
		{"id 11010519491231002x.", "id 110***********002x."},
		{"id 110105194912310021", "id 110***********0021"}, // bad check character: masked anyway
		{"ID11010519491231002X", "ID110***********002X"},
		{"a\r\nb", `a\r\nb`},
		{"x\x00y\x7f", `x\u0000y\u007f`},
		{"\x1b[31mred", `\u001b[31mred`},
		{"tab\there", `tab\there`},
		{"line\u2028sep", `line\u2028sep`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{"bad \xff byte", `bad \ufffd byte`},
		{"card\n6222021234567894", `card\n6222 **** **** 7894`},
		{"c1 \u0085 next", `c1 \u0085 next`},
		{"", ""},
		{"中文 ok", "中文 ok"},
	}
	for _, tc := range tests {
		if got := katong.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestRedactLogInjection checks that a CR/LF payload cannot start a forged
// log line.
func TestRedactLogInjection(t *testing.T) {
	in := "user=alice\r\n2025-06-01 INFO login ok user=admin\n"
	got := katong.Redact(in)
	if strings.ContainsAny(got, "\r\n") {
		t.Fatalf("Redact(%q) = %q; contains CR or LF", in, got)
	}
	want := `user=alice\r\n2025-06-01 INFO login ok user=admin\n`
	if got != want {
		t.Fatalf("Redact(%q) = %q; want %q", in, got, want)
	}
}

// TestRedactJoinedDigits covers masked numbers whose kept digits join the
// digits around them into a new card number: masking repeats until none is
// left.
func TestRedactJoinedDigits(t *testing.T) {
	pan := "6222021234567894"
	for _, prefix := range []string{"1234 5678 9012 ", "1 2 3 4 5 6 7 8 9 ", "000000000 "} {
		for d := range 10 {
			in := fmt.Sprintf("%s%d %s 1 2 3 4 5 6 7 8 9", prefix, d, pan)
			got := katong.Redact(in)
			if l := leak(got); l != "" {
				t.Errorf("Redact(%q) = %q; leaks %s", in, got, l)
			}
			if strings.Contains(strings.NewReplacer(" ", "", "-", "").Replace(got), pan) {
				t.Errorf("Redact(%q) = %q; PAN visible", in, got)
			}
		}
	}
}

// randomLogLine builds a log line from pieces that matter to the redactor:
// card numbers written in various ways, ID numbers, stray digits,
// separators, letters, control characters and Chinese text.
func randomLogLine(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(12) {
		switch r.IntN(10) {
		case 0, 1:
			n := 13 + r.IntN(7)
			d := make([]byte, n-1)
			for i := range d {
				d[i] = byte('0' + r.IntN(10))
			}
			pan := withLuhn(string(d))
			sep := []string{"", " ", "-"}[r.IntN(3)]
			for i := 0; i < len(pan); i += 4 {
				if i > 0 {
					b.WriteString(sep)
				}
				b.WriteString(pan[i:min(i+4, len(pan))])
			}
		case 2:
			prov := []string{"11", "31", "44", "65", "71", "81", "00", "99"}[r.IntN(8)]
			id := withCheck(fmt.Sprintf("%s%04d%04d%02d%02d%03d", prov, r.IntN(10000), 1900+r.IntN(130), 1+r.IntN(12), 1+r.IntN(28), r.IntN(1000)))
			if r.IntN(4) == 0 {
				id = strings.ToLower(id)
			}
			b.WriteString(id)
		case 3:
			for range 1 + r.IntN(8) {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		case 4:
			b.WriteString([]string{" ", "-", "  ", " - ", ",", "="}[r.IntN(6)])
		case 5:
			b.WriteString([]string{"a", "card", "X", "x", "0x", "ID", "e"}[r.IntN(7)])
		case 6:
			b.WriteString([]string{"\r", "\n", "\t", "\x00", "\x1b", "\u2028", "\x85", "\xff"}[r.IntN(8)])
		case 7:
			b.WriteString([]string{"卡号", "余额", "身份证", "·"}[r.IntN(4)])
		default:
			b.WriteString(" ")
		}
	}
	return b.String()
}

// TestRedactNoLeaks checks on random log lines that Redact's output never
// holds a Luhn-valid 13–19 digit number, a valid ID number or a control
// character, and that Redact is idempotent. The seed is logged.
func TestRedactNoLeaks(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		in := randomLogLine(r)
		got := katong.Redact(in)
		if l := leak(got); l != "" {
			t.Fatalf("seed %d: Redact(%q) = %q; leaks %s", seed, in, got, l)
		}
		if again := katong.Redact(got); again != got {
			t.Fatalf("seed %d: Redact not idempotent on %q: %q then %q", seed, in, got, again)
		}
	}
}

// TestLeakChecker is the negative control: the checker must find what
// Redact removes.
func TestLeakChecker(t *testing.T) {
	for _, s := range []string{
		"6222021234567894",
		"6222 0212 3456 7894",
		"卡号6222-0212-3456-7894",
		"11010519491231002X",
		"a\nb",
		"\xff",
	} {
		if leak(s) == "" {
			t.Errorf("leak(%q) = \"\"; want a leak", s)
		}
	}
	for _, s := range []string{"6222021234567890", "0x6222021234567894", "110105194912310021", "6222 **** **** 7894"} {
		if l := leak(s); l != "" {
			t.Errorf("leak(%q) = %s; want none", s, l)
		}
	}
}

type panStringer struct{ pan string }

func (p panStringer) String() string { return "card " + p.pan }

type nilStringer struct{}

func (*nilStringer) String() string { panic("nil receiver") }

type account struct {
	PAN  string
	Name string
}

func TestRedactingHandler(t *testing.T) {
	const pan, id = "6222021234567894", "11010519491231002X"
	var buf bytes.Buffer
	log := slog.New(katong.NewRedactingHandler(slog.NewJSONHandler(&buf, nil)))

	log.Info("query for "+pan+"\nFORGED line",
		"card", pan,
		slog.Group("customer", "id", id, slog.Group("inner", "pan", "6222-0212-3456-7894")),
		"err", errors.New("bank refused "+pan),
		"stringer", panStringer{pan},
		"nilstringer", (*nilStringer)(nil),
		"n", int64(6222021234567894),
		"u", uint64(6222021234567894),
		"bytes", []byte(pan),
		"struct", account{PAN: pan, Name: "张三"},
		"amount", 1205,
		"ok", true,
	)
	log.With("pan", pan).WithGroup("g").With("id", id).Info("second", "k", pan)

	out := buf.String()
	if strings.Contains(out, pan) || strings.Contains(out, id) {
		t.Fatalf("log output contains a PAN or ID:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log lines; want 2:\n%s", len(lines), out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"msg":      "query for 6222 **** **** 7894\\nFORGED line",
		"card":     "6222 **** **** 7894",
		"err":      "bank refused 6222 **** **** 7894",
		"stringer": "card 6222 **** **** 7894",
		"n":        "6222 **** **** 7894",
		"u":        "6222 **** **** 7894",
		"bytes":    "6222 **** **** 7894",
		"struct":   "{PAN:6222 **** **** 7894 Name:张三}",
		"amount":   float64(1205),
		"ok":       true,
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("attr %q = %#v; want %#v", k, rec[k], v)
		}
	}
	cust, _ := rec["customer"].(map[string]any)
	if cust["id"] != "110***********002X" {
		t.Errorf("customer.id = %#v", cust["id"])
	}
	if inner, _ := cust["inner"].(map[string]any); inner["pan"] != "6222 **** **** 7894" {
		t.Errorf("customer.inner.pan = %#v", inner["pan"])
	}
	for _, l := range lines {
		if x := leak(l); x != "" {
			t.Errorf("log line leaks %s: %s", x, l)
		}
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"card 6222021234567894 ok",
		"6222 0212 3456 7894",
		"身份证11010519491231002X",
		"a\r\nb",
		"id=550e8400-e29b-41d4-a716-446655440000",
		"1234 5678 9012 6222021234567894 1 2 3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := katong.Redact(s)
		if l := leak(got); l != "" {
			t.Fatalf("Redact(%q) = %q; leaks %s", s, got, l)
		}
		if again := katong.Redact(got); again != got {
			t.Fatalf("Redact not idempotent: %q then %q", got, again)
		}
	})
}
