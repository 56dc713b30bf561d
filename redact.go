package katong

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redact makes s safe to log. It masks card numbers and resident ID numbers
// and escapes control characters.
//
// A card number is a run of 13 to 19 ASCII digits, written as digit groups
// joined by single spaces or hyphens ("6222021234567894",
// "6222 0212 3456 7894", "6222-0212-3456-7894"), that passes the Luhn check;
// it becomes its MaskCard form "6222 **** **** 7894". A number starts and
// ends at a digit-group boundary: it never starts or ends inside a longer
// run of digits. Digit groups glued to an ASCII letter (inside a hex id or a
// UUID, "0x6222…") are not card numbers; groups next to other characters,
// Chinese included ("卡号6222021234567894"), are.
//
// An ID number is 17 ASCII digits followed by a digit, "X" or "x", not
// preceded or followed by another digit, whose first two digits are a valid
// province code; it becomes its MaskID form "110***********1234". The check
// character and birth date are not required, so mistyped numbers are masked
// too.
//
// Masking repeats until nothing more matches, so the result contains no
// Luhn-valid card number and no ID number in the senses above, even where a
// masked number's remaining digits join the digits around it.
//
// Control characters are escaped so that one call to a logger stays one
// line: CR, LF and tab become `\r`, `\n`, `\t`; other C0 and C1 controls and
// DEL become `\u00XX`; the line and paragraph separators U+2028 and U+2029
// and the bidirectional controls U+202A–U+202E and U+2066–U+2069 become
// `\uXXXX`; and each byte that is not valid UTF-8 becomes `\ufffd`.
// Backslashes are not escaped.
func Redact(s string) string {
	// Mask first, so that a control character next to a number does not
	// hide it behind a letter of its escape; then escape; then mask again
	// in case an escape joined digits into something masking must catch.
	return redactNumbers(escapeControls(redactNumbers(s)))
}

// redactNumbers masks card and ID numbers until none is left. Every change
// removes at least five ASCII digits, so the loop ends.
func redactNumbers(s string) string {
	for {
		if countDigits(s) < 13 {
			return s
		}
		t := maskIDNumbers(maskCardNumbers(s))
		if t == s {
			return s
		}
		s = t
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// span is a half-open byte range of a string.
type span struct{ start, end int }

// digitChains calls fn for each chain of digit groups in s: maximal runs of
// ASCII digits, each pair joined by exactly one space or hyphen. Groups glued
// to an ASCII letter at the chain's ends are left out, so fn sees only the
// groups that may be part of a card number, in order, and a chain that the
// glue splits is passed in pieces.
func digitChains(s string, fn func(groups []span)) {
	var groups []span
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		groups = groups[:0]
		for {
			start := i
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			groups = append(groups, span{start, i})
			if i+1 < len(s) && (s[i] == ' ' || s[i] == '-') && isDigit(s[i+1]) {
				i++
				continue
			}
			break
		}
		first, last := 0, len(groups)
		if g := groups[0]; g.start > 0 && isASCIILetter(s[g.start-1]) {
			first++
		}
		if g := groups[len(groups)-1]; g.end < len(s) && isASCIILetter(s[g.end]) {
			last--
		}
		if first < last {
			fn(groups[first:last])
		}
	}
}

// cardWindow returns the longest run of whole groups starting at groups[0]
// that holds 13 to 19 digits and passes Luhn, as the number of groups it
// spans and its digits; n is 0 if there is none.
func cardWindow(s string, groups []span, buf *[19]byte) (n int, digits string) {
	count := 0
	best := 0
	var bestDigits string
	for j, g := range groups {
		l := g.end - g.start
		if count+l > len(buf) {
			break
		}
		copy(buf[count:], s[g.start:g.end])
		count += l
		if count >= 13 && Luhn(string(buf[:count])) {
			best, bestDigits = j+1, string(buf[:count])
		}
	}
	return best, bestDigits
}

// maskCardNumbers replaces each card number in s, scanning left to right,
// by its MaskCard form.
func maskCardNumbers(s string) string {
	var b strings.Builder
	copied := 0
	var buf [19]byte
	digitChains(s, func(groups []span) {
		for i := 0; i < len(groups); {
			n, digits := cardWindow(s, groups[i:], &buf)
			if n == 0 {
				i++
				continue
			}
			start, end := groups[i].start, groups[i+n-1].end
			b.WriteString(s[copied:start])
			b.WriteString(MaskCard(digits))
			copied = end
			i += n
		}
	})
	if copied == 0 {
		return s
	}
	b.WriteString(s[copied:])
	return b.String()
}

// maskIDNumbers replaces each ID number in s by its MaskID form.
func maskIDNumbers(s string) string {
	var b strings.Builder
	copied := 0
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		end := -1
		switch n := i - start; {
		case n == 18:
			end = i
		case n == 17 && i < len(s) && (s[i] == 'X' || s[i] == 'x') && (i+1 == len(s) || !isDigit(s[i+1])):
			end = i + 1
		}
		if end < 0 || !validProvince(s[start], s[start+1]) {
			continue
		}
		b.WriteString(s[copied:start])
		b.WriteString(MaskID(s[start:end]))
		copied = end
		i = end
	}
	if copied == 0 {
		return s
	}
	b.WriteString(s[copied:])
	return b.String()
}

