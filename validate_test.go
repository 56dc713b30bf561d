package katong_test

import (
	"strings"
	"testing"
	"time"

	"katong"
)

// testNow is the clock of the ID tests: 2025-06-01 12:00 in China.
var testNow = time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)

// withCheck appends the GB 11643-1999 check character to 17 digits.
func withCheck(s17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(s17[i]-'0') * w[i]
	}
	return s17 + string("10X98765432"[sum%11])
}

// withLuhn appends the Luhn check digit to digits.
func withLuhn(digits string) string {
	for d := '0'; d <= '9'; d++ {
		if katong.Luhn(digits + string(d)) {
			return digits + string(d)
		}
	}
	panic("no Luhn digit for " + digits)
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"6222021234567894", true},
		{"6222021234567890", false},
		{"79927398713", true},
		{"79927398710", false},
		{"4111111111111111", true},
		{"378282246310005", true},
		{"0", true},
		{"", false},
		{"6222 0212 3456 7894", false},
		{"622202123456789a", false},
		{"６", false},
	}
	for _, tc := range tests {
		if got := katong.Luhn(tc.in); got != tc.want {
			t.Errorf("Luhn(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeCard(t *testing.T) {
	pan19 := withLuhn("622202123456789012")
	good := []struct{ in, want string }{
		{"6222021234567894", "6222021234567894"},
		{"6222 0212 3456 7894", "6222021234567894"},
		{"6222-0212-3456-7894", "6222021234567894"},
		{" 6222021234567894 ", "6222021234567894"},
		{"4111111111111111", "4111111111111111"},
		{pan19, pan19},
		{withLuhn("62220212345678901"), withLuhn("62220212345678901")},
	}
	for _, tc := range good {
		got, err := katong.NormalizeCard(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeCard(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"6222021234567890",              // Luhn fails
		"378282246310005",               // 15 digits
		withLuhn("6222021234567890123"), // 20 digits
		"",
		"6222o21234567894",
		"６２２２０２１２３４５６７８９４",
		"6222_0212_3456_7894",
		"6222\t0212\t3456\t7894",
		"+6222021234567894",
	}
	for _, in := range bad {
		got, err := katong.NormalizeCard(in)
		if err == nil {
			t.Errorf("NormalizeCard(%q) = %q, nil; want an error", in, got)
			continue
		}
		mustInvalid(t, err, "card_number", in)
	}
}

func TestCheckBIN(t *testing.T) {
	bins := []string{"622202", "621700"}
	tests := []struct {
		pan  string
		bins []string
		want bool
	}{
		{"6222021234567894", bins, true},
		{"6217001234567894", bins, true},
		{"6228481234567894", bins, false},
		{"6222021234567894", nil, false},
		{"6222021234567894", []string{""}, false},
		{"62", bins, false},
	}
	for _, tc := range tests {
		if got := katong.CheckBIN(tc.pan, tc.bins); got != tc.want {
			t.Errorf("CheckBIN(%q, %q) = %v; want %v", tc.pan, tc.bins, got, tc.want)
		}
	}
}

func TestNormalizeID(t *testing.T) {
	good := []struct{ in, want string }{
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"},
		{" 11010519491231002X\n", "11010519491231002X"},
		{withCheck("71000019000101123"), withCheck("71000019000101123")}, // Taiwan, 1900-01-01
		{withCheck("81000020000229123"), withCheck("81000020000229123")}, // Hong Kong, leap day
		{withCheck("50010120250601123"), withCheck("50010120250601123")}, // born today
		{withCheck("65010119991231123"), withCheck("65010119991231123")}, // Xinjiang
		{withCheck("83010119800101123"), withCheck("83010119800101123")}, // 83
		{withCheck("46010119800101123"), withCheck("46010119800101123")}, // Hainan
	}
	for _, tc := range good {
		got, err := katong.NormalizeID(tc.in, testNow)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeID(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, why string }{
		{"110105194912310021", "check character"},
		{"11010519491231002", "length"},
		{"11010519491231002X1", "length"},
		{"", "length"},
		{"1101051949123100X2", "X not last"},
		{"11010519491231002Y", "bad last char"},
		{"１１０１０５１９４９１２３１００２Ｘ", "full-width"},
		{withCheck("00010519491231002"), "province 00"},
		{withCheck("16010519491231002"), "province 16"},
		{withCheck("24010519491231002"), "province 24"},
		{withCheck("38010519491231002"), "province 38"},
		{withCheck("47010519491231002"), "province 47"},
		{withCheck("55010519491231002"), "province 55"},
		{withCheck("66010519491231002"), "province 66"},
		{withCheck("72010519491231002"), "province 72"},
		{withCheck("84010519491231002"), "province 84"},
		{withCheck("91010519491231002"), "province 91"},
		{withCheck("11010518991231002"), "before 1900"},
		{withCheck("11010519000229002"), "1900 is not a leap year"},
		{withCheck("11010520230229002"), "2023-02-29"},
		{withCheck("11010519491331002"), "month 13"},
		{withCheck("11010519490001002"), "month 0"},
		{withCheck("11010519490100002"), "day 0"},
		{withCheck("11010519490431002"), "April 31"},
		{withCheck("11010520250602002"), "tomorrow"},
		{withCheck("11010530000101002"), "year 3000"},
	}
	for _, tc := range bad {
		got, err := katong.NormalizeID(tc.in, testNow)
		if err == nil {
			t.Errorf("NormalizeID(%q) [%s] = %q, nil; want an error", tc.in, tc.why, got)
			continue
		}
		mustInvalid(t, err, "id_number", tc.in)
	}
}

// TestNormalizeIDChinaDate checks that "today" is the date in China: at
// 17:00 UTC on 1 June it is already 2 June in Beijing.
func TestNormalizeIDChinaDate(t *testing.T) {
	id := withCheck("11010520250602002")
	late := time.Date(2025, 6, 1, 17, 0, 0, 0, time.UTC)
	if _, err := katong.NormalizeID(id, late); err != nil {
		t.Errorf("NormalizeID(%q, %v) = %v; want nil", id, late, err)
	}
	early := time.Date(2025, 6, 1, 15, 59, 0, 0, time.UTC)
	if _, err := katong.NormalizeID(id, early); err == nil {
		t.Errorf("NormalizeID(%q, %v) = nil; want an error", id, early)
	}
}

func TestIDFromKeypad(t *testing.T) {
	tests := []struct{ in, want string }{
		{"11010519491231002*", "11010519491231002X"},
		{"110105194912310021", "110105194912310021"},
		{"1101051949*231002*", "1101051949*231002X"},
		{"", ""},
		{"*", "X"},
	}
	for _, tc := range tests {
		if got := katong.IDFromKeypad(tc.in); got != tc.want {
			t.Errorf("IDFromKeypad(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	if _, err := katong.NormalizeID(katong.IDFromKeypad("11010519491231002*"), testNow); err != nil {
		t.Errorf("keyed ID with * rejected: %v", err)
	}
	if _, err := katong.NormalizeID(katong.IDFromKeypad("1101051949123100*2"), testNow); err == nil {
		t.Errorf("keyed ID with * in the middle accepted")
	}
}

func TestNormalizeMobile(t *testing.T) {
	const e = "+8613800138000"
	good := []struct{ in, want string }{
		{"13800138000", e},
		{"138 0013 8000", e},
		{"138-0013-8000", e},
		{"+86 138 0013 8000", e},
		{"+86-138-0013-8000", e},
		{"+86 13800138000", e},
		{"+8613800138000", e},
		{"0086 138 0013 8000", e},
		{"008613800138000", e},
		{"8613800138000", e},
		{"86 138 0013 8000", e},
		{" 13800138000 ", e},
		{"14512345678", "+8614512345678"},
		{"14712345678", "+8614712345678"},
		{"15012345678", "+8615012345678"},
		{"15912345678", "+8615912345678"},
		{"16212345678", "+8616212345678"},
		{"16512345678", "+8616512345678"},
		{"16712345678", "+8616712345678"},
		{"17012345678", "+8617012345678"},
		{"17312345678", "+8617312345678"},
		{"17812345678", "+8617812345678"},
		{"17400123456", "+8617400123456"},
		{"17405123456", "+8617405123456"},
		{"18912345678", "+8618912345678"},
		{"19012345678", "+8619012345678"},
		{"19512345678", "+8619512345678"},
		{"19912345678", "+8619912345678"},
	}
	for _, tc := range good {
		got, err := katong.NormalizeMobile(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}
	bad := []string{
		"",
		"1380013800",        // 10 digits
		"138001380000",      // 12 digits
		"12012345678",       // 12x is not mobile
		"10012345678",       // 10x
		"11012345678",       // 11x
		"14012345678",       // 140
		"14612345678",       // 146 (not in libphonenumber's mobile ranges)
		"15412345678",       // 154
		"16012345678",       // 160
		"16312345678",       // 163
		"16812345678",       // 168
		"17412345678",       // 1741
		"17406123456",       // 17406
		"17912345678",       // 179
		"19412345678",       // 194
		"01012345678",       // Beijing fixed line
		"+86 10 1234 5678",  // Beijing fixed line
		"+86 021 1234 5678", // trunk prefix after country code
		"+1 138 0013 8000",  // another country
		"+852 9123 4567",    // Hong Kong
		"+13800138000",
		"0013800138000",
		"1380013800a",
		"(138) 0013 8000",
		"138.0013.8000",
		"１３８００１３８０００",
		"+86+13800138000",
		"86138001380000",
	}
	for _, in := range bad {
		got, err := katong.NormalizeMobile(in)
		if err == nil {
			t.Errorf("NormalizeMobile(%q) = %q, nil; want an error", in, got)
			continue
		}
		mustInvalid(t, err, "mobile", in)
	}
}

func FuzzNormalizeCard(f *testing.F) {
	for _, s := range []string{"6222021234567894", "6222021234567890", "6222 0212 3456 7894", "6222-0212-3456-7894", "378282246310005", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pan, err := katong.NormalizeCard(s)
		if err != nil {
			mustInvalid(t, err, "card_number", s)
			return
		}
		if n := len(pan); n < 16 || n > 19 {
			t.Fatalf("NormalizeCard(%q) = %q; %d digits", s, pan, n)
		}
		if !katong.Luhn(pan) {
			t.Fatalf("NormalizeCard(%q) = %q; fails Luhn", s, pan)
		}
		if want := strings.NewReplacer(" ", "", "-", "").Replace(s); pan != want {
			t.Fatalf("NormalizeCard(%q) = %q; want %q", s, pan, want)
		}
		if again, err := katong.NormalizeCard(pan); err != nil || again != pan {
			t.Fatalf("NormalizeCard(%q) = %q, %v; not idempotent", pan, again, err)
		}
	})
}

func FuzzNormalizeID(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "110105194912310021", "11010519491231002x", " 11010519491231002X ", "00010519491231002X", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := katong.NormalizeID(s, testNow)
		if err != nil {
			mustInvalid(t, err, "id_number", s)
			return
		}
		if len(id) != 18 || withCheck(id[:17]) != id {
			t.Fatalf("NormalizeID(%q) = %q; bad check character", s, id)
		}
		birth, perr := time.Parse("20060102", id[6:14])
		if perr != nil || birth.Year() < 1900 || birth.After(testNow) {
			t.Fatalf("NormalizeID(%q) = %q; bad birth date (%v)", s, id, perr)
		}
		if again, err := katong.NormalizeID(id, testNow); err != nil || again != id {
			t.Fatalf("NormalizeID(%q) = %q, %v; not idempotent", id, again, err)
		}
		if m := katong.MaskID(id); len(m) != 18 || m[:3] != id[:3] || m[14:] != id[14:] || m[3:14] != strings.Repeat("*", 11) {
			t.Fatalf("MaskID(%q) = %q", id, m)
		}
	})
}

func FuzzNormalizeMobile(f *testing.F) {
	for _, s := range []string{"13800138000", "138 0013 8000", "+86 138-0013-8000", "008613800138000", "8613800138000", "17405123456", "12012345678", "+1 138 0013 8000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := katong.NormalizeMobile(s)
		if err != nil {
			mustInvalid(t, err, "mobile", s)
			return
		}
		if len(e) != 14 || !strings.HasPrefix(e, "+861") || strings.Trim(e[1:], "0123456789") != "" {
			t.Fatalf("NormalizeMobile(%q) = %q; not +86 and 11 digits", s, e)
		}
		if again, err := katong.NormalizeMobile(e); err != nil || again != e {
			t.Fatalf("NormalizeMobile(%q) = %q, %v; not idempotent", e, again, err)
		}
		if again, err := katong.NormalizeMobile(e[3:]); err != nil || again != e {
			t.Fatalf("NormalizeMobile(%q) = %q, %v; national form differs", e[3:], again, err)
		}
		if m := katong.MaskMobile(s); m != "+86 "+e[3:6]+"****"+e[10:] {
			t.Fatalf("MaskMobile(%q) = %q", s, m)
		}
	})
}
