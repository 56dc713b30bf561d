package bankapp_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"katong"
)

func mustContain(t *testing.T, r *response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(string(r.Body), w) {
			t.Errorf("page lacks %q:\n%s", w, r.Body)
		}
	}
}

func mustNotContain(t *testing.T, r *response, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(string(r.Body), b) {
			t.Errorf("page holds %q", b)
		}
	}
}

// errorBox is the error box of a page.
var errorBox = regexp.MustCompile(`(?s)<div class="error".*?</div>`)

func TestPageLogin(t *testing.T) {
	e := newEnv(t)
	t.Run("Form", func(t *testing.T) {
		c := e.browser()
		r := e.get(c, "/")
		if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("login page: %d %v", r.Status, r.Header)
		}
		mustContain(t, r, `<html lang="zh-CN">`, `<label for="mobile">手机号</label>`, `id="mobile" name="mobile"`,
			`<label for="password">登录密码</label>`, `type="password"`, `name="csrf"`, "星河银行", `href="/banks/galaxy/app/?lang=en"`)
		if e.cookie(c, "katong_bank_login") == "" || e.cookie(c, "katong_device") == "" {
			t.Error("no log-in token or device cookie")
		}
		r = e.get(c, "/?lang=en")
		mustContain(t, r, `<html lang="en">`, "Mobile number", "Galaxy Bank")
		if e.cookie(c, "lang") != "en" {
			t.Error("language not remembered")
		}
		mustContain(t, e.get(c, "/"), "Mobile number")
	})
	t.Run("WrongIsTheSameWhateverWasWrong", func(t *testing.T) {
		c := e.browser()
		tok := e.csrf(e.get(c, "/").Body)
		wrong := e.form(c, "/login", url.Values{"csrf": {tok}, "mobile": {e.w.Alice.Mobile}, "password": {"not-it-at-all"}})
		unknown := e.form(c, "/login", url.Values{"csrf": {tok}, "mobile": {"13600136000"}, "password": {e.w.Alice.Password}})
		if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
			t.Fatalf("statuses %d %d; want 401", wrong.Status, unknown.Status)
		}
		mustContain(t, wrong, "手机号或密码不正确", "5 次", "30 分钟")
		if a, b := errorBox.Find(wrong.Body), errorBox.Find(unknown.Body); a == nil || string(a) != string(b) {
			t.Errorf("error boxes differ:\n%s\n%s", a, b)
		}
		mustContain(t, wrong, `value="13800138000"`)
	})
	t.Run("CSRF", func(t *testing.T) {
		c := e.browser()
		tok := e.csrf(e.get(c, "/").Body)
		good := url.Values{"csrf": {tok}, "mobile": {e.w.Alice.Mobile}, "password": {e.w.Alice.Password}}
		noTok := url.Values{"mobile": {e.w.Alice.Mobile}, "password": {e.w.Alice.Password}}
		if r := e.form(c, "/login", noTok); r.Status != http.StatusForbidden {
			t.Errorf("no token: %d", r.Status)
		}
		if r := e.form(c, "/login", good, "Origin", "https://evil.example"); r.Status != http.StatusForbidden {
			t.Errorf("cross-origin: %d", r.Status)
		}
		if r := e.form(c, "/login", good, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("cross-site: %d", r.Status)
		}
		if r := e.form(e.browser(), "/login", good); r.Status != http.StatusForbidden {
			t.Errorf("token without its cookie: %d", r.Status)
		}
	})
	t.Run("OK", func(t *testing.T) {
		c := e.browser()
		tok := e.csrf(e.get(c, "/").Body)
		nc := e.client()
		nc.Jar = c.Jar
		r := e.form(nc, "/login", url.Values{"csrf": {tok}, "mobile": {e.w.Alice.Mobile}, "password": {e.w.Alice.Password}},
			"Origin", e.srv.URL)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/banks/galaxy/app/accounts" {
			t.Fatalf("log-in: %d %s", r.Status, r.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == "katong_bank" {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || len(session.Value) < 43 {
			t.Fatalf("session cookie = %+v", session)
		}
		// The log-in page now sends a logged-in customer to the accounts.
		if r := e.get(nc, "/"); r.Status != http.StatusSeeOther {
			t.Errorf("log-in page when logged in: %d", r.Status)
		}
	})
	t.Run("BadMobile", func(t *testing.T) {
		c := e.browser()
		r := e.form(c, "/login", url.Values{"csrf": {e.csrf(e.get(c, "/").Body)}, "mobile": {"12345"}, "password": {"x"}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("status %d", r.Status)
		}
		mustContain(t, r, "请输入正确的手机号")
	})
	t.Run("LockOut", func(t *testing.T) {
		c := e.browser()
		tok := e.csrf(e.get(c, "/").Body)
		v := url.Values{"csrf": {tok}, "mobile": {e.w.Bob.Mobile}, "password": {"wrong-password"}}
		for i := 0; i < e.w.Bank.Auth.MaxFailures; i++ {
			if r := e.form(c, "/login", v); r.Status != http.StatusUnauthorized {
				t.Fatalf("try %d: %d", i, r.Status)
			}
		}
		v.Set("password", e.w.Bob.Password)
		r := e.form(c, "/login", v)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Fatalf("locked: %d %v", r.Status, r.Header)
		}
		mustContain(t, r, "错误次数过多", "30 分钟", "95500")
	})
}

func TestPageAccounts(t *testing.T) {
	e := newEnv(t)
	c := e.pageLogin(e.w.Alice)
	t.Run("HiddenByDefault", func(t *testing.T) {
		r := e.get(c, "/accounts")
		if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("accounts: %d %v", r.Status, r.Header)
		}
		mustContain(t, r, "我的账户", "星河银行", "储蓄卡", "6222 **** **** 7894", "¥ ****", "显示余额",
			`href="/banks/galaxy/app/accounts/`+id(e.w.Alice.Account)+`"`, "background-color: #1d4ed8; color: #ffffff")
		mustNotContain(t, r, "1,205.07", "1205.07")
		recs, _ := e.w.Bank.Auth.AuditLog(e.ctx, 0, 10)
		for _, rec := range recs {
			if rec.Action == "balance" {
				t.Errorf("a hidden balance was queried: %+v", rec)
			}
		}
	})
	t.Run("EyeOpenRemembered", func(t *testing.T) {
		r := e.get(c, "/accounts?eye=show")
		mustContain(t, r, "¥1,205.07", "更新于 "+e.clock.Now().In(katong.Shanghai).Format("15:04"), "隐藏余额")
		if e.cookie(c, "katong_eye") != "show" {
			t.Error("eye not remembered")
		}
		mustContain(t, e.get(c, "/accounts"), "¥1,205.07")
		r = e.get(c, "/accounts?eye=hide")
		mustNotContain(t, r, "1,205.07")
		mustNotContain(t, e.get(c, "/accounts"), "1,205.07")
	})
	t.Run("English", func(t *testing.T) {
		r := e.get(c, "/accounts?lang=en&eye=show")
		mustContain(t, r, "My accounts", "Galaxy Bank", "Debit card", "Available balance", "As of", "¥1,205.07", `<html lang="en">`)
		e.get(c, "/accounts?lang=zh")
	})
	t.Run("RateLimitedTile", func(t *testing.T) {
		for i := 0; i < e.w.Bank.Config.Limits.App.N; i++ {
			e.get(c, "/accounts?eye=show")
		}
		r := e.get(c, "/accounts")
		mustContain(t, r, "查询过于频繁", "请在 ", " 秒后再试")
		mustNotContain(t, r, "1,205.07")
	})
}

