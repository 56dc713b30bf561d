package wallet_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"katong/web"
)

// fakeBank is a small bank that follows docs/bank-link.md, for answers
// the real bank never gives (a 500, garbage with a 200, a balance without
// ITBD…). Its authorisation page approves at once for one account whose
// card is Alice's, 6222********7894.
type fakeBank struct {
	redirect string
	mux      *http.ServeMux

	mu       sync.Mutex
	n        int
	consents map[string]string // id → status
	codes    map[string][2]string
	tokens   map[string]string // access token → consent
	refresh  map[string]string // refresh token → consent
	// balances, when set, answers GET …/balances instead of the default.
	balances http.HandlerFunc
	refused  int // refresh grants refused
}

const fakeAccount = "acc-7894"

func newFakeBank() *fakeBank {
	f := &fakeBank{mux: http.NewServeMux(), consents: map[string]string{}, codes: map[string][2]string{},
		tokens: map[string]string{}, refresh: map[string]string{}}
	p := "/banks/galaxy"
	f.mux.HandleFunc("POST "+p+"/oauth/token", f.token)
	f.mux.HandleFunc("GET "+p+"/oauth/authorize", f.authorize)
	f.mux.HandleFunc("POST "+p+"/open-banking/v4.0/aisp/account-access-consents", f.app(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n++
		id := fmt.Sprintf("cons-%d", f.n)
		f.consents[id] = "AWAU"
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"Data": map[string]any{"ConsentId": id, "Status": "AWAU"}, "Risk": map[string]any{}})
	}))
	f.mux.HandleFunc("DELETE "+p+"/open-banking/v4.0/aisp/account-access-consents/{id}", f.app(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.consents[r.PathValue("id")] = "CANC"
		f.mu.Unlock()
		w.WriteHeader(204)
	}))
	f.mux.HandleFunc("GET "+p+"/open-banking/v4.0/aisp/accounts", f.psu(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"Data": map[string]any{"Account": []any{map[string]any{"AccountId": fakeAccount,
			"Account": []any{map[string]any{"SchemeName": "UK.OBIE.PAN", "Identification": "6222********7894"}}}}}})
	}))
	f.mux.HandleFunc("GET "+p+"/open-banking/v4.0/aisp/accounts/{id}/balances", f.psu(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		h := f.balances
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		writeJSON(w, 200, balanceBody("1205.07", "1205.07"))
	}))
	f.mux.HandleFunc("GET "+p+"/open-banking/v4.0/aisp/accounts/{id}/transactions", f.psu(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"Data": map[string]any{"Transaction": []any{}}})
	}))
	return f
}

func balanceBody(av, bd string) map[string]any {
	at := time.Date(2026, 5, 1, 10, 32, 0, 0, time.FixedZone("", 8*3600)).Format(time.RFC3339)
	var bs []any
	for typ, amt := range map[string]string{"ITAV": av, "ITBD": bd} {
		if amt != "" {
			bs = append(bs, map[string]any{"AccountId": fakeAccount, "CreditDebitIndicator": "Credit", "Type": typ,
				"DateTime": at, "Amount": map[string]string{"Amount": amt, "Currency": "CNY"}})
		}
	}
	return map[string]any{"Data": map[string]any{"Balance": bs}}
}

// balanceSigned answers a balance of 3.00 with the CreditDebitIndicator.
func balanceSigned(indicator string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := balanceBody("3.00", "3.00")
		for _, b := range body["Data"].(map[string]any)["Balance"].([]any) {
			b.(map[string]any)["CreditDebitIndicator"] = indicator
		}
		writeJSON(w, 200, body)
	}
}

func (f *fakeBank) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeBank) app(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		ok := f.tokens[web.BearerToken(r)] == "app"
		f.mu.Unlock()
		if !ok {
			w.Header().Set("X-Katong-Code", "UNAUTHENTICATED")
			w.WriteHeader(401)
			return
		}
		h(w, r)
	}
}

// psu checks a consent's token: revoked or unknown → 401.
func (f *fakeBank) psu(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		c, ok := f.tokens[web.BearerToken(r)]
		ok = ok && f.consents[c] == "AUTH"
		f.mu.Unlock()
		if !ok {
			w.Header().Set("X-Katong-Code", "UNAUTHENTICATED")
			w.WriteHeader(401)
			return
		}
		h(w, r)
	}
}

func (f *fakeBank) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("redirect_uri") != f.redirect || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != clientID {
		http.Error(w, "bad authorisation request", 400)
		return
	}
	code := fmt.Sprintf("code-%d", time.Now().UnixNano())
	f.mu.Lock()
	f.consents[q.Get("consent_id")] = "AUTH"
	f.codes[code] = [2]string{q.Get("consent_id"), q.Get("code_challenge")}
	f.mu.Unlock()
	http.Redirect(w, r, f.redirect+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (f *fakeBank) token(w http.ResponseWriter, r *http.Request) {
	id, secret, _ := r.BasicAuth()
	if id != clientID || secret != clientSecret {
		w.Header().Set("X-Katong-Code", "UNAUTHENTICATED")
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	access := fmt.Sprintf("at-%d", f.n)
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		f.tokens[access] = "app"
		writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 600})
	case "authorization_code":
		c, ok := f.codes[r.PostForm.Get("code")]
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != c[1] {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		delete(f.codes, r.PostForm.Get("code"))
		f.tokens[access] = c[0]
		f.refresh["rt-"+access] = c[0]
		writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 600, "refresh_token": "rt-" + access})
	case "refresh_token":
		c, ok := f.refresh[r.PostForm.Get("refresh_token")]
		if !ok || f.consents[c] != "AUTH" {
			f.refused++
			w.Header().Set("X-Katong-Code", "UNAUTHENTICATED")
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		f.tokens[access] = c
		writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 600})
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
	}
}

