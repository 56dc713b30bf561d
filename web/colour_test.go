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

func TestColour(t *testing.T) {
	for in, want := range map[string]string{"#1D4ED8": "#1d4ed8", "#047857": "#047857", "": DefaultColour,
		"blue": DefaultColour, "#zzzzzz": DefaultColour, "#12345": DefaultColour, "red;}body{": DefaultColour} {
		if got := Colour(in); got != want {
			t.Errorf("Colour(%q) = %s, want %s", in, got, want)
		}
	}
}
