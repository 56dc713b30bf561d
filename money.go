package katong

// Amount is a sum of money in fen (分, 1/100 yuan). Money is never held in
// floating point anywhere in Katong.
type Amount int64

// maxAmountIntDigits bounds the integer (yuan) part accepted by ParseAmount.
// 13 digits plus 2 decimals is at most 999,999,999,999,999 fen, far below
// the int64 limit, so parsing can never overflow.
const maxAmountIntDigits = 13

// ParseAmount parses a decimal yuan string into fen using integer arithmetic
// only. Accepted forms are ASCII digits with an optional "." followed by one
// or two digits: "12", "12.3", "12.34", "0.1", "0". It rejects signs,
// exponents, grouping separators, spaces, non-ASCII digits, more than two
// decimals, an empty string, a leading or trailing ".", and more than 13
// integer digits. Leading zeros are accepted ("007.50"). Zero is a valid
// result; callers decide whether an amount must be positive.
//
// Errors are EInvalid with Field "amount".
func ParseAmount(s string) (Amount, error) {
	if s == "" {
		return 0, Invalid("amount", "empty amount")
	}
	intPart, frac, hasDot := s, "", false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.':
			if hasDot {
				return 0, Invalid("amount", "more than one decimal point")
			}
			hasDot = true
			intPart, frac = s[:i], s[i+1:]
		case c == '+' || c == '-':
			return 0, Invalid("amount", "sign not allowed")
		case c == 'e' || c == 'E':
			return 0, Invalid("amount", "exponent not allowed")
		case c == ',' || c == '_' || c == '\'':
			return 0, Invalid("amount", "grouping separators not allowed")
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return 0, Invalid("amount", "spaces not allowed")
		case c >= 0x80:
			return 0, Invalid("amount", "only ASCII digits allowed")
		default:
			return 0, Invalid("amount", "unexpected character %q", c)
		}
	}
	if hasDot && intPart == "" {
		return 0, Invalid("amount", "missing digits before the decimal point")
	}
	if hasDot && frac == "" {
		return 0, Invalid("amount", "missing digits after the decimal point")
	}
	if len(frac) > 2 {
		return 0, Invalid("amount", "more than 2 decimal places")
	}
	if len(intPart) > maxAmountIntDigits {
		return 0, Invalid("amount", "more than %d integer digits", maxAmountIntDigits)
	}
	var fen int64
	for i := 0; i < len(intPart); i++ {
		fen = fen*10 + int64(intPart[i]-'0')
	}
	for i := 0; i < 2; i++ {
		fen *= 10
		if i < len(frac) {
			fen += int64(frac[i] - '0')
		}
	}
	return Amount(fen), nil
}

// String formats the amount in yuan with exactly two decimals and no
// grouping: "1205.07", "-3.00", "0.00". It is the canonical form that
// ParseAmount accepts back for non-negative amounts.
func (a Amount) String() string {
	return a.format(false)
}

// Yuan formats the amount for people: a yuan sign, thousands grouping and
// two decimals, "¥1,205.07"; negative amounts read "-¥3.00".
func (a Amount) Yuan() string {
	return a.format(true)
}

func (a Amount) format(person bool) string {
	neg := a < 0
	// Work in uint64 so that the most negative int64 formats correctly.
	u := uint64(a)
	if neg {
		u = -u
	}
	yuan, fen := u/100, u%100

	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + yuan%10)
		yuan /= 10
		if yuan == 0 {
			break
		}
	}
	intDigits := digits[i:]

	b := make([]byte, 0, 40)
	if neg {
		b = append(b, '-')
	}
	if person {
		b = append(b, "¥"...)
	}
	for j, d := range intDigits {
		if person && j > 0 && (len(intDigits)-j)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, d)
	}
	b = append(b, '.', byte('0'+fen/10), byte('0'+fen%10))
	return string(b)
}