// expireTokens makes every consent token unknown, as after their ten minutes.
func (f *fakeBank) expireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t, c := range f.tokens {
		if c != "app" {
			delete(f.tokens, t)
		}
	}
}

func (f *fakeBank) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.consents {
		f.consents[c] = "CANC"
	}
}

func (f *fakeBank) answerBalances(h http.HandlerFunc) {
	f.mu.Lock()
	f.balances = h
	f.mu.Unlock()
}

// TestBankAnswers checks the one mapping of a bank's answers onto
// Katong's codes: the odd answers the real bank does not give.
func TestBankAnswers(t *testing.T) {
	f := newFakeBank()
	e := newEnv(t, options{fake: f, deadline: 500 * time.Millisecond, breaker: breakerOff})
	tok := e.user("13800138000")
	id := e.bind(tok, alicePerson())
	path := fmt.Sprintf("/wallet/api/v1/cards/%d/balance", id)
	b := e.do("GET", path, tok, nil).want(t, 200, "").json(t)
	if b["available"] != "1205.07" || b["as_of"] != "2026-05-01T10:32:00+08:00" {
		t.Fatalf("balance = %v", b)
	}

	status := func(code int, header, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for _, h := range strings.Split(header, "\n") {
				if k, v, ok := strings.Cut(h, ": "); ok {
					w.Header().Set(k, v)
				}
			}
			w.WriteHeader(code)
			w.Write([]byte(body))
		}
	}
	for _, tc := range []struct {
		name   string
		h      http.HandlerFunc
		status int
		code   string
	}{
		{"500", status(500, "X-Katong-Code: INTERNAL", `{"Errors":[{"ErrorCode":"U000"}]}`), 502, "NETWORK_ERROR"},
		{"503 without body", status(503, "", ""), 502, "NETWORK_ERROR"},
		{"garbage with 200", status(200, "Content-Type: application/json", `{"Data":{"Bal`), 502, "NETWORK_ERROR"},
		{"HTML with 200", status(200, "Content-Type: text/html", `<html>captive portal</html>`), 502, "NETWORK_ERROR"},
		{"no ITBD", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, balanceBody("1.00", "")) }, 502, "NETWORK_ERROR"},
		{"fractions of a fen", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, balanceBody("1.001", "1.00")) }, 502, "NETWORK_ERROR"},
		{"a redirect", status(302, "Location: http://elsewhere.example/", ""), 502, "NETWORK_ERROR"},
		{"frozen", status(403, "X-Katong-Code: ACCOUNT_ABNORMAL", `{"Errors":[{"ErrorCode":"U009"}]}`), 403, "ACCOUNT_ABNORMAL"},
		{"frozen, no header", status(403, "", `{"Errors":[{"ErrorCode":"U009"}]}`), 403, "ACCOUNT_ABNORMAL"},
		{"not in the consent", status(403, "", ``), 404, "ACCOUNT_NOT_FOUND"},
		{"unknown account", status(400, "", `{"Errors":[{"ErrorCode":"U011"}]}`), 404, "ACCOUNT_NOT_FOUND"},
		{"rate limited", status(429, "Retry-After: 17\nX-Katong-Code: RATE_LIMITED", ``), 429, "RATE_LIMITED"},
		{"bad CreditDebitIndicator", balanceSigned("Sideways"), 502, "NETWORK_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.answerBalances(tc.h)
			a := e.do("GET", path, tok, nil).want(t, tc.status, tc.code)
			if strings.Contains(string(a.body), "1205.07") {
				t.Fatalf("a number in an error: %s", a.body)
			}
			if tc.code == "RATE_LIMITED" && (a.header.Get("Retry-After") != "17" || a.json(t)["retry_after"] != float64(17)) {
				t.Fatalf("Retry-After %q: %s", a.header.Get("Retry-After"), a.body)
			}
			if tc.code == "ACCOUNT_ABNORMAL" && a.json(t)["support"] != "95500" {
				t.Fatalf("no support number: %s", a.body)
			}
		})
	}
	// A debit balance is negative.
	f.answerBalances(balanceSigned("Debit"))
	if b := e.do("GET", path, tok, nil).want(t, 200, "").json(t); b["available"] != "-3.00" || b["booked_fen"] != float64(-300) {
		t.Fatalf("debit balance = %v; want -3.00", b)
	}
	// The page tells when to retry.
	f.answerBalances(status(429, "Retry-After: 17\nX-Katong-Code: RATE_LIMITED", ``))
	p := e.login("13800138000").call("GET", fmt.Sprintf("/wallet/cards/%d", id), nil)
	if p.status != 429 || !strings.Contains(string(p.body), "查询过于频繁") || !strings.Contains(string(p.body), "17 秒") {
		t.Fatalf("rate-limited page: %d %s", p.status, p.body)
	}
	f.answerBalances(nil)

	// Expired access token: refreshed once, transparently.
	f.expireTokens()
	e.do("GET", path, tok, nil).want(t, 200, "")
	// Revoked consent: the refresh is refused, and the card is not found.
	f.revokeAll()
	e.do("GET", path, tok, nil).want(t, 404, "ACCOUNT_NOT_FOUND")
	if f.refused == 0 {
		t.Fatal("no refresh was tried after the 401")
	}
}
