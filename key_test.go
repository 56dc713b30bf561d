package katong_test

import (
	"testing"

	"katong"
)

func TestKey(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		k := katong.NewKey()
		if !katong.ValidKey(k) || seen[k] || k[14] != '4' {
			t.Fatalf("key %q", k)
		}
		seen[k] = true
	}
	for _, bad := range []string{"", "x", "0123456789abcdef0123456789abcdef0123", "01234567-89ab-cdef-0123-456789abcdeg",
		"01234567_89ab-cdef-0123-456789abcdef", "01234567-89ab-cdef-0123-456789abcde"} {
		if katong.ValidKey(bad) {
			t.Errorf("ValidKey(%q) = true", bad)
		}
	}
	if !katong.ValidKey("01234567-89AB-CDEF-0123-456789ABCDEF") {
		t.Error("upper case refused")
	}
}
