package bankapp

import (
	"strconv"
	"strings"
	"time"

	"katong"
)

// chart is a balance-over-time step chart, drawn on the server as inline
// SVG so that it needs no script.
type chart struct {
	Width, Height int
	Left, Right   int // plot area, x
	Top, Bottom   int // plot area, y
	Line          string
	Area          string
	YMax, YMin    string // axis labels
	YMaxAt        int
	XFrom, XTo    string
	Desc          string
	Points        int
}

// Chart geometry, in SVG user units.
const (
	chartW      = 640
	chartH      = 240
	chartLeft   = 116
	chartRight  = 628
	chartTop    = 16
	chartBottom = 208
)

// newChart draws the booked balance after each entry (entries newest
// first, as the store returns them) up to end. It returns nil when there
// is nothing to draw.
func newChart(entries []katong.Entry, end time.Time, lang katong.Lang) *chart {
	if len(entries) == 0 {
		return nil
	}
	// Oldest first.
	es := make([]katong.Entry, len(entries))
	for i, e := range entries {
		es[len(es)-1-i] = e
	}
	start := es[0].At
	first := es[0].BalanceAfter - es[0].Amount
	if !end.After(es[len(es)-1].At) {
		end = es[len(es)-1].At
	}
	if end.Sub(start) < time.Minute {
		end = start.Add(time.Hour)
	}
	low, hi := first, first
	for _, e := range es {
		low, hi = min(low, e.BalanceAfter), max(hi, e.BalanceAfter)
	}
	lo := min(low, 0)
	if hi == lo {
		hi = lo + 100
	}
	span := end.Sub(start).Milliseconds()
	x := func(t time.Time) int {
		// Integer arithmetic in milliseconds: a century fits in int64.
		return chartLeft + int(t.Sub(start).Milliseconds()*int64(chartRight-chartLeft)/span)
	}
	y := func(v katong.Amount) int {
		return chartBottom - int(int64(v-lo)*int64(chartBottom-chartTop)/int64(hi-lo))
	}
	var b strings.Builder
	pt := func(px, py int) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(px))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(py))
	}
	prev := first
	pt(x(start), y(prev))
	for _, e := range es {
		pt(x(e.At), y(prev))
		pt(x(e.At), y(e.BalanceAfter))
		prev = e.BalanceAfter
	}
	pt(x(end), y(prev))
	line := b.String()
	area := strconv.Itoa(x(start)) + "," + strconv.Itoa(y(lo)) + " " + line + " " +
		strconv.Itoa(x(end)) + "," + strconv.Itoa(y(lo))
	from, to := start.In(katong.Shanghai).Format(time.DateOnly), end.In(katong.Shanghai).Format(time.DateOnly)
	desc := "余额走势：" + from + " 至 " + to + "，最低 " + low.Yuan() + "，最高 " + hi.Yuan() + "，最新 " + prev.Yuan()
	if lang == katong.EN {
		desc = "Balance from " + from + " to " + to + ": lowest " + low.Yuan() + ", highest " + hi.Yuan() + ", latest " + prev.Yuan()
	}
	return &chart{Width: chartW, Height: chartH, Left: chartLeft, Right: chartRight, Top: chartTop, Bottom: chartBottom,
		Line: line, Area: area, YMax: hi.Yuan(), YMin: lo.Yuan(), XFrom: from, XTo: to, Desc: desc, Points: len(es)}
}
