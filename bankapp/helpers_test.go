package bankapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"katong"
	"katong/bankapp"
	"katong/banktest"
	"katong/ledger"
	"katong/testkit"
	"katong/web"
)

// clock is a test clock that is safe to move while the server runs.
type clock = testkit.Clock

// syncBuffer is a log sink tests can read.
type syncBuffer = testkit.SyncBuffer

// exchange is one recorded request and response.
type exchange struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
	Req          *http.Request
}

// recorder keeps every response that passes through it, for the checks
// that look at all of them (S1).
type recorder struct {
	mu   sync.Mutex
	all  []exchange
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.all = append(r.all, exchange{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode,
		Header: resp.Header.Clone(), Body: body, Req: req})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.all...)
}

// env is a test bank served by the app over real HTTP.
type env struct {
	t     testing.TB
	w     *banktest.World
	app   *bankapp.App
	srv   *httptest.Server
	clock *clock
	base  string // server URL + "/banks/galaxy"
	rec   *recorder
	logs  *syncBuffer
	ctx   context.Context
}

// newEnv builds a bank, the app and a server; every response is checked
// for card numbers when the test ends.
func newEnv(t testing.TB) *env {
	t.Helper()
	w := banktest.New(t)
	clk := &clock{}
	clk.Set(time.Now().Add(time.Hour).Truncate(time.Minute))
	w.Bank.Now = clk.Now
	logs := &syncBuffer{}
	log := slog.New(katong.NewRedactingHandler(slog.NewTextHandler(logs, nil)))
	app := bankapp.New(w.Bank, log)
	mux := http.NewServeMux()
	app.Register(mux)
	srv := httptest.NewServer(web.Middleware(log, mux))
	t.Cleanup(srv.Close)
	e := &env{t: t, w: w, app: app, srv: srv, clock: clk, base: srv.URL + app.Prefix(),
		rec: &recorder{next: http.DefaultTransport}, logs: logs, ctx: context.Background()}
	t.Cleanup(func() { e.checkNoCardNumbers() })
	return e
}

