package openbanking_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	"testing"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"katong"
	"katong/banktest"
	"katong/openbanking"
	"katong/sqlstore"
	"katong/testkit"
	"katong/web"
)

const specFile = "../../shared/specs/obie-v4.0.0/account-info-openapi.yaml"

// ---- the OpenAPI document (NOTES.md recipe: regexp2 for the one ECMA pattern) ----

type ecma struct{ re *regexp2.Regexp }

func (m ecma) MatchString(s string) bool { ok, err := m.re.MatchString(s); return err == nil && ok }

func ecmaRegex(expr string) (openapi3.RegexMatcher, error) {
	re, err := regexp2.Compile(expr, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecma{re}, nil
}

// absoluteURI makes format: uri real for Links (kin-openapi does not check it).
type absoluteURI struct{}

func (absoluteURI) Validate(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("not an absolute URI: %q", s)
	}
	return nil
}

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadSpec(t testing.TB) routers.Router {
	t.Helper()
	spec.once.Do(func() {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		spec.doc, spec.err = loader.LoadFromFile(specFile)
		if spec.err != nil {
			return
		}
		if spec.err = spec.doc.Validate(context.Background(), openapi3.SetRegexCompiler(ecmaRegex)); spec.err != nil {
			return
		}
		spec.router, spec.err = gorillamux.NewRouter(spec.doc)
	})
	if spec.err != nil {
		t.Fatalf("load %s: %v", specFile, spec.err)
	}
	return spec.router
}

// obCodes are the v4 error codes of OB_Internal_CodeSet (OBExternalStatusReason1Code
// with an HTTP status category).
var obCodes = map[string]bool{}

func init() {
	for i := 0; i <= 29; i++ {
		obCodes[fmt.Sprintf("U%03d", i)] = true
	}
}

// specCheck checks one AIS answer against the OpenAPI document: status
// declared, headers, body schema (strict date-times, absolute URIs). It
// returns the operation's id; ok is false when the spec has no such
// operation (a 405 or an undefined path).
func specCheck(t testing.TB, method, path string, status int, hdr http.Header, body []byte) (op string, ok bool, err error) {
	t.Helper()
	router := loadSpec(t)
	const prefix = "/banks/galaxy"
	req := httptest.NewRequest(method, "https://bank.example"+strings.TrimPrefix(path, prefix), nil)
	req.Header.Set("Authorization", "Bearer x")
	route, params, ferr := router.FindRoute(req)
	if ferr != nil {
		return "", false, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 hdr,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, RegexCompiler: ecmaRegex,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator("uri", absoluteURI{})}},
	}
	in.SetBodyBytes(body)
	return route.Operation.OperationID, true, openapi3filter.ValidateResponse(context.Background(), in)
}

// ---- S1: no card number in any answer ----

// checkNoPAN fails if the text holds a Luhn-valid run of 13–19 digits
// (S1), or any test card or ID number in any spelling.
func checkNoPAN(t testing.TB, what string, text []byte, w *banktest.World) {
	t.Helper()
	testkit.CheckNoCardNumbers(t, what, string(text), w.Alice.PAN, w.Bob.PAN, w.Frozen.PAN,
		w.Alice.IDNumber, w.Bob.IDNumber, w.Frozen.IDNumber)
}

// ---- the environment ----

type cred struct{ id, secret string }

type env struct {
	t      *testing.T
	w      *banktest.World
	ob     *openbanking.Server
	srv    *httptest.Server
	base   string // server URL + /banks/galaxy
	clock  *testkit.Clock
	wallet cred // a payments client
	reader cred // an AIS-only client
	cb     string
	mu     sync.Mutex
	seen   map[string]bool // AIS operations answered, for coverage
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvOn(t, nil) }

// newEnvOn builds the environment on db (a fresh SQLite one if nil).
func newEnvOn(t *testing.T, db *sqlstore.DB) *env {
	t.Helper()
	var w *banktest.World
	if db == nil {
		w = banktest.New(t)
	} else {
		w = banktest.NewOn(t, db)
	}
	e := &env{t: t, w: w, clock: testkit.NewClock(time.Now()), seen: map[string]bool{},
		wallet: cred{"wallet", "wallet-secret-0123456789"}, reader: cred{"reader", "reader-secret-0123456789"}}
	w.Bank.Now = e.clock.Now
	mux := http.NewServeMux()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.srv = httptest.NewServer(web.Middleware(log, mux))
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/banks/galaxy"
	e.cb = e.srv.URL + "/cb"
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>callback</title><p id=cb>callback</p>")
	})
	e.ob = openbanking.New(w.Bank, []openbanking.Client{
		{ID: e.wallet.id, Name: "卡通钱包", Secret: e.wallet.secret, RedirectURIs: []string{e.cb}, Payments: true},
		{ID: e.reader.id, Name: "Reader App", Secret: e.reader.secret, RedirectURIs: []string{e.cb}},
	}, log)
	e.ob.Register(mux)
	return e
}

