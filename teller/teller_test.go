package teller_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/bank"
	"katong/testkit"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	c := e.client()

	r := c.get("/login")
	if r.code != http.StatusOK || !strings.Contains(r.body, `<label for="username">`) || !strings.Contains(r.body, `<label for="password">`) {
		t.Fatalf("login page = %d, want a form with labels\n%s", r.code, r.body)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	if c.csrf == "" {
		t.Fatal("login form has no CSRF token")
	}

	t.Run("ErrCSRF", func(t *testing.T) {
		r := e.client().post("/login", url.Values{"username": {"t001"}, "password": {e.w.StaffPassword}, "csrf": {""}})
		if r.code != http.StatusForbidden || errCode(r.body) != string(katong.EForbidden) {
			t.Fatalf("login without CSRF = %d %s; want 403 FORBIDDEN", r.code, errCode(r.body))
		}
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		r := c.post("/login", url.Values{"username": {"t001"}, "password": {"not-the-password-123"}})
		if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "用户名或密码错误") {
			t.Fatalf("wrong password = %d; want 401 with 用户名或密码错误\n%s", r.code, r.body)
		}
		if strings.Contains(r.body, "not-the-password-123") {
			t.Error("the typed password is echoed")
		}
		if !strings.Contains(r.body, `value="t001"`) {
			t.Error("the username is not kept in the form")
		}
		// The same answer for a user that does not exist.
		r2 := c.post("/login", url.Values{"username": {"nobody"}, "password": {"not-the-password-123"}})
		if r2.code != r.code || errCode(r2.body) != errCode(r.body) {
			t.Errorf("unknown user = %d %s; wrong password = %d %s", r2.code, errCode(r2.body), r.code, errCode(r.body))
		}
	})

	t.Run("UsernameNotEchoedIfCardNumber", func(t *testing.T) {
		r := c.post("/login", url.Values{"username": {e.w.Alice.PAN}, "password": {"x"}})
		if r.code != http.StatusUnauthorized {
			t.Fatalf("= %d; want 401", r.code)
		}
		// checkNoNumbers (in client.do) fails the test if the PAN is echoed.
	})

	r = c.post("/login", url.Values{"username": {"t001"}, "password": {e.w.StaffPassword}})
	if r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/" {
		t.Fatalf("login = %d %q; want 303 to the console", r.code, r.loc)
	}
	var session *http.Cookie
	for _, ck := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(ck, "katong_teller=") {
			cs, _ := http.ParseSetCookie(ck)
			session = cs
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/", session)
	}
	if len(session.Value) < 43 {
		t.Errorf("session token %d characters; want ≥ 256 bits", len(session.Value))
	}
	home := c.get("/")
	if home.code != http.StatusOK || !strings.Contains(home.body, "柜员一 (t001)") || !strings.Contains(home.body, "南京路支行") {
		t.Fatalf("home = %d; want the teller's name and branch\n%s", home.code, home.body)
	}
	if !strings.Contains(home.body, `<label for="card_number">`) || !strings.Contains(home.body, `<label for="id_number">`) {
		t.Error("inquiry form lacks labels")
	}
	if strings.Contains(home.body, `/audit"`) || strings.Contains(home.body, `/status"`) {
		t.Error("a teller's navigation links to supervisor pages")
	}
	// Logged in, the login page sends home.
	if r := c.get("/login"); r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/" {
		t.Errorf("login page when logged in = %d %q", r.code, r.loc)
	}
	// Without a trailing slash.
	if r := c.get(""); r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/" {
		t.Errorf("GET console without slash = %d %q", r.code, r.loc)
	}

	t.Run("Logout", func(t *testing.T) {
		old := session.Value
		r := c.post("/logout", nil)
		if r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/login" {
			t.Fatalf("logout = %d %q", r.code, r.loc)
		}
		// The old token is dead server-side, even if a browser kept it.
		stale := e.client()
		stale.cookie = old
		if r := stale.get("/"); r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/login" {
			t.Fatalf("old token after logout = %d %q; want 303 to login", r.code, r.loc)
		}
		if _, err := e.w.Bank.Auth.Session(context.Background(), "staff", old, bank.StaffSessions); katong.ErrorCode(err) != katong.EUnauthorized {
			t.Errorf("session after logout: %v", err)
		}
	})

	t.Run("RotatedOnLogin", func(t *testing.T) {
		first := sessionToken(t, e.login("t001"))
		lf := e.client()
		lf.get("/login")
		lf.cookie = first // log in again from a browser that still has the old session
		if r := lf.post("/login", url.Values{"username": {"t001"}, "password": {e.w.StaffPassword}}); r.code != http.StatusSeeOther {
			t.Fatalf("re-login = %d", r.code)
		}
		if _, err := e.w.Bank.Auth.Session(context.Background(), "staff", first, bank.StaffSessions); katong.ErrorCode(err) != katong.EUnauthorized {
			t.Errorf("the session presented at re-login still works: %v", err)
		}
	})
}