func TestPageAccount(t *testing.T) {
	e := newEnv(t)
	e.seed()
	c := e.pageLogin(e.w.Alice)
	bal := e.balanceOf(e.w.Alice.Account)
	path := "/accounts/" + id(e.w.Alice.Account)
	r := e.get(c, path)
	if r.Status != 200 {
		t.Fatalf("account: %s", r)
	}
	mustContain(t, r, "账户查询", "6222 **** **** 7894", "活期储蓄", "正常", "¥ ****", "预授权", "¥88.00", "酒店预授权",
		"最近交易", "查看全部交易记录", "-¥100.00")
	mustNotContain(t, r, bal.Available.Yuan())
	r = e.get(c, path+"?eye=show")
	mustContain(t, r, `id="available">`+bal.Available.Yuan()+`<`, `id="booked">`+bal.Booked.Yuan()+`<`,
		`id="asof">更新于 10:32<`, `id="refresh"`)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("balance page may be cached")
	}
	r = e.get(c, path+"?lang=en")
	mustContain(t, r, "Available balance", "Booked balance", "As of 10:32", "Refresh", "Pending authorisations", "Cash withdrawal")
	e.get(c, path+"?lang=zh")
}

func TestPageRecords(t *testing.T) {
	e := newEnv(t)
	days := e.seed()
	c := e.pageLogin(e.w.Alice)
	base := "/accounts/" + id(e.w.Alice.Account) + "/records"
	r := e.get(c, base)
	if r.Status != 200 {
		t.Fatalf("records: %s", r)
	}
	mustContain(t, r, "交易记录", `<label for="from">开始日期`, `<label for="to">结束日期`, "导出 CSV",
		`<svg class="chart" id="chart"`, "<polyline points=", "余额走势", "-¥100.00", "¥20,533.77", "¥5,000.09",
		`href="/banks/galaxy/app/accounts/`+id(e.w.Alice.Account)+`/records.csv"`)
	mustNotContain(t, r, `id="first"`)
	// 13 records, 20 a page: one page. The page's table has 13 rows.
	if n := strings.Count(string(r.Body), "<tr><td>"); n != 13 {
		t.Errorf("%d rows; want 13", n)
	}
	if strings.Contains(string(r.Body), `id="next"`) {
		// 13 fit on one page; there must be no next link.
		t.Error("next link on the only page")
	}
	t.Run("Filter", func(t *testing.T) {
		from, to := days[3].Format(time.DateOnly), days[5].Format(time.DateOnly)
		r := e.get(c, base+"?from="+from+"&to="+to)
		if n := strings.Count(string(r.Body), "<tr><td>"); n != 3 {
			t.Errorf("%d rows from %s to %s; want 3", n, from, to)
		}
		mustContain(t, r, `value="`+from+`"`, `value="`+to+`"`, "records.csv?from="+from+"&amp;to="+to, "<polyline")
		rows := readCSV(t, e.get(c, "/accounts/"+id(e.w.Alice.Account)+"/records.csv?from="+from+"&to="+to))
		if len(rows) != 4 || rows[1][0][:10] != from || rows[3][0][:10] != to {
			t.Errorf("CSV = %q", rows)
		}
	})
	t.Run("BadDate", func(t *testing.T) {
		r := e.get(c, base+"?from=2026-02-30")
		if r.Status != http.StatusBadRequest {
			t.Errorf("status %d", r.Status)
		}
		mustContain(t, r, "日期格式应为 YYYY-MM-DD")
	})
	t.Run("Pages", func(t *testing.T) {
		// Twelve seeded days plus the opening: add records so that they
		// span two pages of 20.
		e.seedMore(10)
		r := e.get(c, base)
		m := regexp.MustCompile(`id="next" href="([^"]+)"|href="([^"]+)" id="next"`).FindSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no next link")
		}
		next := string(m[1]) + string(m[2])
		next = strings.ReplaceAll(next, "&amp;", "&")
		u, _ := url.Parse(next)
		r2 := e.do(c, "GET", e.srv.URL+u.String(), "", nil)
		if n := strings.Count(string(r2.Body), "<tr><td>"); n != 3 {
			t.Errorf("second page has %d rows; want 3", n)
		}
		mustContain(t, r2, `id="first"`)
	})
}