// needsEscape reports whether r is escaped by escapeControls.
func needsEscape(r rune) bool {
	return r < 0x20 || 0x7f <= r && r <= 0x9f ||
		r == '\u2028' || r == '\u2029' ||
		'\u202a' <= r && r <= '\u202e' || '\u2066' <= r && r <= '\u2069'
}

// escapeControls escapes control characters and invalid UTF-8 as Redact
// describes.
func escapeControls(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || needsEscape(r) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case needsEscape(r):
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)))
			b.WriteString(h)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// NewRedactingHandler returns a slog.Handler that passes every record to h
// after running Redact over its message and over every attribute: string
// values, the strings of values that implement error or fmt.Stringer, byte
// slices, integers whose digits form a card or ID number, attribute keys,
// and the same recursively inside groups and LogValuer results. Any other
// value is formatted with %+v and replaced by the redacted text only when
// redaction changes it, so structured values keep their structure unless
// they hold a number to mask.
func NewRedactingHandler(h slog.Handler) slog.Handler {
	return &redactingHandler{h: h}
}

type redactingHandler struct {
	h slog.Handler
}

func (r *redactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.h.Enabled(ctx, level)
}

func (r *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	// Most records have nothing to mask: pass them on as they are.
	clean := Redact(rec.Message) == rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		red := redactAttr(a)
		clean = clean && red.Key == a.Key && red.Value.Equal(a.Value)
		return clean
	})
	if clean {
		return r.h.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return &redactingHandler{h: r.h.WithAttrs(red)}
}

func (r *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{h: r.h.WithGroup(Redact(name))}
}

func redactAttr(a slog.Attr) slog.Attr {
	return slog.Attr{Key: Redact(a.Key), Value: redactValue(a.Value)}
}

func redactValue(v slog.Value) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(Redact(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		red := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			red[i] = redactAttr(a)
		}
		return slog.GroupValue(red...)
	case slog.KindInt64, slog.KindUint64:
		if v.Kind() == slog.KindInt64 && v.Int64() > -1e12 && v.Int64() < 1e12 ||
			v.Kind() == slog.KindUint64 && v.Uint64() < 1e12 {
			return v // fewer than 13 digits
		}
		s := v.String()
		if t := Redact(s); t != s {
			return slog.StringValue(t)
		}
		return v
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error, fmt.Stringer:
			// fmt recovers from panics in Error and String methods.
			return slog.StringValue(Redact(fmt.Sprint(x)))
		case []byte:
			return slog.StringValue(Redact(string(x)))
		case nil:
			return v
		default:
			s := fmt.Sprintf("%+v", x)
			if t := Redact(s); t != s {
				return slog.StringValue(t)
			}
			return v
		}
	}
	return v
}
