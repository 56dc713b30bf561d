package wallet_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func newJar(t testing.TB) *cookiejar.Jar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

// session is a browser-like client of the wallet's pages, logged in.
type session struct {
	e    *env
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs the user (signed up with the test password) in on the pages.
func (e *env) login(mobile string) *session {
	e.t.Helper()
	s := &session{e: e, c: &http.Client{Jar: newJar(e.t), Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	e.t.Cleanup(s.c.CloseIdleConnections)
	a := s.call("POST", "/wallet/login", url.Values{"mobile": {mobile}, "password": {password}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/wallet/me" {
		e.t.Fatalf("log-in: %d %s", a.status, a.body)
	}
	me := s.call("GET", "/wallet/me", nil)
	m := csrfRE.FindSubmatch(me.body)
	if me.status != 200 || m == nil {
		e.t.Fatalf("me: %d %s", me.status, me.body)
	}
	s.csrf = string(m[1])
	return s
}

// call fetches a page; a form (url.Values) is posted with the CSRF token.
func (s *session) call(method, path string, form any) answer {
	s.e.t.Helper()
	var req *http.Request
	var err error
	if f, ok := form.(url.Values); ok && method == "POST" {
		g := url.Values{}
		for k, v := range f {
			g[k] = v
		}
		if s.csrf != "" && g.Get("csrf") == "" {
			g.Set("csrf", s.csrf)
		}
		req, err = http.NewRequest(method, s.e.url+path, strings.NewReader(g.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, s.e.url+path, nil)
	}
	if err != nil {
		s.e.t.Fatal(err)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.e.t.Fatal(err)
	}
	s.e.mu.Lock()
	s.e.seen = append(s.e.seen, b)
	s.e.mu.Unlock()
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestPages walks the pages without a browser: zh by default and English
// on a tap, log-in, binding through the bank's page, 卡详情 with the
// balance hidden behind the eye, a payment, and the CSRF check.
func TestPages(t *testing.T) {
	e := newEnv(t, options{})
	alice := e.world.Alice
	e.user(alice.Mobile)
	s := e.login(alice.Mobile)

	login := s.call("GET", "/wallet/login", nil)
	for _, want := range []string{`lang="zh-CN"`, "登录", `<label for="mobile">`, `<label for="password">`} {
		if !strings.Contains(string(login.body), want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	en := s.call("GET", "/wallet/login?lang=en", nil)
	if !strings.Contains(string(en.body), `lang="en"`) || !strings.Contains(string(en.body), "Log in") {
		t.Errorf("?lang=en page is not English")
	}
	if again := s.call("GET", "/wallet/me", nil); !strings.Contains(string(again.body), "Bank cards") {
		t.Errorf("the language is not remembered: %s", again.body)
	}
	s.call("GET", "/wallet/me?lang=zh", nil)

	// Bind on the pages: the wallet sends the browser to the bank.
	a := s.call("POST", "/wallet/cards", url.Values{"card_number": {"6222 0212 3456 7894"}})
	to := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(to, e.bankURL+"/oauth/authorize?") ||
		!strings.Contains(to, "code_challenge_method=S256") {
		t.Fatalf("bind: %d to %q", a.status, to)
	}
	code, state := e.approve(to, alice)
	a = s.call("GET", "/wallet/bind/callback?"+url.Values{"code": {code}, "state": {state}}.Encode(), nil)
	card := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !regexp.MustCompile(`^/wallet/cards/\d+\?done=bound$`).MatchString(card) {
		t.Fatalf("callback: %d to %q: %s", a.status, card, a.body)
	}
	card = strings.TrimSuffix(card, "?done=bound")

	list := string(s.call("GET", "/wallet/cards", nil).body)
	for _, want := range []string{"星河银行", "储蓄卡", "6222 **** **** 7894", "background:#1d4ed8"} {
		if !strings.Contains(list, want) {
			t.Errorf("card list lacks %q", want)
		}
	}
	// The bank app's eye, a cookie of the same origin in the demo, is not the wallet's.
	origin, _ := url.Parse(e.url + "/")
	s.c.Jar.SetCookies(origin, []*http.Cookie{{Name: "katong_eye", Value: "show", Path: "/"}})
	detail := string(s.call("GET", card, nil).body)
	if !strings.Contains(detail, "¥ ****") || strings.Contains(detail, "1,205.07") || !strings.Contains(detail, "更新于") {
		t.Fatalf("卡详情 should hide the balance by default: %s", detail)
	}
	a = s.call("POST", "/wallet/eye", url.Values{"back": {card}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != card {
		t.Fatalf("eye: %d %q", a.status, a.header.Get("Location"))
	}
	detail = string(s.call("GET", card, nil).body)
	if !strings.Contains(detail, `id="available">¥1,205.07<`) || !strings.Contains(detail, "现金存入") && !strings.Contains(detail, "开户存入") {
		t.Fatalf("卡详情 with the eye open: %s", detail)
	}
	// Open redirects are refused.
	if a := s.call("POST", "/wallet/eye", url.Values{"back": {"//evil.example/"}}); a.header.Get("Location") != "/wallet/me" {
		t.Errorf("eye back to %q", a.header.Get("Location"))
	}

	// Pay on the pages.
	pay := string(s.call("GET", card+"/pay", nil).body)
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(pay)
	if key == nil {
		t.Fatalf("no key in the pay form: %s", pay)
	}
	a = s.call("POST", card+"/pay", url.Values{"key": {key[1]}, "amount": {"10.00"}, "reference": {"演示订单 1"}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/wallet/payments/") {
		t.Fatalf("pay: %d %s", a.status, a.body)
	}
	if p := string(s.call("GET", a.header.Get("Location"), nil).body); !strings.Contains(p, "支付成功") || !strings.Contains(p, "¥10.00") {
		t.Fatalf("payment page: %s", p)
	}
	if got := e.bankBalance(alice); got != 120507-1000 {
		t.Fatalf("bank balance = %d; want %d", got, 120507-1000)
	}
	// A bad amount is a field error, the form again.
	a = s.call("POST", card+"/pay", url.Values{"key": {key[1]}, "amount": {"1e3"}, "reference": {"x"}})
	if a.status != 400 || !strings.Contains(string(a.body), "请输入正确的金额") {
		t.Fatalf("bad amount: %d %s", a.status, a.body)
	}

	// A form without the CSRF token does nothing.
	a = s.call("POST", card+"/unbind", url.Values{"csrf": {"forged"}})
	if a.status != 400 {
		t.Fatalf("unbind without CSRF: %d", a.status)
	}
	a = s.call("POST", card+"/unbind", url.Values{})
	if a.status != http.StatusSeeOther {
		t.Fatalf("unbind: %d %s", a.status, a.body)
	}
	if a := s.call("GET", card, nil); a.status != 404 || !strings.Contains(string(a.body), "账户不存在") {
		t.Fatalf("unbound card: %d %s", a.status, a.body)
	}
	// Logged out, pages send the visitor to log in.
	s.call("POST", "/wallet/logout", url.Values{})
	if a := s.call("GET", "/wallet/me", nil); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/wallet/login") {
		t.Fatalf("after log-out: %d %q", a.status, a.header.Get("Location"))
	}
	// The log-in page leads back to the page asked for.
	a = s.call("GET", card+"?done=bound", nil)
	if to, err := url.Parse(a.header.Get("Location")); err != nil || to.Path != "/wallet/login" || to.Query().Get("next") != card {
		t.Fatalf("log-in for %s: %q", card, a.header.Get("Location"))
	}
	e.checkNoPAN(alice)
}
