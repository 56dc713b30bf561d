package teller_test

import (
	"context"
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
	"katong/banktest"
	"katong/teller"
	"katong/testkit"
	"katong/web"
)

// env is a test bank with the console served over real HTTP. Every
// response body any client of it reads is checked for card and ID numbers
// (S1) when the test ends.
type env struct {
	t      *testing.T
	w      *banktest.World
	srv    *httptest.Server
	prefix string // URL of the console, no trailing slash

	mu     sync.Mutex
	bodies int
	logs   *syncBuffer
}

type syncBuffer = testkit.SyncBuffer

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, banktest.New(t))
}

// newEnvOn serves the console of the world w.
func newEnvOn(t *testing.T, w *banktest.World) *env {
	t.Helper()
	logs := &syncBuffer{}
	// The console's own logger is plain: it must never be given a number.
	// The shared middleware logs request paths, which a client may fill
	// with anything; production runs it behind the redactor, as here.
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	teller.New(w.Bank, log).Register(mux)
	srv := httptest.NewServer(web.Middleware(slog.New(katong.NewRedactingHandler(log.Handler())), mux))
	t.Cleanup(srv.Close)
	e := &env{t: t, w: w, srv: srv, prefix: srv.URL + "/banks/galaxy/teller", logs: logs}
	t.Cleanup(func() {
		// S3/S4: no clear card or ID number in the logs either.
		checkNoNumbers(t, "log", logs.String(), e.canaries())
	})
	return e
}

// canaries are the clear numbers that must never be shown or logged.
func (e *env) canaries() []string {
	var out []string
	for _, p := range []banktest.Person{e.w.Alice, e.w.Bob, e.w.Frozen} {
		out = append(out, p.PAN, testkit.Spaced(p.PAN), p.IDNumber, strings.ToLower(p.IDNumber))
	}
	return append(out, unknownPAN, testkit.Spaced(unknownPAN))
}

// unknownPAN is a Luhn-valid card number of the test bank's BIN that no
// one holds.
var unknownPAN = testkit.WithLuhn("622202000000004")

// checkNoNumbers is S1 (testkit.CheckNoCardNumbers).
func checkNoNumbers(t testing.TB, what, s string, canaries []string) {
	t.Helper()
	testkit.CheckNoCardNumbers(t, what, s, canaries...)
}

// resp is a response, read.
type resp struct {
	code   int
	body   string
	header http.Header
	loc    string
}

// client is a browser without JavaScript: a cookie jar, no automatic
// redirects, and the page's CSRF token remembered.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
	// cookie, if set, is sent as the teller session cookie instead of the jar's.
	cookie string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func (c *client) do(req *http.Request) *resp {
	c.e.t.Helper()
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "katong_teller", Value: c.cookie})
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	r := &resp{code: res.StatusCode, body: string(b), header: res.Header, loc: res.Header.Get("Location")}
	checkNoNumbers(c.e.t, req.Method+" "+req.URL.Path, r.body, c.e.canaries())
	c.e.mu.Lock()
	c.e.bodies++
	c.e.mu.Unlock()
	if m := csrfField.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

// get fetches a path of the console ("" is the console itself).
func (c *client) get(path string) *resp {
	c.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.url(path), nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	if strings.HasPrefix(path, "/banks/") {
		return c.e.srv.URL + path
	}
	return c.e.prefix + path
}

// post sends a form, with the remembered CSRF token unless the form has
// one (an explicit empty "csrf" sends none).
func (c *client) post(path string, form url.Values) *resp {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login logs a staff member in and loads the home page.
func (e *env) login(username string) *client {
	e.t.Helper()
	c := e.client()
	if r := c.get("/login"); r.code != http.StatusOK {
		e.t.Fatalf("GET login = %d", r.code)
	}
	r := c.post("/login", url.Values{"username": {username}, "password": {e.w.StaffPassword}})
	if r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/" {
		e.t.Fatalf("login %s = %d %q; want 303 to the console", username, r.code, r.loc)
	}
	if r := c.get("/"); r.code != http.StatusOK {
		e.t.Fatalf("home after login = %d", r.code)
	}
	return c
}

// inquire looks up a card at the counter and returns the visit path the
// console sends the teller to.
func (c *client) inquire(p banktest.Person) string {
	c.e.t.Helper()
	r := c.post("/inquiry", url.Values{"card_number": {p.PAN}, "id_number": {p.IDNumber}})
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/banks/galaxy/teller/visits/") {
		c.e.t.Fatalf("inquiry = %d %q; want 303 to a visit\n%s", r.code, r.loc, r.body)
	}
	return r.loc
}

// field returns the value of the named input inside the element with id
// (a form), or "".
func field(body, id, name string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest, "</form>"); j >= 0 {
		rest = rest[:j]
	}
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(rest)
	if m == nil {
		return ""
	}
	return m[1]
}

// text returns the text of the element with id (first level, tags removed).
func text(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	rest = rest[strings.Index(rest, ">")+1:]
	if j := strings.Index(rest, "</"); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}

// errCode returns the code of the page's error box, or "".
func errCode(body string) string {
	m := regexp.MustCompile(`id="error" data-code="([A-Z_]+)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// lastAudit returns the newest audit record.
func (e *env) lastAudit() katongRecord {
	e.t.Helper()
	recs, err := e.w.Bank.Auth.AuditLog(context.Background(), 0, 1)
	if err != nil || len(recs) == 0 {
		e.t.Fatalf("audit log: %v (%d records)", err, len(recs))
	}
	r := recs[0]
	return katongRecord{Channel: string(r.Channel), Actor: r.Actor, Action: r.Action, Card: r.Card, Result: r.Result, Detail: r.Detail}
}

type katongRecord struct {
	Channel, Actor, Action, Card, Result, Detail string
}

// booked returns an account's booked balance and status straight from the ledger.
func (e *env) account(id katong.AccountID) *katong.Account {
	e.t.Helper()
	a, err := e.w.Bank.Ledger.Store().Account(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// fakeTB records failures instead of failing.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Errorf(string, ...any) { f.failed = true }

// TestCheckNoNumbers is the negative control of the S1 scan: it must catch
// a card number however it is written, and pass masked ones.
func TestCheckNoNumbers(t *testing.T) {
	for _, s := range []string{"卡号6222021234567894。", "<dd>6222 0212 3456 7894</dd>", "x 11010519491231002X"} {
		f := &fakeTB{TB: t}
		checkNoNumbers(f, "sample", s, []string{"11010519491231002X"})
		if !f.failed {
			t.Errorf("checkNoNumbers(%q) passed; want a failure", s)
		}
	}
	for _, s := range []string{"622202******7894", "6222 **** **** 7894", "2026-03-02 09:00:00", "¥1,205.07", "6222021234567890"} {
		f := &fakeTB{TB: t}
		checkNoNumbers(f, "sample", s, nil)
		if f.failed {
			t.Errorf("checkNoNumbers(%q) failed; want a pass", s)
		}
	}
}
