// Package loadgen drives an HTTP service with concurrent clients and
// measures what they see: closed loop (each client sends its next request
// when the last is answered) or open loop at a fixed rate (request i is
// due at start + i/rate, whichever client is free sends it, and its
// latency counts from when it was due, so a client that falls behind adds
// its wait, as a user would see it). It is the engine of `katong load`.
package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run.
type Config struct {
	Clients  int
	Duration time.Duration
	// Rate is requests per second for an open-loop run; 0 runs the
	// clients flat out.
	Rate float64
	// Do sends one request and returns its HTTP status. r is the client's
	// own random source.
	Do func(ctx context.Context, r *rand.Rand) (status int, err error)
}

// Result is what a run saw.
type Result struct {
	Requests  int
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
	Errors    map[string]int  // by error text or "HTTP nnn"
}

// Rate is the requests answered per second.
func (r *Result) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentile returns the latency at p (0–1).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(float64(len(r.Latencies))*p))]
}

// String is the one-line report.
func (r *Result) String() string {
	return fmt.Sprintf("requests=%d rate=%.0f/s p50=%s p99=%s", r.Requests, r.Rate(),
		r.Percentile(0.50).Round(time.Microsecond), r.Percentile(0.99).Round(time.Microsecond))
}

// Run runs c until its duration ends or ctx does.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Clients < 1 || c.Clients > 4096 {
		return nil, fmt.Errorf("clients must be between 1 and 4096")
	}
	if c.Duration <= 0 || c.Rate < 0 {
		return nil, fmt.Errorf("duration must be positive and rate not negative")
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	var mu sync.Mutex
	res := &Result{Errors: map[string]int{}}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if c.Rate > 0 {
					n := next.Add(1) - 1
					t0 = start.Add(time.Duration(float64(n) / c.Rate * float64(time.Second)))
					if !sleepUntil(ctx, t0) {
						break
					}
				}
				status, err := c.Do(ctx, r)
				if ctx.Err() != nil {
					break
				}
				mine = append(mine, time.Since(t0))
				if err != nil || status >= 300 {
					what := "HTTP " + strconv.Itoa(status)
					if err != nil {
						what = err.Error()
					}
					mu.Lock()
					res.Errors[what]++
					mu.Unlock()
				}
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = min(time.Since(start), c.Duration)
	res.Requests = len(res.Latencies)
	slices.Sort(res.Latencies)
	return res, nil
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
