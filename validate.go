package katong

import (
	"strings"
	"time"
)

// Luhn reports whether digits is a non-empty string of ASCII digits whose
// last digit is a correct Luhn (ISO/IEC 7812-1, mod 10) check digit. Any
// other character, including spaces, makes it false.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// NormalizeCard returns the card number s as bare digits. It removes spaces
// and hyphens, then requires 16 to 19 ASCII digits that pass the Luhn check.
// Which prefixes a bank accepts is configuration; see CheckBIN.
//
// Errors are EInvalid with Field "card_number".
func NormalizeCard(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			return "", Invalid("card_number", "card number may contain only digits, spaces and hyphens")
		}
	}
	pan := b.String()
	if n := len(pan); n < 16 || n > 19 {
		return "", Invalid("card_number", "card number must have 16 to 19 digits, got %d", n)
	}
	if !Luhn(pan) {
		return "", Invalid("card_number", "card number fails the Luhn check")
	}
	return pan, nil
}

// CheckBIN reports whether pan starts with one of the bank's configured
// prefixes (BINs). Empty prefixes in bins are ignored, so an empty or
// misconfigured list never matches every card.
func CheckBIN(pan string, bins []string) bool {
	for _, bin := range bins {
		if bin != "" && strings.HasPrefix(pan, bin) {
			return true
		}
	}
	return false
}

// chinaTime is UTC+8, the civil time in which birth dates are written.
// Mainland China has not observed daylight saving time since 1991.
var chinaTime = time.FixedZone("CST", 8*3600)

// idWeights are the GB 11643-1999 weights of the first 17 characters.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum mod 11 to the check character.
const idCheckChars = "10X98765432"

// validProvince reports whether the two ASCII digits p0 p1 are a GB 11643
// province code: 11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81–83.
func validProvince(p0, p1 byte) bool {
	if p0 < '0' || p0 > '9' || p1 < '0' || p1 > '9' {
		return false
	}
	d := p1 - '0'
	switch p0 {
	case '1':
		return d >= 1 && d <= 5
	case '2':
		return d >= 1 && d <= 3
	case '3':
		return d >= 1 && d <= 7
	case '4':
		return d >= 1 && d <= 6
	case '5':
		return d <= 4
	case '6':
		return d >= 1 && d <= 5
	case '7':
		return d == 1
	case '8':
		return d >= 1 && d <= 3
	}
	return false
}

// NormalizeID validates a resident ID number (GB 11643-1999) and returns it
// in canonical form. After trimming surrounding white space and mapping a
// final "x" to "X", it requires 17 ASCII digits and a digit or "X"; a
// province code from the real list; a birth date (characters 7–14,
// YYYYMMDD) that is a real calendar date, not before 1900-01-01 and not after
// now's date in China (UTC+8); and the check character
// "10X98765432"[Σ digit[i]·W[i] mod 11].
//
// Errors are EInvalid with Field "id_number".
func NormalizeID(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) != 18 {
		return "", Invalid("id_number", "ID number must have 18 characters")
	}
	if s[17] == 'x' {
		s = s[:17] + "X"
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", Invalid("id_number", "ID number must be 17 digits then a digit or X")
		}
	}
	if c := s[17]; (c < '0' || c > '9') && c != 'X' {
		return "", Invalid("id_number", "ID number must be 17 digits then a digit or X")
	}
	if !validProvince(s[0], s[1]) {
		return "", Invalid("id_number", "ID number has an unknown province code")
	}
	year := atoi(s[6:10])
	month := atoi(s[10:12])
	day := atoi(s[12:14])
	if year < 1900 {
		return "", Invalid("id_number", "ID number birth year is before 1900")
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return "", Invalid("id_number", "ID number birth date is not a real date")
	}
	ty, tm, td := now.In(chinaTime).Date()
	if year > ty || year == ty && (month > int(tm) || month == int(tm) && day > td) {
		return "", Invalid("id_number", "ID number birth date is in the future")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(s[i]-'0') * idWeights[i]
	}
	if s[17] != idCheckChars[sum%11] {
		return "", Invalid("id_number", "ID number check character is wrong")
	}
	return s, nil
}

// atoi converts a short string of ASCII digits (already checked).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// daysIn returns the number of days of month (1–12) in the Gregorian year.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// IDFromKeypad turns ID digits keyed on a phone keypad into ID characters:
// a "*" in the last position stands for "X". A "*" anywhere else is left
// alone, so NormalizeID rejects it.
func IDFromKeypad(digits string) string {
	if strings.HasSuffix(digits, "*") {
		return digits[:len(digits)-1] + "X"
	}
	return digits
}

// NormalizeMobile validates a mainland China mobile number and returns it in
// E.164 form, "+8613800138000". It accepts the usual spellings: 11 national
// digits ("13800138000"), grouped with spaces or hyphens ("138 0013 8000",
// "138-0013-8000"), and with the country code written "+86", "0086" or "86"
// ("+86 138 0013 8000"). Only number ranges allocated to mobile service are
// accepted, following libphonenumber's CN mobile pattern
// 1740[0-5]\d{6} | 1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8},
// so fixed lines, short codes and unallocated ranges are never used as SMS
// destinations.
//
// Errors are EInvalid with Field "mobile".
func NormalizeMobile(s string) (string, error) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	if plus {
		s = s[1:]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-':
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			return "", Invalid("mobile", "mobile number may contain only digits, spaces, hyphens and a leading +")
		}
	}
	d := b.String()
	switch {
	case plus:
		if !strings.HasPrefix(d, "86") {
			return "", Invalid("mobile", "only mainland China (+86) mobile numbers are accepted")
		}
		d = d[2:]
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	if len(d) != 11 {
		return "", Invalid("mobile", "mobile number must have 11 digits")
	}
	if !mobileRange(d) {
		return "", Invalid("mobile", "not a mainland China mobile number range")
	}
	return "+86" + d, nil
}

// mobileRange reports whether the 11 national digits d are in a range
// allocated to mobile service:
// 1740[0-5]\d{6} | 1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8}.
func mobileRange(d string) bool {
	if len(d) != 11 || d[0] != '1' {
		return false
	}
	switch d[1] {
	case '3', '8':
		return true
	case '4':
		return d[2] == '5' || d[2] == '7'
	case '5', '9':
		return d[2] != '4'
	case '6':
		return d[2] == '2' || d[2] == '5' || d[2] == '6' || d[2] == '7'
	case '7':
		if d[2] == '4' {
			return d[3] == '0' && d[4] <= '5'
		}
		return d[2] != '9'
	}
	return false
}