// resp is an answer read whole.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends a request and reads the answer, checking what every answer
// must be: no card number; on the API, an interaction id and no-store.
func (e *env) do(req *http.Request) *resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := &resp{Status: res.StatusCode, Header: res.Header, Body: body}
	checkNoPAN(e.t, req.Method+" "+req.URL.Path, body, e.w)
	return r
}

type opt func(*http.Request)

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }
func noHeader(k string) opt  { return func(r *http.Request) { r.Header.Del(k) } }

// api calls the Open Banking API (path relative to base, e.g.
// "/open-banking/v4.0/aisp/accounts") with a bearer token. AIS answers are
// validated against the OpenAPI document and the conformance rules every
// answer must keep.
func (e *env) api(method, path, token string, body any, opts ...opt) *resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			buf, _ := json.Marshal(b)
			rd = bytes.NewReader(buf)
		}
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	iid := katong.NewKey()
	req.Header.Set("x-fapi-interaction-id", iid)
	for _, o := range opts {
		o(req)
	}
	r := e.do(req)
	t := e.t
	// The interaction id: echoed when sent, a fresh one otherwise (§4.3).
	got := r.Header.Get("x-fapi-interaction-id")
	if sent := req.Header.Get("x-fapi-interaction-id"); sent != "" && got != sent {
		t.Errorf("%s %s: x-fapi-interaction-id = %q; want the request's %q", method, path, got, sent)
	} else if got == "" {
		t.Errorf("%s %s: no x-fapi-interaction-id", method, path)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q; want no-store", method, path, cc)
	}
	if r.Status >= 400 {
		if r.Header.Get("X-Katong-Code") == "" {
			t.Errorf("%s %s → %d: no X-Katong-Code", method, path, r.Status)
		}
		if len(r.Body) > 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			var eb struct {
				Errors []struct{ ErrorCode string }
			}
			if err := json.Unmarshal(r.Body, &eb); err != nil || len(eb.Errors) == 0 {
				t.Errorf("%s %s → %d: error body is not OBErrorResponse1: %s", method, path, r.Status, r.Body)
			}
			for _, x := range eb.Errors {
				if !obCodes[x.ErrorCode] {
					t.Errorf("%s %s → %d: ErrorCode %q is not in the OB code set", method, path, r.Status, x.ErrorCode)
				}
			}
		}
	}
	if r.Status < 300 && len(r.Body) > 0 {
		var lm struct {
			Links map[string]string
			Meta  *json.RawMessage
		}
		json.Unmarshal(r.Body, &lm)
		if lm.Links["Self"] == "" || lm.Meta == nil {
			t.Errorf("%s %s: an answer without Links.Self or Meta: %s", method, path, r.Body)
		}
		for k, v := range lm.Links {
			if u, err := url.Parse(v); err != nil || !u.IsAbs() {
				t.Errorf("%s %s: Links.%s = %q is not absolute", method, path, k, v)
			}
		}
	}
	if strings.HasPrefix(path, "/open-banking/v4.0/aisp/") {
		u, _ := url.Parse(e.base + path)
		op, ok, err := specCheck(t, method, u.Path, r.Status, r.Header, r.Body)
		if err != nil {
			t.Errorf("%s %s → %d does not match the spec: %v\nbody: %s", method, path, r.Status, err, r.Body)
		}
		if ok {
			e.mu.Lock()
			e.seen[fmt.Sprintf("%s %d", op, r.Status)] = true
			e.mu.Unlock()
		}
	}
	return r
}

// token calls the token endpoint with HTTP Basic client authentication.
func (e *env) token(c cred, form url.Values) (*resp, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	r := e.do(req)
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	if r.Status >= 400 && r.Header.Get("X-Katong-Code") == "" {
		e.t.Errorf("token endpoint → %d without X-Katong-Code", r.Status)
	}
	return r, m
}

