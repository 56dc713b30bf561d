package web

import "testing"

func TestInk(t *testing.T) {
	for colour, want := range map[string]string{"#1d4ed8": "#ffffff", "#047857": "#ffffff", "#fde68a": "#111827",
		"#ffffff": "#111827", "#000000": "#ffffff", "blue": "#ffffff", "#zzzzzz": "#ffffff"} {
		if got := Ink(colour); got != want {
			t.Errorf("Ink(%q) = %s, want %s", colour, got, want)
		}
	}
}
