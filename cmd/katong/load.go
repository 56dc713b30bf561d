package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"katong"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runLoad is `katong load`: it drives a running bank's ledger API with
// concurrent clients and reports throughput and latency percentiles.
//
//	katong load --url http://127.0.0.1:8080/banks/galaxy --key demo-ledger-key --accounts 10-10009 --op transfer --clients 32 --duration 10s
func runLoad(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080/banks/galaxy", "the bank's base URL")
	key := fs.String("key", "demo-ledger-key", "the bank's ledger API key")
	accounts := fs.String("accounts", "", "account id range FIRST-LAST (from `katong seed`)")
	op := fs.String("op", "transfer", "transfer or balance")
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	first, last, err := parseRange(*accounts)
	if err != nil {
		return err
	}
	if *op != "transfer" && *op != "balance" {
		return fmt.Errorf("--op must be transfer or balance")
	}
	if *clients < 1 || *clients > 4096 {
		return fmt.Errorf("--clients must be between 1 and 4096")
	}
	tr := &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errs := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				status, err := loadOnce(ctx, hc, *base, *key, *op, first, last, r)
				if ctx.Err() != nil {
					break
				}
				mu.Lock()
				if err != nil {
					errs[err.Error()]++
				} else if status >= 300 {
					errs["HTTP "+strconv.Itoa(status)]++
				}
				mu.Unlock()
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Fprintf(stdout, "op=%s clients=%d duration=%s requests=%d rate=%.0f/s p50=%s p99=%s\n", *op, *clients,
		elapsed.Round(time.Millisecond), len(lat), float64(len(lat))/elapsed.Seconds(), pct(0.50), pct(0.99))
	for e, n := range errs {
		fmt.Fprintf(stdout, "  %d × %s\n", n, e)
	}
	return nil
}

func loadOnce(ctx context.Context, hc *http.Client, base, key, op string, first, last int64, r *rand.Rand) (int, error) {
	var req *http.Request
	var err error
	pick := func() int64 { return first + r.Int64N(last-first+1) }
	if op == "balance" {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/ledger/v1/accounts/"+strconv.FormatInt(pick(), 10), nil)
	} else {
		from, to := pick(), pick()
		for to == from && last > first {
			to = pick()
		}
		body := fmt.Sprintf(`{"kind":"transfer","from":%d,"to":%d,"amount":"0.%02d","memo":"load"}`, from, to, 1+r.IntN(99))
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/ledger/v1/transactions", bytes.NewReader([]byte(body)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", katong.NewKey())
		}
	}
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func parseRange(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || first < 1 || last < first {
		return 0, 0, fmt.Errorf("--accounts must be a range FIRST-LAST of account ids, e.g. 5-10004")
	}
	return first, last, nil
}
