package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"katong/wallet/faultproxy"
)

// TestModes: each mode does to an HTTP client what it says.
func TestModes(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "hello from the bank, with enough bytes to be cut in half")
	}))
	defer srv.Close()
	base := runtime.NumGoroutine()
	p, err := faultproxy.New(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	get := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.Addr()+"/", nil)
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	if s, err := get(); err != nil || s == "" {
		t.Fatalf("pass: %q, %v", s, err)
	}
	p.SetMode(faultproxy.Refuse)
	if _, err := get(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refuse: %v; want connection refused", err)
	}
	p.SetMode(faultproxy.BlackHole)
	if _, err := get(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("black hole: %v; want a time-out", err)
	}
	p.SetMode(faultproxy.Garbage)
	if _, err := get(); err == nil {
		t.Fatal("garbage: no error")
	}
	before := hits.Load()
	p.SetMode(faultproxy.Reset)
	if s, err := get(); err == nil {
		t.Fatalf("reset: %q and no error", s)
	}
	if n := hits.Load() - before; n != 1 {
		t.Fatalf("reset: the server got %d requests; want the one whose answer was cut", n)
	}
	p.SetMode(faultproxy.Pass)
	if s, err := get(); err != nil || s == "" {
		t.Fatalf("pass again: %q, %v", s, err)
	}
	if p.Accepted() < 5 {
		t.Errorf("accepted %d connections; want at least 5", p.Accepted())
	}
	p.Close()
	for i := 0; i < 100 && runtime.NumGoroutine() > base; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines after Close; %d before", n, base)
	}
}
