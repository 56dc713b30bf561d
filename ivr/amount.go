package ivr

import (
	"strings"

	"katong"
)

// ReadOptions are how numbers are read aloud.
type ReadOptions struct {
	// Liang reads a 2 before 千, 万 and 亿 as 两 (两千, 两万, 两亿), the
	// natural spoken form; otherwise it is 二. A 2 in the 百, 十 and units
	// positions is always 二.
	Liang bool
}

var zhDigits = [10]string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

// ReadAmount reads an amount of money in Chinese by the PBOC rules for
// amounts in words: a zero inside the number is read 零 and a run of zeros
// takes a single 零 (1005.07 → 一千零五元零七分); when 角 is 0 and 分 is not,
// 零 follows 元 (16409.02 → 一万六千四百零九元零二分); 整 follows 元 when there
// are no 角 and 分, and never follows 分 (10 → 十元整); 一十 is said only
// inside a number (15 → 十五元整, 1015 → 一千零一十五元整). Amounts below
// one yuan start at 角 or 分 (0.07 → 七分); zero is 零元整.
func ReadAmount(a katong.Amount, o ReadOptions) string {
	var b strings.Builder
	u := uint64(a)
	if a < 0 {
		b.WriteString("负")
		u = -u
	}
	yuan, jiao, fen := u/100, u/10%10, u%10
	if yuan > 0 || jiao == 0 && fen == 0 {
		b.WriteString(readInt(yuan, o))
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && fen == 0:
		b.WriteString("整")
	case jiao == 0:
		if yuan > 0 {
			b.WriteString("零")
		}
		b.WriteString(zhDigits[fen] + "分")
	case fen == 0:
		b.WriteString(zhDigits[jiao] + "角")
	default:
		b.WriteString(zhDigits[jiao] + "角" + zhDigits[fen] + "分")
	}
	return b.String()
}

// ReadNumber reads a whole number in Chinese: 30 → 三十, 1015 → 一千零一十五.
func ReadNumber(n int64, o ReadOptions) string {
	if n < 0 {
		return "负" + readInt(uint64(-n), o)
	}
	return readInt(uint64(n), o)
}

// ReadDigits reads a string of digits one by one, as card tails and phone
// numbers are read, with 1 as 幺: "0128" → 零幺二八. Other characters are
// skipped.
func ReadDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '1':
			b.WriteString("幺")
		case c >= '0' && c <= '9':
			b.WriteString(zhDigits[c-'0'])
		}
	}
	return b.String()
}

func readInt(n uint64, o ReadOptions) string {
	if n == 0 {
		return "零"
	}
	return readBig(n, o.Liang, true, false)
}

// bigUnits are the units a number is read in groups of, largest first.
var bigUnits = [...]struct {
	size uint64
	name string
}{{100000000, "亿"}, {10000, "万"}}

// readBig reads n > 0. first is set for the head of the whole number,
// where 一十 is said 十; unit is set when 万 or 亿 follows, where a lone 2
// may be 两.
func readBig(n uint64, liang, first, unit bool) string {
	for _, u := range bigUnits {
		if n < u.size {
			continue
		}
		hi, lo := n/u.size, n%u.size
		s := readBig(hi, liang, first, true) + u.name
		if lo == 0 {
			return s
		}
		if lo < u.size/10 {
			s += "零" // 一万零五, 一亿零五百万
		}
		return s + readBig(lo, liang, false, unit)
	}
	return read4(n, liang, first, unit)
}

// read4 reads 0 < n < 10000.
func read4(n uint64, liang, first, unit bool) string {
	if liang && unit && n == 2 {
		return "两"
	}
	digits := [4]uint64{n / 1000, n / 100 % 10, n / 10 % 10, n % 10}
	units := [4]string{"千", "百", "十", ""}
	var b strings.Builder
	started, zero := false, false
	for i, d := range digits {
		if d == 0 {
			zero = started
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		switch {
		case i == 2 && d == 1 && !started && first:
			// 十五, not 一十五, at the head of the number.
		case i == 0 && d == 2 && liang:
			b.WriteString("两")
		default:
			b.WriteString(zhDigits[d])
		}
		b.WriteString(units[i])
		started = true
	}
	return b.String()
}

var (
	enOnes = [20]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens   = [10]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	enScales = []struct {
		n    uint64
		name string
	}{{1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}, {1e3, "thousand"}}
)

// ReadAmountEN reads an amount of money in English words:
// 1205.07 → "one thousand two hundred and five yuan seven fen".
func ReadAmountEN(a katong.Amount) string {
	var w []string
	u := uint64(a)
	if a < 0 {
		w = append(w, "minus")
		u = -u
	}
	yuan, fen := u/100, u%100
	if yuan > 0 || fen == 0 {
		w = append(w, numberEN(yuan)...)
		w = append(w, "yuan")
	}
	if fen > 0 {
		w = append(w, numberEN(fen)...)
		w = append(w, "fen")
	}
	return strings.Join(w, " ")
}

// ReadNumberEN reads a whole number in English words.
func ReadNumberEN(n int64) string {
	if n < 0 {
		return "minus " + strings.Join(numberEN(uint64(-n)), " ")
	}
	return strings.Join(numberEN(uint64(n)), " ")
}

// ReadDigitsEN reads digits one by one: "0128" → "zero one two eight".
func ReadDigitsEN(s string) string {
	var w []string
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			w = append(w, enOnes[c-'0'])
		}
	}
	return strings.Join(w, " ")
}

func numberEN(n uint64) []string {
	if n == 0 {
		return []string{"zero"}
	}
	var w []string
	for _, s := range enScales {
		if n >= s.n {
			w = append(w, numberEN(n/s.n)...)
			w = append(w, s.name)
			n %= s.n
		}
	}
	if n >= 100 {
		w = append(w, enOnes[n/100], "hundred")
		n %= 100
	}
	if n > 0 {
		if len(w) > 0 {
			w = append(w, "and")
		}
		if n < 20 {
			w = append(w, enOnes[n])
		} else {
			w = append(w, enTens[n/10])
			if n%10 > 0 {
				w = append(w, enOnes[n%10])
			}
		}
	}
	return w
}
