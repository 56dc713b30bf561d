package wallet_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"katong"
	"katong/banktest"
	"katong/openbanking"
	"katong/secret"
	"katong/sqlstore"
	"katong/testkit"
	"katong/wallet"
	"katong/wallet/faultproxy"
	"katong/web"
)

const (
	clientID     = "katong-wallet"
	clientSecret = "wallet-client-secret-for-tests-0001"
	walletKey    = "77616c6c65742074657374207661756c74206b6579202d2d2d2d2d2d2d2d2d2d"
	password     = "wallet-user-pass-2026"
)

// options shape a test environment.
type options struct {
	deadline   time.Duration
	breaker    wallet.Breaker
	settle     time.Duration
	minVersion string
	proxy      bool      // put a fault proxy between wallet and bank
	fake       *fakeBank // a fake bank instead of the real one
	quiet      bool      // no log capture (benchmarks)
	// walletDB opens the wallet's database; default a fresh SQLite one.
	walletDB func(testing.TB) *sqlstore.DB
}

// env is a wallet and a bank, each on its own HTTP server, the wallet
// reaching the bank only through its base URL.
type env struct {
	t        testing.TB
	world    *banktest.World // the real bank (nil with a fake one)
	fake     *fakeBank
	proxy    *faultproxy.Proxy
	w        *wallet.Wallet
	db       *sqlstore.DB
	url      string // the wallet's server
	bankURL  string // the bank's base URL as the wallet sees it
	direct   string // the bank's base URL, bypassing the proxy
	bankHits atomic.Int64
	logs     *syncBuffer
	hc       *http.Client

	mu   sync.Mutex
	seen [][]byte // every answer the wallet gave, for the card-number scan
}

func newEnv(t testing.TB, o options) *env {
	t.Helper()
	e := &env{t: t, fake: o.fake, logs: &syncBuffer{}}
	var logw io.Writer = e.logs
	if o.quiet {
		logw = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))

	mux := http.NewServeMux()
	ws := httptest.NewServer(web.Middleware(log, mux))
	t.Cleanup(ws.Close)
	e.url = ws.URL
	redirect := ws.URL + "/wallet/bind/callback"

	var bank http.Handler
	if o.fake != nil {
		o.fake.redirect = redirect
		bank = o.fake
	} else {
		e.world = banktest.New(t)
		ob := openbanking.New(e.world.Bank, []openbanking.Client{{ID: clientID, Name: "卡通钱包", Secret: clientSecret,
			RedirectURIs: []string{redirect}, Payments: true}}, log)
		bmux := http.NewServeMux()
		ob.Register(bmux)
		bank = web.Middleware(log, bmux)
	}
	bs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.bankHits.Add(1)
		bank.ServeHTTP(w, r)
	}))
	t.Cleanup(bs.Close)
	host := bs.Listener.Addr().String()
	e.direct = "http://" + host + "/banks/galaxy"
	if o.proxy {
		p, err := faultproxy.New(host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		e.proxy, host = p, p.Addr()
	}
	e.bankURL = "http://" + host + "/banks/galaxy"

	v, err := secret.NewVault(walletKey)
	if err != nil {
		t.Fatal(err)
	}
	if o.minVersion == "" {
		o.minVersion = "3.2.0"
	}
	cfg := wallet.Config{
		Banks: []wallet.Partner{{ID: "galaxy", Name: "星河银行", NameEN: "Galaxy Bank", Colour: "#1d4ed8", Support: "95500",
			BINs: []string{"622202", "622208"}, BaseURL: e.bankURL, ClientID: clientID, ClientSecret: clientSecret,
			RedirectURL: redirect}},
		MinClientVersion: o.minVersion, Deadline: o.deadline, Breaker: o.breaker, Vault: v, SettleEvery: o.settle,
	}
	if o.walletDB != nil {
		e.db = o.walletDB(t)
	} else {
		e.db = banktest.SQLite(t, sqlstore.WalletSchema)
	}
	if e.w, err = wallet.New(cfg, e.db, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.w.Close)
	e.w.Register(mux)
	e.hc = &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(e.hc.CloseIdleConnections)
	return e
}

// breakerOff is a breaker that does not open in tests about other things.
var breakerOff = wallet.Breaker{Failures: 1000}

// alicePerson is Alice without a bank, for the fake bank.
func alicePerson() banktest.Person {
	return banktest.Person{Mobile: "13800138000", PAN: "6222021234567894", Password: "secret-13800138000"}
}

// answer is an HTTP answer of the wallet.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do calls the wallet's API with a bearer token (or none) and a JSON body.
func (e *env) do(method, path, token string, body any, header ...string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) answer {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.seen = append(e.seen, b)
	e.mu.Unlock()
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// json decodes the answer's body.
func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", a.status, err, a.body)
	}
	return m
}

