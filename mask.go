package katong

import "strings"

// stripCard returns s without spaces and hyphens, as runes, so that masks
// work on card numbers however they were written and never split a UTF-8
// sequence.
func stripCard(s string) []rune {
	r := make([]rune, 0, len(s))
	for _, c := range s {
		if c != ' ' && c != '-' {
			r = append(r, c)
		}
	}
	return r
}

// MaskCard masks a card number for customers and logs: the first four and
// last four digits around three groups of stars, "6222 **** **** 7894",
// whatever the length of the number. Spaces and hyphens in pan are ignored.
// Anything shorter than 13 characters is not a card number and is masked
// completely, "**** **** **** ****".
func MaskCard(pan string) string {
	r := stripCard(pan)
	if len(r) < 13 {
		return "**** **** **** ****"
	}
	return string(r[:4]) + " **** **** " + string(r[len(r)-4:])
}

// MaskCardTeller masks a card number for the teller console: the first six
// and last four digits with one star for each hidden digit,
// "622202******7894" (PCI DSS 3.4.1). Spaces and hyphens in pan are ignored.
// Anything shorter than 13 characters is replaced by stars completely.
func MaskCardTeller(pan string) string {
	r := stripCard(pan)
	if len(r) < 13 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
}

// Tail returns the last four characters of a card number (spaces and
// hyphens ignored), as shown in "尾号7894"; a shorter input is returned
// whole without its spaces and hyphens.
func Tail(pan string) string {
	r := stripCard(pan)
	if len(r) > 4 {
		r = r[len(r)-4:]
	}
	return string(r)
}

// MaskID masks a resident ID number: the first three and last four
// characters with a star for each one between, "110***********1234" for the
// 18-character number (and three plus eight stars plus four for the old
// 15-digit form). Surrounding white space is ignored. Anything shorter than
// 8 characters is replaced by stars completely.
func MaskID(id string) string {
	r := []rune(strings.TrimSpace(id))
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// MaskName masks a person's name. A name without spaces keeps only its last
// character, with a star for each other one: "张三" → "*三", "张三丰" →
// "**丰"; a one-character name becomes "*". A name with spaces (a Latin
// name) keeps the first letter of its first word and its last word:
// "Alice Wang" → "A*** Wang".
func MaskName(name string) string {
	name = strings.TrimSpace(name)
	if f := strings.Fields(name); len(f) > 1 {
		first := []rune(f[0])
		return string(first[:1]) + "*** " + f[len(f)-1]
	}
	r := []rune(name)
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	}
	return strings.Repeat("*", len(r)-1) + string(r[len(r)-1])
}

// MaskMobile masks a mobile number: "+86 138****8000". Any spelling that
// NormalizeMobile accepts is shown in that form. Anything else keeps only
// its last four digits, with a star for each other digit.
func MaskMobile(m string) string {
	if e, err := NormalizeMobile(m); err == nil {
		d := e[3:]
		return "+86 " + d[:3] + "****" + d[7:]
	}
	var digits []byte
	for i := 0; i < len(m); i++ {
		if c := m[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) <= 4 {
		return strings.Repeat("*", len(digits))
	}
	return strings.Repeat("*", len(digits)-4) + string(digits[len(digits)-4:])
}