// sessionToken returns the teller session token in the client's jar.
func sessionToken(t *testing.T, c *client) string {
	t.Helper()
	u, _ := url.Parse(c.e.prefix)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "katong_teller" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestScopes: a customer's session token never works at the counter, and a
// staff token never works as a customer's (S9).
func TestScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	custTok, _, err := e.w.Bank.Login(ctx, e.w.Alice.Mobile, e.w.Alice.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.cookie = custTok
	if r := c.get("/"); r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/login" {
		t.Errorf("customer token at the counter = %d %q; want 303 to login", r.code, r.loc)
	}
	if r := c.post("/inquiry", url.Values{"card_number": {e.w.Alice.PAN}, "id_number": {e.w.Alice.IDNumber}}); r.code != http.StatusUnauthorized {
		t.Errorf("customer token posting an inquiry = %d; want 401", r.code)
	}
	staff := e.login("t001")
	if _, err := e.w.Bank.Auth.Session(ctx, "customer", sessionToken(t, staff), bank.CustomerSessions); katong.ErrorCode(err) != katong.EUnauthorized {
		t.Errorf("staff token as a customer session: %v; want UNAUTHENTICATED", err)
	}
}

// TestRoleMatrix runs every route as nobody, a customer, a teller and a
// supervisor (S9).
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	custTok, _, err := e.w.Bank.Login(ctx, e.w.Bob.Mobile, e.w.Bob.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	teller, super := e.login("t001"), e.login("s001")
	visits := map[string]string{"teller": teller.inquire(e.w.Alice), "supervisor": super.inquire(e.w.Alice)}
	nobody, customer := e.client(), e.client()
	customer.cookie = custTok
	clients := map[string]*client{"none": nobody, "customer": customer, "teller": teller, "supervisor": super}

	type route struct {
		method, path string // path "{visit}" is the role's own visit
		form         url.Values
		want         map[string]int // by role; none and customer share "anon"
	}
	ok, see := http.StatusOK, http.StatusSeeOther
	routes := []route{
		{"GET", "/", nil, map[string]int{"anon": see, "teller": ok, "supervisor": ok}},
		{"POST", "/inquiry", url.Values{"card_number": {e.w.Alice.PAN}, "id_number": {e.w.Alice.IDNumber}},
			map[string]int{"anon": 401, "teller": see, "supervisor": see}},
		{"GET", "{visit}", nil, map[string]int{"anon": see, "teller": ok, "supervisor": ok}},
		{"POST", "{visit}/refresh", nil, map[string]int{"anon": 401, "teller": see, "supervisor": see}},
		{"GET", "{visit}/receipt", nil, map[string]int{"anon": see, "teller": ok, "supervisor": ok}},
		{"POST", "{visit}/deposit", url.Values{"amount": {"1"}, "key": {"{key}"}}, map[string]int{"anon": 401, "teller": ok, "supervisor": ok}},
		{"POST", "{visit}/withdraw", url.Values{"amount": {"1"}, "key": {"{key}"}}, map[string]int{"anon": 401, "teller": ok, "supervisor": ok}},
		{"POST", "{visit}/status", url.Values{"action": {"unfreeze"}}, map[string]int{"anon": 401, "teller": 403, "supervisor": see}},
		{"GET", "/status", nil, map[string]int{"anon": see, "teller": 403, "supervisor": ok}},
		{"POST", "/status", url.Values{"card_number": {e.w.Bob.PAN}, "action": {"freeze"}, "reason": {"异常交易"}},
			map[string]int{"anon": 401, "teller": 403, "supervisor": ok}},
		{"GET", "/audit", nil, map[string]int{"anon": see, "teller": 403, "supervisor": ok}},
		{"POST", "/logout", nil, map[string]int{"anon": 401, "teller": see, "supervisor": see}},
	}
	for _, rt := range routes {
		for _, role := range []string{"none", "customer", "teller", "supervisor"} {
			c := clients[role]
			want := rt.want[role]
			if role == "none" || role == "customer" {
				want = rt.want["anon"]
			}
			v := visits[role]
			if v == "" {
				v = visits["teller"] // someone else's: refused before it is looked at
			}
			path := strings.Replace(rt.path, "{visit}", v, 1)
			var r *resp
			if rt.method == "GET" {
				r = c.get(path)
			} else {
				form := url.Values{}
				for k, vs := range rt.form {
					form[k] = append([]string(nil), vs...)
				}
				if form.Get("key") == "{key}" {
					form.Set("key", katong.NewKey())
				}
				r = c.post(path, form)
			}
			if r.code != want {
				t.Errorf("%s %s as %s = %d; want %d\n%s", rt.method, rt.path, role, r.code, want, r.body)
			}
			if want == see && (role == "none" || role == "customer") && r.loc != "/banks/galaxy/teller/login" {
				t.Errorf("%s %s as %s redirects to %q; want the login page", rt.method, rt.path, role, r.loc)
			}
			if want == 403 && errCode(r.body) != string(katong.EForbidden) {
				t.Errorf("%s %s as %s: error %q; want FORBIDDEN", rt.method, rt.path, role, errCode(r.body))
			}
		}
		if rt.path == "/status" && rt.method == "POST" {
			// The supervisor froze Bob; the teller's and others' tries did nothing before.
			if a := e.account(e.w.Bob.Account); a.Status != katong.StatusFrozen {
				t.Errorf("Bob's account is %s after the supervisor's freeze", a.Status)
			}
		}
	}
}

