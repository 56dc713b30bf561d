package wallet_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"katong"
)

// BenchmarkWalletBalance: 32 clients asking the wallet for a card's
// balance at once, each answer a real HTTP call from the wallet to the
// bank's AIS API on loopback (the bank's per-card wallet limit off).
// "max" runs the clients flat out; "half" sends at half the rate "max"
// reached: request i is due at start + i/rate, whichever client is free
// sends it, and its latency counts from when it was due (so a client
// that falls behind adds its wait, as a user would see it). Each reports
// requests per second and the p50 and p99 latency.
func BenchmarkWalletBalance(b *testing.B) {
	const clients = 32
	e := newEnv(b, options{quiet: true, breaker: breakerOff, settle: time.Hour})
	e.world.Bank.Config.Limits.Wallet = katong.Rate{}
	tok := e.user("13800138000")
	id := e.bind(tok, e.world.Alice)
	url := fmt.Sprintf("%s/wallet/api/v1/cards/%d/balance", e.url, id)
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	get := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	for i := 0; i < clients; i++ { // warm the connections
		if err := get(); err != nil {
			b.Fatal(err)
		}
	}
	// run makes b.N requests from the clients, flat out when rate is 0,
	// else each at its due time.
	run := func(b *testing.B, rate float64) float64 {
		lat := make([]time.Duration, b.N)
		var next atomic.Int64
		var failed atomic.Value
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for g := 0; g < clients; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return
					}
					t0 := time.Now()
					if rate > 0 {
						t0 = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
						time.Sleep(time.Until(t0))
					}
					if err := get(); err != nil {
						failed.Store(err)
						return
					}
					lat[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		achieved := float64(b.N) / elapsed.Seconds()
		b.ReportMetric(achieved, "req/s")
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(0, "ns/op")
		return achieved
	}
	var max float64
	b.Run("max", func(b *testing.B) { max = run(b, 0) })
	b.Run("half", func(b *testing.B) {
		if max == 0 {
			b.Skip("no maximum measured")
		}
		run(b, max/2)
	})
}
