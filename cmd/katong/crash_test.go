package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"katong"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestKillNine is RELIABILITY.md T2: kill -9 the real binary during a
// transfer load, six times, 2–5 s apart. The load client uses a fresh
// idempotency key per transfer and retries an unknown outcome with the
// same key after the restart. Afterwards: every acknowledged transfer is
// in the ledger exactly once, no transfer is torn, the total is exact.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("T2 kill -9 test skipped in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KATONG_T2_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with KATONG_T2_SEED=%d)", seed, seed)
	r := mrand.New(mrand.NewPCG(seed, 2))
	data := t.TempDir()
	out := run(t, "seed", "--customers", "8", "--data", data, "--quiet", "--opening", "1000000")
	m := regexp.MustCompile(`accounts (\d+)–(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("seed said %q", out)
	}
	first, _ := strconv.ParseInt(m[1], 10, 64)
	last, _ := strconv.ParseInt(m[2], 10, 64)
	conf := filepath.Join(data, "katong.json")

	var mu sync.Mutex
	acked := map[string]int64{} // key → txn id
	pending := map[string][]byte{}
	p := start(t, "--config", conf)
	addr := p.addr
	post := func(key string, body []byte) (int64, bool) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/banks/galaxy/ledger/v1/transactions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer demo-ledger-key")
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var rc struct {
			TxnID int64 `json:"txn_id"`
		}
		json.NewDecoder(resp.Body).Decode(&rc)
		if resp.StatusCode == 200 || resp.StatusCode == 201 {
			return rc.TxnID, true
		}
		if resp.StatusCode < 500 {
			t.Errorf("key %s refused with %d", key, resp.StatusCode)
		}
		return 0, false
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cr := mrand.New(mrand.NewPCG(seed, uint64(c)+10))
			for {
				from := first + cr.Int64N(last-first+1)
				to := first + (from-first+1+cr.Int64N(last-first))%(last-first+1)
				body := []byte(fmt.Sprintf(`{"kind":"transfer","from":%d,"to":%d,"amount":"%d.%02d"}`, from, to, cr.IntN(50), 1+cr.IntN(99)))
				key := katong.NewKey()
				mu.Lock()
				pending[key] = body
				mu.Unlock()
				// An unknown outcome is retried with the same key, as a real client does.
				for {
					select {
					case <-stop:
						return
					default:
					}
					if id, ok := post(key, body); ok {
						mu.Lock()
						acked[key] = id
						delete(pending, key)
						mu.Unlock()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	kills := 6
	for i := 0; i < kills; i++ {
		time.Sleep(time.Duration(2000+r.IntN(3000)) * time.Millisecond)
		p.kill()
		p = startAt(t, addr, "--config", conf)
	}
	close(stop)
	wg.Wait()
	// Settle every unknown outcome with its own key: it applies now, or
	// replays what applied before the crash.
	for key, body := range pending {
		id, ok := post(key, body)
		if !ok {
			t.Fatalf("pending key %s could not be settled", key)
		}
		acked[key] = id
	}
	if len(acked) < 50 {
		t.Fatalf("only %d transfers acknowledged: the load did not run", len(acked))
	}
	get := func(path string, v any) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/banks/galaxy/ledger/v1/"+path, nil)
		req.Header.Set("Authorization", "Bearer demo-ledger-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	missing := 0
	for key, id := range acked {
		var rc struct {
			TxnID int64 `json:"txn_id"`
		}
		if st := get("receipts/"+key, &rc); st != 200 || rc.TxnID != id {
			missing++
			t.Errorf("acknowledged key %s (txn %d): receipt %d txn %d", key, id, st, rc.TxnID)
		}
	}
	var rep struct {
		OK       bool     `json:"ok"`
		Txns     int      `json:"txns"`
		Problems []string `json:"problems"`
	}
	get("check", &rep)
	if !rep.OK {
		t.Fatalf("ledger check failed: %v", rep.Problems)
	}
	// 8 opening deposits plus one transaction per acknowledged key: none
	// applied twice, none lost.
	if rep.Txns != 8+len(acked) {
		t.Errorf("ledger holds %d transactions, want %d", rep.Txns, 8+len(acked))
	}
	var total int64
	for id := first; id <= last; id++ {
		var a struct {
			Booked int64 `json:"booked_fen"`
		}
		get("accounts/"+strconv.FormatInt(id, 10), &a)
		total += a.Booked
	}
	if want := int64(last-first+1) * 1000000; total != want {
		t.Errorf("customer accounts hold %d fen, want %d", total, want)
	}
	p.stop(t)
	t.Logf("missing_acked=%d; %d transfers acknowledged across %d kills", missing, len(acked), kills)
}