// TestCSRF: every POST of a logged-in staff member needs the session's
// token; another session's token does not do.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	a, b := e.login("t001"), e.login("s001")
	form := url.Values{"card_number": {e.w.Alice.PAN}, "id_number": {e.w.Alice.IDNumber}}
	for name, tok := range map[string]string{"none": "", "other session's": b.csrf, "garbage": "x"} {
		f := url.Values{"csrf": {tok}}
		for k, v := range form {
			f[k] = v
		}
		if r := a.post("/inquiry", f); r.code != http.StatusForbidden || errCode(r.body) != string(katong.EForbidden) {
			t.Errorf("inquiry with %s CSRF token = %d %s; want 403", name, r.code, errCode(r.body))
		}
	}
	if r := a.post("/logout", url.Values{"csrf": {""}}); r.code != http.StatusForbidden {
		t.Errorf("logout without CSRF = %d; want 403", r.code)
	}
	if r := a.get("/"); r.code != http.StatusOK {
		t.Errorf("session ended by a logout without CSRF token: %d", r.code)
	}
}

// TestIdleTimeout: 15 minutes without a request end a staff session (S7);
// activity keeps it alive.
func TestIdleTimeout(t *testing.T) {
	e := newEnv(t)
	clk := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, katong.Shanghai))
	e.w.Bank.Now = clk.Now
	c := e.login("t001")
	for i := 0; i < 3; i++ {
		clk.Advance(14 * time.Minute)
		if r := c.get("/"); r.code != http.StatusOK {
			t.Fatalf("after %d × 14 minutes of activity = %d; want 200", i+1, r.code)
		}
	}
	clk.Advance(15 * time.Minute)
	if r := c.get("/"); r.code != http.StatusSeeOther || r.loc != "/banks/galaxy/teller/login" {
		t.Fatalf("after 15 idle minutes = %d %q; want 303 to login", r.code, r.loc)
	}
	r := c.post("/inquiry", url.Values{"card_number": {e.w.Alice.PAN}, "id_number": {e.w.Alice.IDNumber}})
	if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "闲置 15 分钟") {
		t.Fatalf("POST after timeout = %d; want 401 with the reason\n%s", r.code, r.body)
	}
	if !strings.Contains(r.body, `action="/banks/galaxy/teller/login"`) {
		t.Error("the 401 page offers no login form")
	}
}