// code is the problem's code of an error answer.
func (a answer) code() string {
	var p struct{ Code string }
	json.Unmarshal(a.body, &p)
	return p.Code
}

// want fails unless the answer has the status (and, for errors, the code).
func (a answer) want(t testing.TB, status int, code string) answer {
	t.Helper()
	if a.status != status || a.code() != code {
		t.Fatalf("answer %d %q, want %d %q: %s", a.status, a.code(), status, code, a.body)
	}
	return a
}

// user signs a new wallet user up and logs in; it returns the token.
func (e *env) user(mobile string) string {
	e.t.Helper()
	e.do("POST", "/wallet/api/v1/users", "", map[string]string{"mobile": mobile, "password": password}).want(e.t, 201, "")
	a := e.do("POST", "/wallet/api/v1/sessions", "", map[string]string{"mobile": mobile, "password": password}).want(e.t, 201, "")
	return a.json(e.t)["token"].(string)
}

// bind binds the person's card for the user's token, approving the
// consent on the bank's page as the person, and returns the card id.
func (e *env) bind(token string, p banktest.Person) int64 {
	e.t.Helper()
	a := e.do("POST", "/wallet/api/v1/bind", token, map[string]string{"card_number": p.PAN}).want(e.t, 201, "")
	code, state := e.approve(a.json(e.t)["authorize_url"].(string), p)
	c := e.do("POST", "/wallet/api/v1/bind/callback", token, map[string]string{"state": state, "code": code}).want(e.t, 201, "")
	return int64(c.json(e.t)["id"].(float64))
}

// approve plays the cardholder at the bank's authorisation page: log in,
// pick the cards, agree, approve. It returns the code and state sent back.
func (e *env) approve(authorize string, p banktest.Person) (code, state string) {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	redirect := e.url + "/wallet/bind/callback"
	var back *url.URL
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), redirect) {
			back = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	defer browser.CloseIdleConnections()
	page := e.page(browser, "GET", authorize, nil)
	if back != nil { // the fake bank approves at once
		return back.Query().Get("code"), back.Query().Get("state")
	}
	if !strings.Contains(page, `name="password"`) {
		e.t.Fatalf("the bank's page asks for no login: %.2000s", page)
	}
	form := formValues(page)
	form.Set("mobile", p.Mobile)
	form.Set("password", p.Password)
	form.Set("action", "login")
	page = e.page(browser, "POST", e.absolute(authorize, formAction(page)), form)
	if back == nil {
		form = formValues(page)
		for _, m := range regexp.MustCompile(`name="card" value="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			form.Add("card", m[1])
		}
		form.Set("agree", "yes")
		form.Set("action", "approve")
		e.page(browser, "POST", e.absolute(authorize, formAction(page)), form)
	}
	if back == nil {
		e.t.Fatalf("the bank did not send the cardholder back: %.2000s", page)
	}
	q := back.Query()
	if q.Get("code") == "" {
		e.t.Fatalf("no code in %s", q.Get("error"))
	}
	return q.Get("code"), q.Get("state")
}

// page fetches a bank page with the browser-like client.
func (e *env) page(c *http.Client, method, u string, form url.Values) string {
	e.t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = c.Get(u)
	} else {
		resp, err = c.PostForm(u, form)
	}
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (e *env) absolute(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := b.Parse(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.String()
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	actionRE = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]+)"`)
)

// formValues are the hidden inputs of the page's first form.
func formValues(page string) url.Values {
	v := url.Values{}
	if i := strings.Index(page, "</form>"); i > 0 {
		page = page[:i]
	}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

func formAction(page string) string {
	m := actionRE.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// balance reads the person's balance at the bank itself.
func (e *env) bankBalance(p banktest.Person) katong.Amount {
	e.t.Helper()
	b, err := e.world.Bank.Ledger.Balance(e.t.Context(), p.Account)
	if err != nil {
		e.t.Fatal(err)
	}
	return b.Booked
}

var digitRun = regexp.MustCompile(`\d{13,19}`)

// checkNoPAN fails if a Luhn-valid card number, or any of the people's
// card numbers, is in what the wallet answered or logged (S1, S4).
func (e *env) checkNoPAN(people ...banktest.Person) {
	e.t.Helper()
	e.mu.Lock()
	all := append(append([][]byte(nil), e.seen...), e.logs.Bytes())
	e.mu.Unlock()
	for _, b := range all {
		for _, p := range people {
			if bytes.Contains(b, []byte(p.PAN)) {
				e.t.Fatalf("card number %s leaked: %.300s", katong.MaskCard(p.PAN), b)
			}
		}
		for _, run := range digitRun.FindAll(b, -1) {
			if len(run) >= 16 && katong.Luhn(string(run)) {
				e.t.Fatalf("a Luhn-valid number leaked: %.300s", b)
			}
		}
	}
}

// syncBuffer is a log sink tests can read.
type syncBuffer = testkit.SyncBuffer