// client is an HTTP client through the recorder that does not follow
// redirects and keeps no cookies.
func (e *env) client() *http.Client {
	return &http.Client{Transport: e.rec, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// browser is a client with a cookie jar that follows redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: e.rec, Jar: jar, Timeout: 30 * time.Second}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// do sends a request; body is JSON-encoded unless it is a string or []byte.
func (e *env) do(c *http.Client, method, url, token string, body any, hdr ...string) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// api calls the JSON API: path is relative to /api/v1.
func (e *env) api(method, path, token string, body any, hdr ...string) *response {
	e.t.Helper()
	return e.do(e.client(), method, e.base+"/api/v1"+path, token, body, hdr...)
}

// login logs a person in through the API and returns the token.
func (e *env) login(p banktest.Person) string {
	e.t.Helper()
	r := e.api("POST", "/sessions", "", map[string]string{"mobile": p.Mobile, "password": p.Password, "device": "test-device"})
	if r.Status != http.StatusCreated {
		e.t.Fatalf("login %s: %s", p.Mobile, r)
	}
	var s struct{ Token string }
	e.decode(r, &s)
	return s.Token
}

func (e *env) decode(r *response, v any) {
	e.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		e.t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json answer and checks its headers.
func (e *env) problem(r *response, status int, code katong.Code) *web.Problem {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status = %d; want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Fatalf("Content-Type = %q; want application/problem+json", ct)
	}
	var p web.Problem
	e.decode(r, &p)
	if p.Code != string(code) {
		e.t.Fatalf("code = %q; want %q: %s", p.Code, code, r.Body)
	}
	if p.Status != status || p.MessageZH == "" || p.MessageEN == "" || p.RequestID == "" {
		e.t.Fatalf("incomplete problem: %s", r.Body)
	}
	return &p
}

var requestIDField = regexp.MustCompile(`,?"request_id":"[a-z2-7]*"`)

// withoutRequestID removes the correlation id from a problem body.
func withoutRequestID(b []byte) string { return requestIDField.ReplaceAllString(string(b), "") }

// checkNoCardNumbers is S1: no response (headers or body) and no log
// line holds a Luhn-valid 13–19 digit run or a test person's card or ID
// number.
func (e *env) checkNoCardNumbers() {
	e.t.Helper()
	var secrets []string
	for _, p := range []banktest.Person{e.w.Alice, e.w.Bob, e.w.Frozen} {
		secrets = append(secrets, p.PAN, testkit.Spaced(p.PAN), p.IDNumber)
	}
	check := func(where, s string) { testkit.CheckNoCardNumbers(e.t, where, s, secrets...) }
	for _, x := range e.rec.exchanges() {
		where := x.Method + " " + x.Path
		check(where+" body", string(x.Body))
		for k, v := range x.Header {
			check(where+" header "+k, strings.Join(v, "\n"))
		}
	}
	check("log", e.logs.String())
}

// seed writes records for Alice on twelve days, one a day at 09:00
// Shanghai time, starting tomorrow, and a pending hold; the clock then
// stands at 10:32 on the day after the last record. It returns the days.
func (e *env) seed() []time.Time {
	e.t.Helper()
	day0 := time.Now().In(katong.Shanghai).AddDate(0, 0, 1)
	day0 = time.Date(day0.Year(), day0.Month(), day0.Day(), 9, 0, 0, 0, katong.Shanghai)
	clk := &clock{}
	l := ledger.New(e.w.Bank.DB.Ledger(), ledger.Options{Now: clk.Now})
	defer l.Close()
	a := e.w.Alice.Account
	var days []time.Time
	for i := 0; i < 12; i++ {
		d := day0.AddDate(0, 0, i)
		days = append(days, d)
		clk.Set(d)
		r := ledger.Request{Client: "bankapp-test", Key: fmt.Sprintf("seed-%d", i), Memo: fmt.Sprintf("记录 %d", i)}
		switch i % 3 {
		case 0:
			r.Kind, r.To, r.Amount = katong.TxnSalary, a, katong.Amount(500000+i)
		case 1:
			r.Kind, r.From, r.Amount = katong.TxnPayment, a, katong.Amount(1234*i)
		case 2:
			r.Kind, r.From, r.Amount = katong.TxnWithdrawal, a, 10000
		}
		if _, err := l.Do(e.ctx, r); err != nil {
			e.t.Fatalf("seed %d: %v", i, err)
		}
	}
	clk.Set(day0.AddDate(0, 0, 12))
	if _, err := l.Do(e.ctx, ledger.Request{Client: "bankapp-test", Key: "hold", Kind: katong.TxnHold, From: a,
		Amount: 8800, Memo: "酒店预授权"}); err != nil {
		e.t.Fatal(err)
	}
	last := day0.AddDate(0, 0, 12)
	e.clock.Set(time.Date(last.Year(), last.Month(), last.Day(), 10, 32, 0, 0, katong.Shanghai))
	return days
}

// seedMore writes n more deposits for Alice, a minute apart from now on.
func (e *env) seedMore(n int) {
	e.t.Helper()
	l := ledger.New(e.w.Bank.DB.Ledger(), ledger.Options{Now: e.clock.Now})
	defer l.Close()
	for i := 0; i < n; i++ {
		e.clock.Advance(time.Minute)
		if _, err := l.Do(e.ctx, ledger.Request{Client: "bankapp-test", Key: fmt.Sprintf("more-%d", i),
			Kind: katong.TxnDeposit, To: e.w.Alice.Account, Amount: 100, Memo: "零钱存入"}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// balanceOf reads an account's balance straight from the ledger.
func (e *env) balanceOf(id katong.AccountID) *katong.Balance {
	e.t.Helper()
	b, err := e.w.Bank.Ledger.Balance(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// pageURL is a page path under /app.
func (e *env) pageURL(path string) string { return e.base + "/app" + path }

// form posts a form.
func (e *env) form(c *http.Client, path string, v url.Values, hdr ...string) *response {
	e.t.Helper()
	hdr = append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)
	req, err := http.NewRequest("POST", e.pageURL(path), strings.NewReader(v.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// get fetches a page.
func (e *env) get(c *http.Client, path string) *response {
	e.t.Helper()
	return e.do(c, "GET", e.pageURL(path), "", nil)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf finds the form token in a page.
func (e *env) csrf(page []byte) string {
	e.t.Helper()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		e.t.Fatalf("no csrf field in %s", page)
	}
	return string(m[1])
}

// pageLogin logs a person in with the log-in form and returns the
// browser, now carrying the session cookie.
func (e *env) pageLogin(p banktest.Person) *http.Client {
	e.t.Helper()
	c := e.browser()
	r := e.get(c, "/")
	if r.Status != 200 {
		e.t.Fatalf("login page: %s", r)
	}
	r = e.form(c, "/login", url.Values{"csrf": {e.csrf(r.Body)}, "mobile": {p.Mobile}, "password": {p.Password}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "tiles") {
		e.t.Fatalf("log-in did not reach the accounts: %s", r)
	}
	return c
}

// cookie returns the value of a cookie the jar holds for the app.
func (e *env) cookie(c *http.Client, name string) string {
	u, _ := url.Parse(e.base + "/app/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