// TestLanguage: zh-CN by default, English by ?lang=en, remembered by a
// cookie.
func TestLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	r := c.get("/")
	if !strings.Contains(r.body, `<html lang="zh-CN">`) || !strings.Contains(r.body, "余额查询") {
		t.Fatal("default page is not zh-CN")
	}
	if !strings.Contains(r.body, `href="/banks/galaxy/teller/?lang=en"`) {
		t.Error("no English switch")
	}
	r = c.get("/?lang=en")
	if !strings.Contains(r.body, `<html lang="en">`) || !strings.Contains(r.body, "Balance inquiry") || !strings.Contains(r.body, "Galaxy Bank") {
		t.Fatalf("?lang=en page is not English\n%s", r.body)
	}
	r = c.get("/")
	if !strings.Contains(r.body, `<html lang="en">`) {
		t.Error("the English choice is not remembered")
	}
	r = c.post("/inquiry", url.Values{"card_number": {unknownPAN}, "id_number": {e.w.Alice.IDNumber}})
	if !strings.Contains(r.body, katong.Text(katong.ENotFound, katong.EN)) {
		t.Errorf("English error text missing\n%s", r.body)
	}
	c.get("/?lang=zh")
	if r := c.get("/"); !strings.Contains(r.body, `<html lang="zh-CN">`) {
		t.Error("switching back to Chinese does not stick")
	}
}

// TestMethods: the mux answers a wrong method 405 and an unknown path 404.
func TestMethods(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	if r := c.get("/inquiry"); r.code != http.StatusMethodNotAllowed {
		t.Errorf("GET inquiry = %d; want 405 (card numbers only in POST bodies)", r.code)
	}
	if r := c.get("/nope"); r.code != http.StatusNotFound {
		t.Errorf("GET unknown = %d; want 404", r.code)
	}
}

// TestLoginLockout: wrong passwords lock the staff login (S6), a real
// user's and an unknown name's alike; while locked even the right
// password gives no session.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	for _, user := range []string{"t001", "nobody"} {
		c := e.client()
		c.get("/login")
		for i := 0; i < e.w.Bank.Auth.MaxFailures; i++ {
			if r := c.post("/login", url.Values{"username": {user}, "password": {"wrong-password-" + fmt.Sprint(i)}}); r.code != http.StatusUnauthorized {
				t.Fatalf("%s: wrong password %d = %d; want 401", user, i+1, r.code)
			}
		}
		r := c.post("/login", url.Values{"username": {user}, "password": {e.w.StaffPassword}})
		if r.code != http.StatusTooManyRequests || errCode(r.body) != string(katong.ELocked) || !strings.Contains(r.body, "30 分钟") {
			t.Errorf("%s: right password while locked = %d %s; want 429 LOCKED with the wait\n%s", user, r.code, errCode(r.body), r.body)
		}
		if strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "katong_teller=") {
			t.Errorf("%s: a locked login set a session cookie", user)
		}
	}
	// Another staff member is not affected.
	e.login("s001")
}
