package ledgerapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"katong"
	"katong/banktest"
	"katong/ledgerapi"
	"katong/web"
)

func serve(t *testing.T) (*banktest.World, string) {
	w := banktest.New(t)
	mux := http.NewServeMux()
	ledgerapi.New(w.Bank, "test-key", nil).Register(mux)
	srv := httptest.NewServer(web.Middleware(discard(), mux))
	t.Cleanup(srv.Close)
	return w, srv.URL + "/banks/galaxy/ledger/v1"
}

func do(t *testing.T, method, url, key, idem, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func TestTransferIdempotency(t *testing.T) {
	w, base := serve(t)
	body := `{"kind":"transfer","from":` + itoa(w.Alice.Account) + `,"to":` + itoa(w.Bob.Account) + `,"amount":"12.34"}`
	key := katong.NewKey()
	st, _, first := do(t, "POST", base+"/transactions", "test-key", key, body)
	if st != 201 {
		t.Fatalf("first: %d %v", st, first)
	}
	st, h, again := do(t, "POST", base+"/transactions", "test-key", key, body)
	if st != 200 || h.Get("Idempotent-Replayed") != "true" || again["txn_id"] != first["txn_id"] {
		t.Fatalf("replay: %d %v", st, again)
	}
	if st, _, p := do(t, "POST", base+"/transactions", "test-key", key, strings.Replace(body, "12.34", "12.35", 1)); st != 422 || p["code"] != "IDEMPOTENCY_MISMATCH" {
		t.Fatalf("changed body: %d %v", st, p)
	}
	// 16 at once with one fresh key: one applies.
	key2 := katong.NewKey()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, _ := do(t, "POST", base+"/transactions", "test-key", key2, body)
			mu.Lock()
			if st == 201 {
				created++
			} else if st != 200 && st != 409 {
				t.Errorf("concurrent duplicate: %d", st)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d of 16 concurrent duplicates applied", created)
	}
	if st, _, rc := do(t, "GET", base+"/receipts/"+key, "test-key", "", ""); st != 200 || rc["txn_id"] != first["txn_id"] {
		t.Fatalf("receipt: %d %v", st, rc)
	}
	st, _, rep := do(t, "GET", base+"/check", "test-key", "", "")
	if st != 200 || rep["ok"] != true {
		t.Fatalf("check: %d %v", st, rep)
	}
	st, _, a := do(t, "GET", base+"/accounts/"+itoa(w.Alice.Account), "test-key", "", "")
	if st != 200 || a["available_fen"] != float64(120507-1234-1234) {
		t.Fatalf("account: %d %v", st, a)
	}
}

func TestRefusals(t *testing.T) {
	w, base := serve(t)
	body := `{"kind":"withdrawal","from":` + itoa(w.Alice.Account) + `,"amount":"999999.00"}`
	for _, c := range []struct {
		key, idem, body string
		status          int
		code            string
	}{
		{"wrong", katong.NewKey(), body, 401, "UNAUTHENTICATED"},
		{"test-key", "not-a-uuid", body, 400, "INVALID_INPUT"},
		{"test-key", katong.NewKey(), body, 422, "INSUFFICIENT_FUNDS"},
		{"test-key", katong.NewKey(), `{"kind":"withdrawal","from":` + itoa(w.Frozen.Account) + `,"amount":"1"}`, 403, "ACCOUNT_ABNORMAL"},
		{"test-key", katong.NewKey(), `{"kind":"withdrawal","from":1,"amount":"1e3"}`, 400, "INVALID_INPUT"},
		{"test-key", katong.NewKey(), `{"kind":"withdrawal","from":1,"amount":"1","extra":1}`, 400, "INVALID_INPUT"},
		{"test-key", katong.NewKey(), `{"kind":"teleport","from":1,"amount":"1"}`, 400, "INVALID_INPUT"},
	} {
		st, _, p := do(t, "POST", base+"/transactions", c.key, c.idem, c.body)
		if st != c.status || p["code"] != c.code {
			t.Errorf("%s: %d %v; want %d %s", c.body, st, p, c.status, c.code)
		}
	}
	if st, _, rep := do(t, "GET", base+"/check", "test-key", "", ""); st != 200 || rep["ok"] != true || rep["txns"] != float64(3) {
		t.Fatalf("refusals changed the ledger: %v", rep)
	}
	if st, _, _ := do(t, "GET", base+"/receipts/"+katong.NewKey(), "test-key", "", ""); st != 404 {
		t.Fatalf("unknown receipt: %d", st)
	}
}