func TestPageFrozen(t *testing.T) {
	e := newEnv(t)
	c := e.pageLogin(e.w.Frozen)
	r := e.get(c, "/accounts?eye=show")
	mustContain(t, r, "账户异常", "请致电客服 95500")
	path := "/accounts/" + id(e.w.Frozen.Account)
	r = e.get(c, path)
	if r.Status != http.StatusForbidden {
		t.Errorf("frozen account page: %d", r.Status)
	}
	mustContain(t, r, `data-code="ACCOUNT_ABNORMAL"`, "账户异常", "95500", "冻结")
	mustNotContain(t, r, "99.00")
	r = e.get(c, path+"/records")
	if r.Status != http.StatusForbidden {
		t.Errorf("frozen records page: %d", r.Status)
	}
	mustContain(t, r, "账户异常", "95500")
	r = e.get(c, path+"?lang=en")
	mustContain(t, r, "Account abnormal", "call the bank&#39;s support on 95500")
}

// S7 on pages: the cookie's session ends at log-out, at a new log-in and
// after 30 idle minutes; log-out needs the form token.
func TestPageSessions(t *testing.T) {
	e := newEnv(t)
	t.Run("Rotation", func(t *testing.T) {
		old := e.cookie(e.pageLogin(e.w.Alice), "katong_bank")
		// A browser with a log-in form open and the old session's cookie
		// logs in again.
		c := e.browser()
		r := e.get(c, "/")
		u, _ := url.Parse(e.base + "/app/")
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "katong_bank", Value: old, Path: "/"}})
		r = e.form(c, "/login", url.Values{"csrf": {e.csrf(r.Body)}, "mobile": {e.w.Alice.Mobile}, "password": {e.w.Alice.Password}})
		mustContain(t, r, "我的账户")
		if now := e.cookie(c, "katong_bank"); now == "" || now == old {
			t.Fatalf("session not rotated: %q", now)
		}
		if r := e.api("GET", "/accounts", old, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("old session token still works: %d", r.Status)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		c := e.pageLogin(e.w.Alice)
		tok := e.cookie(c, "katong_bank")
		page := e.get(c, "/accounts")
		if r := e.form(c, "/logout", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
			t.Fatalf("log-out with a forged token: %d", r.Status)
		}
		if r := e.api("GET", "/accounts", tok, nil); r.Status != 200 {
			t.Fatalf("forged log-out ended the session: %d", r.Status)
		}
		r := e.form(c, "/logout", url.Values{"csrf": {e.csrf(page.Body)}})
		mustContain(t, r, `id="login-form"`)
		if r := e.api("GET", "/accounts", tok, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("token works after log-out: %d", r.Status)
		}
		nc := e.client()
		jar := e.browser().Jar
		u, _ := url.Parse(e.base + "/app/")
		jar.SetCookies(u, []*http.Cookie{{Name: "katong_bank", Value: tok, Path: "/"}})
		nc.Jar = jar
		if r := e.get(nc, "/accounts"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/banks/galaxy/app/" {
			t.Errorf("old cookie after log-out: %d %s", r.Status, r.Header.Get("Location"))
		}
	})
	t.Run("Idle", func(t *testing.T) {
		c := e.pageLogin(e.w.Bob)
		e.clock.Advance(31 * time.Minute)
		r := e.get(c, "/accounts")
		mustContain(t, r, `id="login-form"`)
	})
	t.Run("CSRFToken", func(t *testing.T) {
		a, b := e.pageLogin(e.w.Alice), e.pageLogin(e.w.Alice)
		ta, tb := e.csrf(e.get(a, "/accounts").Body), e.csrf(e.get(b, "/accounts").Body)
		if ta == tb || len(ta) < 40 {
			t.Errorf("form tokens %q %q: want one per session", ta, tb)
		}
		// One session's token does not work for another.
		if r := e.form(b, "/password", url.Values{"csrf": {ta}, "old_password": {"x"}, "new_password": {"y"}, "confirm": {"y"}}); r.Status != http.StatusForbidden {
			t.Errorf("another session's token: %d", r.Status)
		}
	})
}

