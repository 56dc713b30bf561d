package ivr_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"katong"
	"katong/ivr"
)

func TestReadAmount(t *testing.T) {
	const yuan = 100
	tests := []struct {
		fen   katong.Amount
		liang string // with Liang
		er    string // without; "" if the same
	}{
		// zero, 整 and amounts below one yuan
		{0, "零元整", ""},
		{7, "七分", ""},
		{50, "五角", ""},
		{57, "五角七分", ""},
		{1 * yuan, "一元整", ""},
		// 十 at the head, 一十 inside
		{10 * yuan, "十元整", ""},
		{15 * yuan, "十五元整", ""},
		{1015 * yuan, "一千零一十五元整", ""},
		{1010 * yuan, "一千零一十元整", ""},
		{10010 * yuan, "一万零一十元整", ""},
		{150000 * yuan, "十五万元整", ""},
		// zeros inside: one 零 per run; 零 after 元 when 角 is 0
		{100507, "一千零五元零七分", ""},
		{120507, "一千二百零五元零七分", "一千二百零五元零七分"},
		{1640902, "一万六千四百零九元零二分", ""},
		{100050, "一千元五角", ""},
		{100005, "一千元零五分", ""},
		{100055, "一千元五角五分", ""},
		{10005 * yuan, "一万零五元整", ""},
		{100500 * yuan, "十万零五百元整", ""},
		{100015 * yuan, "十万零一十五元整", ""},
		{1001000 * yuan, "一百万一千元整", ""},
		{1000100 * yuan, "一百万零一百元整", ""},
		// 两 and 二
		{2 * yuan, "二元整", ""},
		{22 * yuan, "二十二元整", ""},
		{222 * yuan, "二百二十二元整", ""},
		{2000 * yuan, "两千元整", "二千元整"},
		{2222 * yuan, "两千二百二十二元整", "二千二百二十二元整"},
		{20000 * yuan, "两万元整", "二万元整"},
		{22000 * yuan, "两万两千元整", "二万二千元整"},
		{12000 * yuan, "一万两千元整", "一万二千元整"},
		{120000 * yuan, "十二万元整", ""},
		{20002 * yuan, "两万零二元整", "二万零二元整"},
		{22, "二角二分", ""},
		// 亿
		{100000000 * yuan, "一亿元整", ""},
		{200000000 * yuan, "两亿元整", "二亿元整"},
		{100000001 * yuan, "一亿零一元整", ""},
		{105000000 * yuan, "一亿零五百万元整", ""},
		{110000000 * yuan, "一亿一千万元整", ""},
		{100100000 * yuan, "一亿零一十万元整", ""},
		{1000000000 * yuan, "十亿元整", ""},
		{1234567890 * yuan, "十二亿三千四百五十六万七千八百九十元整", ""},
		{2000000000000 * yuan, "两万亿元整", "二万亿元整"},
		{math.MaxInt64, "九亿两千二百三十三万七千二百零三亿六千八百五十四万七千七百五十八元零七分",
			"九亿二千二百三十三万七千二百零三亿六千八百五十四万七千七百五十八元零七分"},
		// negative
		{-1 * yuan, "负一元整", ""},
	}
	for _, tc := range tests {
		if got := ivr.ReadAmount(tc.fen, ivr.ReadOptions{Liang: true}); got != tc.liang {
			t.Errorf("ReadAmount(%d, liang) = %q; want %q", tc.fen, got, tc.liang)
		}
		want := tc.er
		if want == "" {
			want = tc.liang
		}
		if got := ivr.ReadAmount(tc.fen, ivr.ReadOptions{}); got != want {
			t.Errorf("ReadAmount(%d) = %q; want %q", tc.fen, got, want)
		}
	}
	// The most negative amount does not overflow.
	if got := ivr.ReadAmount(math.MinInt64, ivr.ReadOptions{}); !strings.HasPrefix(got, "负九亿") {
		t.Errorf("ReadAmount(MinInt64) = %q", got)
	}
}

func TestReadAmountNeverBreaksRules(t *testing.T) {
	seed := uint64(20260101)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := 0; i < 20000; i++ {
		// Amounts with many zeros are the hard ones.
		var n int64
		for d := 0; d < 1+r.IntN(15); d++ {
			n = n*10 + []int64{0, 0, 0, 1, 2, 5, 9}[r.IntN(7)]
		}
		s := ivr.ReadAmount(katong.Amount(n), ivr.ReadOptions{Liang: r.IntN(2) == 0})
		switch {
		case strings.Contains(s, "零零"):
			t.Fatalf("ReadAmount(%d) = %q: a run of zeros takes one 零", n, s)
		case strings.HasSuffix(s, "零元整") && n != 0, strings.Contains(s, "分整"), strings.Contains(s, "零分"),
			strings.Contains(s, "零角"), strings.HasPrefix(s, "一十"), strings.Contains(s, "零万"), strings.Contains(s, "零亿"):
			t.Fatalf("ReadAmount(%d) = %q breaks a PBOC rule", n, s)
		}
	}
}

func TestReadDigits(t *testing.T) {
	for _, tc := range []struct{ in, zh, en string }{
		{"0128", "零幺二八", "zero one two eight"},
		{"95500", "九五五零零", "nine five five zero zero"},
		{"7894", "七八九四", "seven eight nine four"},
		{"", "", ""},
	} {
		if got := ivr.ReadDigits(tc.in); got != tc.zh {
			t.Errorf("ReadDigits(%q) = %q; want %q", tc.in, got, tc.zh)
		}
		if got := ivr.ReadDigitsEN(tc.in); got != tc.en {
			t.Errorf("ReadDigitsEN(%q) = %q; want %q", tc.in, got, tc.en)
		}
	}
}

func TestReadNumber(t *testing.T) {
	for _, tc := range []struct {
		n      int64
		zh, en string
	}{
		{0, "零", "zero"},
		{30, "三十", "thirty"},
		{59, "五十九", "fifty nine"},
		{2, "二", "two"},
		{115, "一百一十五", "one hundred and fifteen"},
		{1005, "一千零五", "one thousand and five"},
		{-3, "负三", "minus three"},
	} {
		if got := ivr.ReadNumber(tc.n, ivr.ReadOptions{Liang: true}); got != tc.zh {
			t.Errorf("ReadNumber(%d) = %q; want %q", tc.n, got, tc.zh)
		}
		if got := ivr.ReadNumberEN(tc.n); got != tc.en {
			t.Errorf("ReadNumberEN(%d) = %q; want %q", tc.n, got, tc.en)
		}
	}
}

func TestReadAmountEN(t *testing.T) {
	for _, tc := range []struct {
		fen  katong.Amount
		want string
	}{
		{0, "zero yuan"},
		{7, "seven fen"},
		{120507, "one thousand two hundred and five yuan seven fen"},
		{50000, "five hundred yuan"},
		{2000500, "twenty thousand and five yuan"},
		{100000000, "one million yuan"},
		{1234567891, "twelve million three hundred and forty five thousand six hundred and seventy eight yuan ninety one fen"},
		{-150, "minus one yuan fifty fen"},
	} {
		if got := ivr.ReadAmountEN(tc.fen); got != tc.want {
			t.Errorf("ReadAmountEN(%d) = %q; want %q", tc.fen, got, tc.want)
		}
	}
	if got := ivr.ReadAmountEN(math.MaxInt64); !strings.HasSuffix(got, "yuan seven fen") || !strings.HasPrefix(got, "ninety two thousand two hundred and thirty three trillion seven hundred and twenty billion") {
		t.Errorf("ReadAmountEN(MaxInt64) = %q", got)
	}
}