// appToken gets a client-credentials token.
func (e *env) appToken(c cred) string {
	e.t.Helper()
	r, m := e.token(c, url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts"}})
	if r.Status != 200 {
		e.t.Fatalf("client credentials: %d %s", r.Status, r.Body)
	}
	return m["access_token"].(string)
}

var allPerms = []string{"ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"}

// createConsent posts a consent and returns its id.
func (e *env) createConsent(app string, data map[string]any) string {
	e.t.Helper()
	r := e.api("POST", "/open-banking/v4.0/aisp/account-access-consents", app, map[string]any{"Data": data, "Risk": map[string]any{}})
	if r.Status != 201 {
		e.t.Fatalf("create consent: %d %s", r.Status, r.Body)
	}
	var c struct {
		Data struct{ ConsentId, Status string }
	}
	r.json(e.t, &c)
	if c.Data.Status != "AWAU" {
		e.t.Fatalf("new consent status %q; want AWAU", c.Data.Status)
	}
	return c.Data.ConsentId
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) get(u string) *resp {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return b.send(req)
}

func (b *browser) post(u string, form url.Values) *resp {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

func (b *browser) send(req *http.Request) *resp {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	checkNoPAN(b.e.t, req.Method+" "+req.URL.Path, body, b.e.w)
	return &resp{Status: res.StatusCode, Header: res.Header, Body: body}
}

var (
	inputRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	cardRe  = regexp.MustCompile(`name="card" value="([0-9]+)"`)
)

// formOf returns the hidden fields of the page's first form.
func formOf(page []byte) url.Values {
	v := url.Values{}
	for _, m := range inputRe.FindAllSubmatch(page, -1) {
		v.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
	}
	return v
}

// authorizeURL is the authorisation request for a consent.
func (e *env) authorizeURL(c cred, consentID, challenge, state string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {e.cb}, "scope": {"accounts"},
		"state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "consent_id": {consentID}}
	return e.base + "/oauth/authorize?" + q.Encode()
}

// login logs the person in on an authorisation page (which must show the
// login form) and returns the consent page.
func (b *browser) login(authURL string, p banktest.Person) *resp {
	t := b.e.t
	t.Helper()
	page := b.get(authURL)
	if page.Status != 200 || !bytes.Contains(page.Body, []byte(`id="mobile"`)) {
		t.Fatalf("authorize: want the login form, got %d %s", page.Status, page.Body)
	}
	form := formOf(page.Body)
	form.Set("mobile", p.Mobile)
	form.Set("password", p.Password)
	r := b.post(b.e.base+"/oauth/authorize", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	page = b.get(b.e.srv.URL + r.Header.Get("Location"))
	if page.Status != 200 || !bytes.Contains(page.Body, []byte(`id="approve"`)) {
		t.Fatalf("after login: want the consent page, got %d %s", page.Status, page.Body)
	}
	return page
}

// decide posts the consent form with the chosen cards; it returns the
// redirect back to the client.
func (b *browser) decide(page *resp, action string, cards ...katong.CardID) *url.URL {
	t := b.e.t
	t.Helper()
	form := formOf(page.Body)
	form.Set("action", action)
	for _, c := range cards {
		form.Add("card", fmt.Sprint(int64(c)))
	}
	form.Set("agree", "yes")
	r := b.post(b.e.base+"/oauth/authorize", form)
	if r.Status != http.StatusFound {
		t.Fatalf("%s: %d %s", action, r.Status, r.Body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), b.e.cb) {
		t.Fatalf("%s: redirect to %q; want %s", action, r.Header.Get("Location"), b.e.cb)
	}
	return u
}

// grant is what a client holds after the customer approved a consent.
type grant struct {
	consent, access, refresh string
	app                      string
	accounts                 []string // AccountIds in order of the cards
}

// authorise runs the whole flow over HTTP for the person's cards and
// exchanges the code.
func (e *env) authorise(c cred, perms []string, p banktest.Person, extra map[string]any) grant {
	e.t.Helper()
	app := e.appToken(c)
	data := map[string]any{"Permissions": perms}
	for k, v := range extra {
		data[k] = v
	}
	id := e.createConsent(app, data)
	verifier, challenge := pkce()
	b := e.browser()
	page := b.login(e.authorizeURL(c, id, challenge, "st-1"), p)
	u := b.decide(page, "approve", p.Card.ID)
	code := u.Query().Get("code")
	if code == "" || u.Query().Get("state") != "st-1" {
		e.t.Fatalf("approve: redirect %s lacks code or state", u)
	}
	r, m := e.token(c, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {e.cb}})
	if r.Status != 200 {
		e.t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	g := grant{consent: id, access: m["access_token"].(string), refresh: m["refresh_token"].(string), app: app}
	ar := e.api("GET", "/open-banking/v4.0/aisp/accounts", g.access, nil)
	var accts struct {
		Data struct{ Account []struct{ AccountId string } }
	}
	ar.json(e.t, &accts)
	for _, a := range accts.Data.Account {
		g.accounts = append(g.accounts, a.AccountId)
	}
	if len(g.accounts) != 1 {
		e.t.Fatalf("accounts after approval: %s", ar.Body)
	}
	return g
}
