package wallet_test

import (
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"katong"
)

// BenchmarkWalletBalance: 32 clients asking the wallet for a card's
// balance, each answer a real HTTP call from the wallet to the bank's AIS
// API on loopback (the bank's per-card wallet limit off). The clients are
// the project's load tool (`katong load`) in its own process, as a load
// generator is: "max" runs them flat out; "half" sends at half the rate
// "max" reached on a fixed schedule, latency counted from when each
// request was due. Each reports requests per second and the p50 and p99
// latency. b.N is not used: each part runs for -benchtime (default 5 s).
func BenchmarkWalletBalance(b *testing.B) {
	e := newEnv(b, options{quiet: true, breaker: breakerOff, settle: time.Hour})
	e.world.Bank.Config.Limits.Wallet = katong.Rate{}
	tok := e.user("13800138000")
	id := e.bind(tok, e.world.Alice)
	bin := filepath.Join(b.TempDir(), "katong")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/katong").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	dur := 5 * time.Second
	if f := flag.Lookup("test.benchtime"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil {
			dur = d
		}
	}
	report := regexp.MustCompile(`rate=([0-9.]+)/s p50=(\S+) p99=(\S+)`)
	// load runs the tool for d at rate (0: flat out) and returns requests
	// per second and the p50 and p99 latencies in milliseconds.
	load := func(b *testing.B, d time.Duration, rate float64) (got, p50, p99 float64) {
		out, err := exec.Command(bin, "load", "--url", e.url, "--op", "get",
			"--path", fmt.Sprintf("/wallet/api/v1/cards/%d/balance", id), "--header", "Authorization: Bearer "+tok,
			"--clients", "32", "--duration", d.String(), "--rate", strconv.FormatFloat(rate, 'f', 0, 64)).CombinedOutput()
		if err != nil {
			b.Fatalf("katong load: %v\n%s", err, out)
		}
		m := report.FindSubmatch(out)
		if m == nil || regexp.MustCompile(`\d+ × `).Match(out) {
			b.Fatalf("katong load: %s", out)
		}
		ms := func(s []byte) float64 {
			d, _ := time.ParseDuration(string(s))
			return float64(d) / float64(time.Millisecond)
		}
		got, _ = strconv.ParseFloat(string(m[1]), 64)
		return got, ms(m[2]), ms(m[3])
	}
	measure := func(b *testing.B, rate float64) float64 {
		got, p50, p99 := load(b, dur, rate)
		b.ReportMetric(got, "req/s")
		b.ReportMetric(p50, "p50-ms")
		b.ReportMetric(p99, "p99-ms")
		b.ReportMetric(0, "ns/op")
		return got
	}
	load(b, time.Second, 0) // warm up: connections, caches, statements
	var max float64
	b.Run("max", func(b *testing.B) { max = measure(b, 0) })
	b.Run("half", func(b *testing.B) { measure(b, max/2) })
}
