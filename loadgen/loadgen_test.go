package loadgen_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"katong/loadgen"
)

// TestClosedLoop: every answered request is counted once, and errors and
// non-2xx statuses are reported by kind.
func TestClosedLoop(t *testing.T) {
	var n atomic.Int64
	res, err := loadgen.Run(context.Background(), loadgen.Config{Clients: 4, Duration: 200 * time.Millisecond,
		Do: func(ctx context.Context, r *rand.Rand) (int, error) {
			time.Sleep(time.Millisecond)
			switch n.Add(1) % 10 {
			case 0:
				return 0, errors.New("refused")
			case 5:
				return 503, nil
			}
			return 200, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || int64(res.Requests) > n.Load() || res.Errors["refused"] == 0 || res.Errors["HTTP 503"] == 0 {
		t.Fatalf("%s, %d sent, errors %v", res, n.Load(), res.Errors)
	}
	if res.Percentile(0.5) < time.Millisecond || res.Percentile(0.99) < res.Percentile(0.5) {
		t.Fatalf("percentiles %v %v", res.Percentile(0.5), res.Percentile(0.99))
	}
}

// TestOpenLoop: at a fixed rate the run sends about rate × duration
// requests, and a server slower than the rate shows its backlog in the
// latencies (counted from when each request was due).
func TestOpenLoop(t *testing.T) {
	res, err := loadgen.Run(context.Background(), loadgen.Config{Clients: 8, Duration: 500 * time.Millisecond, Rate: 200,
		Do: func(ctx context.Context, r *rand.Rand) (int, error) { return 200, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 20 || res.Requests > 101 {
		t.Fatalf("%d requests at 200/s for 0.5 s", res.Requests)
	}
	// One client, 10 ms per request, due every 2 ms: each waits longer
	// than the last.
	res, err = loadgen.Run(context.Background(), loadgen.Config{Clients: 1, Duration: 300 * time.Millisecond, Rate: 500,
		Do: func(ctx context.Context, r *rand.Rand) (int, error) {
			time.Sleep(10 * time.Millisecond)
			return 200, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Percentile(0.99) < 50*time.Millisecond {
		t.Fatalf("a backlog of a slow server hidden: p99 %v", res.Percentile(0.99))
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []loadgen.Config{{Clients: 0, Duration: time.Second}, {Clients: 1}, {Clients: 1, Duration: time.Second, Rate: -1}} {
		if _, err := loadgen.Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
