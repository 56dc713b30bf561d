package bankapp_test

import (
	"io"
	"katong/bankapp"
	"katong/web"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"katong"
)

// BenchmarkBalanceAPI measures GET /api/v1/accounts/{id} with 32
// concurrent clients over loopback HTTP, next to a bare net/http handler
// answering a fixed small JSON the same way in the same run. Both figures
// are reported as req/s; app/bare is their ratio (target ≥ 0.5).
func BenchmarkBalanceAPI(b *testing.B) {
	const clients = 32
	e := newEnv(b)
	e.w.Bank.Config.Limits.App = katong.Rate{} // unlimited
	tok := e.login(e.w.Alice)
	// The app as katong serve runs it: JSON log lines, redacted, written
	// to a file.
	logFile, err := os.Create(filepath.Join(b.TempDir(), "katong.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	log := slog.New(katong.NewRedactingHandler(slog.NewJSONHandler(logFile, nil)))
	mux := http.NewServeMux()
	bankapp.New(e.w.Bank, log).Register(mux)
	app := httptest.NewServer(web.Middleware(log, mux))
	defer app.Close()
	appURL := app.URL + "/banks/galaxy/api/v1/accounts/" + id(e.w.Alice.Account)

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, `{"available":"1205.07","available_fen":120507,"as_of":"2026-01-02T10:32:00+08:00"}`)
	}))
	defer bare.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients},
		Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	get := func(url, token string) error {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		return err
	}
	// run sends n requests from 32 clients and returns the seconds taken.
	run := func(n int, url, token string) float64 {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if err := get(url, token); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start).Seconds()
	}
	// Warm both up: connections, caches, prepared statements.
	run(clients*4, appURL, tok)
	run(clients*4, bare.URL, "")

	// Alternate the two in rounds, so that both see the same drift of a
	// shared machine.
	b.ResetTimer()
	const rounds = 4
	var appTime, bareTime float64
	for i := range rounds {
		n := (b.N + rounds - 1 - i) / rounds // the rounds' n add up to b.N
		appTime += run(n, appURL, tok)
		bareTime += run(n, bare.URL, "")
	}
	b.StopTimer()
	appRate, bareRate := float64(b.N)/appTime, float64(b.N)/bareTime
	b.ReportMetric(appRate, "app-req/s")
	b.ReportMetric(bareRate, "bare-req/s")
	b.ReportMetric(appRate/bareRate, "app/bare")
}