func TestPagePassword(t *testing.T) {
	e := newEnv(t)
	c := e.pageLogin(e.w.Alice)
	other := e.login(e.w.Alice)
	page := e.get(c, "/password")
	mustContain(t, page, `<label for="old_password">当前密码</label>`, `<label for="new_password">新密码</label>`,
		`<label for="confirm">再次输入新密码</label>`, "至少 8 位")
	tok := e.csrf(page.Body)
	r := e.form(c, "/password", url.Values{"csrf": {tok}, "old_password": {"wrong-password"}, "new_password": {"a-new-password-1"}, "confirm": {"a-new-password-1"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("wrong old: %d", r.Status)
	}
	mustContain(t, r, "当前密码不正确", `aria-invalid="true"`)
	r = e.form(c, "/password", url.Values{"csrf": {tok}, "old_password": {e.w.Alice.Password}, "new_password": {"a-new-password-1"}, "confirm": {"a-new-password-2"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("confirm differs: %d", r.Status)
	}
	mustContain(t, r, "两次输入的新密码不一致")
	r = e.form(c, "/password", url.Values{"csrf": {tok}, "old_password": {e.w.Alice.Password}, "new_password": {"a-new-password-1"}, "confirm": {"a-new-password-1"}})
	if r.Status != 200 {
		t.Fatalf("change: %s", r)
	}
	mustContain(t, r, "密码已修改")
	if r := e.api("GET", "/accounts", other, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("other session survived the change: %d", r.Status)
	}
	if r := e.get(c, "/accounts"); r.Status != 200 || !strings.Contains(string(r.Body), "我的账户") {
		t.Errorf("this session ended with the change: %d", r.Status)
	}
}

func TestPageInbox(t *testing.T) {
	e := newEnv(t)
	c := e.pageLogin(e.w.Bob)
	r := e.get(c, "/inbox")
	mustContain(t, r, "新设备登录提醒", "95500")
	if n := strings.Count(string(r.Body), "<li>"); n != 1 {
		t.Errorf("%d notices; want 1", n)
	}
	// The same browser logs out and in again: no new notice.
	r = e.form(c, "/logout", url.Values{"csrf": {e.csrf(r.Body)}})
	r = e.form(c, "/login", url.Values{"csrf": {e.csrf(r.Body)}, "mobile": {e.w.Bob.Mobile}, "password": {e.w.Bob.Password}})
	mustContain(t, r, "我的账户")
	if n := strings.Count(string(e.get(c, "/inbox").Body), "<li>"); n != 1 {
		t.Errorf("%d notices after a log-in from the same browser; want 1", n)
	}
}

func TestPageNotFoundAndLoginRequired(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/accounts", "/accounts/1", "/accounts/1/records", "/accounts/1/records.csv", "/password", "/inbox"} {
		r := e.get(e.client(), p)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/banks/galaxy/app/" {
			t.Errorf("%s without a session: %d %s", p, r.Status, r.Header.Get("Location"))
		}
	}
	r := e.get(e.client(), "/nothing")
	if r.Status != http.StatusNotFound {
		t.Errorf("unknown page: %d", r.Status)
	}
	mustContain(t, r, "页面不存在")
	r = e.do(e.client(), "POST", e.pageURL("/password"), "", "x=1", "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusSeeOther {
		t.Errorf("POST /password without a session: %d", r.Status)
	}
}
