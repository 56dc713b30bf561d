package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"katong"
	"katong/loadgen"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// runLoad is `katong load`: it drives a running Katong with concurrent
// clients (loadgen) and reports throughput and latency percentiles. The
// ops transfer and balance use a bank's ledger API; get sends GET --path
// with the given headers (a wallet or bank-app API with a bearer token).
//
//	katong load --url http://127.0.0.1:8080/banks/galaxy --key demo-ledger-key --accounts 10-10009 --op transfer --clients 32 --duration 10s
//	katong load --url http://127.0.0.1:8080 --op get --path /wallet/api/v1/cards/1/balance --header 'Authorization: Bearer …' --rate 2000
func runLoad(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080/banks/galaxy", "the base URL")
	key := fs.String("key", "demo-ledger-key", "the bank's ledger API key (transfer, balance)")
	accounts := fs.String("accounts", "", "account id range FIRST-LAST (from `katong seed`; transfer, balance)")
	op := fs.String("op", "transfer", "transfer, balance or get")
	path := fs.String("path", "", "the path to GET under --url (get)")
	var headers headerList
	fs.Var(&headers, "header", "a request header 'Name: value' (get; repeatable)")
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	rate := fs.Float64("rate", 0, "requests per second, latency counted from when each was due (0: flat out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var do func(ctx context.Context, r *rand.Rand) (int, error)
	switch *op {
	case "transfer", "balance":
		first, last, err := parseRange(*accounts)
		if err != nil {
			return err
		}
		do = func(ctx context.Context, r *rand.Rand) (int, error) {
			return loadOnce(ctx, hc, *base, *key, *op, first, last, r)
		}
	case "get":
		if !strings.HasPrefix(*path, "/") {
			return fmt.Errorf("--op get needs --path, starting with /")
		}
		u := strings.TrimSuffix(*base, "/") + *path
		do = func(ctx context.Context, _ *rand.Rand) (int, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return 0, err
			}
			for _, h := range headers {
				req.Header.Set(h[0], h[1])
			}
			return send(hc, req)
		}
	default:
		return fmt.Errorf("--op must be transfer, balance or get")
	}
	res, err := loadgen.Run(ctx, loadgen.Config{Clients: *clients, Duration: *duration, Rate: *rate, Do: do})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "op=%s clients=%d duration=%s %s\n", *op, *clients, res.Elapsed.Round(time.Millisecond), res)
	for e, n := range res.Errors {
		fmt.Fprintf(stdout, "  %d × %s\n", n, e)
	}
	return nil
}

// headerList is a repeatable --header flag.
type headerList [][2]string

func (h *headerList) String() string { return fmt.Sprint(*h) }

func (h *headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("a header is 'Name: value'")
	}
	*h = append(*h, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	return nil
}

// send does req and reads the whole answer.
func send(hc *http.Client, req *http.Request) (int, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
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
	return send(hc, req)
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
