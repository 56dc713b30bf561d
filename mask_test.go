package katong_test

import (
	"testing"

	"katong"
)

func TestMaskCard(t *testing.T) {
	tests := []struct{ in, card, teller, tail string }{
		{"6222021234567894", "6222 **** **** 7894", "622202******7894", "7894"},
		{"6222 0212 3456 7894", "6222 **** **** 7894", "622202******7894", "7894"},
		{"6222-0212-3456-7894", "6222 **** **** 7894", "622202******7894", "7894"},
		{"4222222222222", "4222 **** **** 2222", "422222***2222", "2222"},
		{"6222021234567890123", "6222 **** **** 0123", "622202*********0123", "0123"},
		{"123456789012", "**** **** **** ****", "************", "9012"},
		{"12", "**** **** **** ****", "**", "12"},
		{"", "**** **** **** ****", "", ""},
	}
	for _, tc := range tests {
		if got := katong.MaskCard(tc.in); got != tc.card {
			t.Errorf("MaskCard(%q) = %q; want %q", tc.in, got, tc.card)
		}
		if got := katong.MaskCardTeller(tc.in); got != tc.teller {
			t.Errorf("MaskCardTeller(%q) = %q; want %q", tc.in, got, tc.teller)
		}
		if got := katong.Tail(tc.in); got != tc.tail {
			t.Errorf("Tail(%q) = %q; want %q", tc.in, got, tc.tail)
		}
	}
}

func TestMaskID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"11010519491231002X", "110***********002X"},
		{"110105199001011234", "110***********1234"},
		{" 110105199001011234 ", "110***********1234"},
		{"110105900101123", "110********1123"},
		{"1234567", "*******"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := katong.MaskID(tc.in); got != tc.want {
			t.Errorf("MaskID(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"张三", "*三"},
		{"张三丰", "**丰"},
		{"欧阳娜娜", "***娜"},
		{"阿依古丽·买买提", "*******提"},
		{"张", "*"},
		{"", ""},
		{"  ", ""},
		{"Alice Wang", "A*** Wang"},
		{"  Alice   Mary Wang ", "A*** Wang"},
		{"Élodie Dupont", "É*** Dupont"},
		{"Alice", "****e"},
	}
	for _, tc := range tests {
		if got := katong.MaskName(tc.in); got != tc.want {
			t.Errorf("MaskName(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskMobile(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+8613800138000", "+86 138****8000"},
		{"13800138000", "+86 138****8000"},
		{"138-0013-8000", "+86 138****8000"},
		{"0086 138 0013 8000", "+86 138****8000"},
		{"12012345678", "*******5678"},
		{"+1 415 555 2671", "*******2671"},
		{"123", "***"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := katong.MaskMobile(tc.in); got != tc.want {
			t.Errorf("MaskMobile(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
