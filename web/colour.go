package web

import (
	"math"
	"strconv"
	"strings"
)

// DefaultColour is a bank's colour when its configuration has none.
const DefaultColour = "#1d4ed8"

// Colour is a bank's configured colour as CSS can take it: "#rrggbb" in
// lower case, or DefaultColour for an empty or malformed one.
func Colour(c string) string {
	if len(c) == 7 && c[0] == '#' {
		if _, err := strconv.ParseUint(c[1:], 16, 32); err == nil {
			return strings.ToLower(c)
		}
	}
	return DefaultColour
}

// Ink is the text colour that reads best on a background colour given as
// "#rrggbb": white on dark colours, near-black on light ones, by WCAG
// relative luminance. A malformed colour gets white (the tiles' default
// background is dark).
func Ink(colour string) string {
	if len(colour) != 7 || colour[0] != '#' {
		return "#ffffff"
	}
	v, err := strconv.ParseUint(colour[1:], 16, 32)
	if err != nil {
		return "#ffffff"
	}
	lin := func(c uint64) float64 { // display arithmetic only, never money
		x := float64(c) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
	// Contrast with white is 1.05/(l+0.05); with #111827 (l≈0.0109) it is (l+0.05)/0.0609.
	if 1.05/(l+0.05) >= (l+0.05)/0.0609 {
		return "#ffffff"
	}
	return "#111827"
}
