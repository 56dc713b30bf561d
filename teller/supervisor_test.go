package teller_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"katong"
	"katong/auth"
)

func TestFreezeAtTheCounter(t *testing.T) {
	e := newEnv(t)
	s := e.login("s001")
	v := s.inquire(e.w.Bob)
	if !strings.Contains(s.get(v).body, `id="status-form"`) {
		t.Fatal("a supervisor's visit page has no freeze form")
	}

	t.Run("ErrNoReason", func(t *testing.T) {
		r := s.post(v+"/status", url.Values{"action": {"freeze"}, "reason": {"  "}})
		if r.code != http.StatusBadRequest || errCode(r.body) != string(katong.EInvalid) {
			t.Fatalf("freeze without a reason = %d %s; want 400", r.code, errCode(r.body))
		}
		if a := e.account(e.w.Bob.Account); a.Status != katong.StatusActive {
			t.Fatal("frozen without a reason")
		}
	})

	r := s.post(v+"/status", url.Values{"action": {"freeze"}, "reason": {"异常交易"}})
	if r.code != http.StatusSeeOther || r.loc != v {
		t.Fatalf("freeze = %d %q", r.code, r.loc)
	}
	if a := e.account(e.w.Bob.Account); a.Status != katong.StatusFrozen || a.FreezeReason != "异常交易" {
		t.Fatalf("account after freeze: %s %q", a.Status, a.FreezeReason)
	}
	if rec := e.lastAudit(); rec.Action != "set_status:frozen" || rec.Actor != "supervisor:s001@南京路支行" || rec.Result != "ok" {
		t.Errorf("freeze audited as %+v", rec)
	}
	page := s.get(v)
	if page.code != http.StatusForbidden || !strings.Contains(page.body, "冻结原因：异常交易") || strings.Contains(page.body, "¥") {
		t.Errorf("visit after freeze = %d; want 403 with the reason and no balance", page.code)
	}

	// A teller now sees 账户异常 with the reason and the support number.
	tl := e.login("t001")
	tv := tl.inquire(e.w.Bob)
	tp := tl.get(tv)
	if tp.code != http.StatusForbidden || errCode(tp.body) != string(katong.EAbnormal) || !strings.Contains(tp.body, "异常交易") ||
		!strings.Contains(tp.body, "95500") {
		t.Errorf("teller's inquiry of a frozen account = %d %s", tp.code, errCode(tp.body))
	}
	if strings.Contains(tp.body, `id="status-form"`) {
		t.Error("a teller's page offers unfreezing")
	}
	if r := tl.post(tv+"/status", url.Values{"action": {"unfreeze"}}); r.code != http.StatusForbidden {
		t.Errorf("teller unfreezing = %d; want 403", r.code)
	}

	r = s.post(v+"/status", url.Values{"action": {"unfreeze"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("unfreeze = %d", r.code)
	}
	if a := e.account(e.w.Bob.Account); a.Status != katong.StatusActive || a.FreezeReason != "" {
		t.Fatalf("account after unfreeze: %s %q", a.Status, a.FreezeReason)
	}
	// The visit's inquiry was of a frozen account: no balance until a refresh.
	if p := tl.get(tv); p.code != http.StatusOK || !strings.Contains(p.body, `id="changed"`) || strings.Contains(p.body, `id="available"`) {
		t.Errorf("visit after unfreeze = %d; want the changed notice and no stale balance", p.code)
	}
	tl.post(tv+"/refresh", nil)
	if p := tl.get(tv); text(p.body, "available") != "¥500.00" {
		t.Errorf("after refresh: %q; want ¥500.00", text(p.body, "available"))
	}
}

func TestStatusByCardNumber(t *testing.T) {
	e := newEnv(t)
	s := e.login("s001")
	if r := s.get("/status"); r.code != http.StatusOK || !strings.Contains(r.body, `<label for="card_number">`) ||
		!strings.Contains(r.body, `<label for="reason">`) || !strings.Contains(r.body, "<legend>") {
		t.Fatalf("status form = %d", r.code)
	}
	r := s.post("/status", url.Values{"card_number": {e.w.Alice.PAN}, "action": {"freeze"}, "reason": {"涉嫌电信诈骗 卡号" + e.w.Bob.PAN}})
	if r.code != http.StatusOK || text(r.body, "card") != "622202******7894" || text(r.body, "holder") != "*三" || text(r.body, "status") != "冻结" {
		t.Fatalf("freeze by card number = %d\n%s", r.code, r.body)
	}
	a := e.account(e.w.Alice.Account)
	if a.Status != katong.StatusFrozen || !strings.HasPrefix(a.FreezeReason, "涉嫌电信诈骗") || strings.Contains(a.FreezeReason, e.w.Bob.PAN) {
		t.Fatalf("account: %s %q; want frozen with the reason, its card number masked", a.Status, a.FreezeReason)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		err  katong.Code
	}{
		{"ErrUnknownCard", url.Values{"card_number": {unknownPAN}, "action": {"unfreeze"}}, 404, katong.ENotFound},
		{"ErrBadCard", url.Values{"card_number": {"6222021234567890"}, "action": {"unfreeze"}}, 400, katong.EInvalid},
		{"ErrAction", url.Values{"card_number": {e.w.Alice.PAN}, "action": {"close"}}, 400, katong.EInvalid},
		{"ErrReasonTooLong", url.Values{"card_number": {e.w.Alice.PAN}, "action": {"freeze"}, "reason": {strings.Repeat("异", 101)}}, 400, katong.EInvalid},
	} {
		if r := s.post("/status", tc.form); r.code != tc.code || errCode(r.body) != string(tc.err) {
			t.Errorf("%s = %d %s; want %d %s", tc.name, r.code, errCode(r.body), tc.code, tc.err)
		}
	}
	r = s.post("/status", url.Values{"card_number": {e.w.Alice.PAN}, "action": {"unfreeze"}})
	if r.code != http.StatusOK || text(r.body, "status") != "正常" {
		t.Fatalf("unfreeze by card number = %d", r.code)
	}
	if a := e.account(e.w.Alice.Account); a.Status != katong.StatusActive {
		t.Fatal("not unfrozen")
	}
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < 70; i++ {
		if err := e.w.Bank.Auth.Audit(ctx, auth.Record{Channel: katong.ChannelApp, Actor: fmt.Sprintf("customer:%d", i),
			Action: "balance", Card: "6222 **** **** 7894", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	s := e.login("s001")
	s.inquire(e.w.Alice)
	r := s.get("/audit")
	if r.code != http.StatusOK {
		t.Fatalf("audit = %d", r.code)
	}
	rows := strings.Count(r.body, "<tr><td>")
	if rows != 50 {
		t.Fatalf("first page has %d rows; want 50", rows)
	}
	if !strings.Contains(r.body, "teller:s001") || !strings.Contains(r.body, "branch 南京路支行") {
		t.Error("the newest record (the supervisor's inquiry) is not on the first page")
	}
	if strings.Contains(r.body, `id="newest"`) {
		t.Error("the first page links to the newest page")
	}
	older := olderLink(r.body)
	if older == "" {
		t.Fatal("no link to older records")
	}
	r2 := s.get(older)
	if r2.code != http.StatusOK || strings.Count(r2.body, "<tr><td>") != 21 || !strings.Contains(r2.body, `id="newest"`) ||
		strings.Contains(r2.body, `id="older"`) {
		t.Errorf("second page = %d with %d rows; want 21 rows, a newest link and no older link", r2.code, strings.Count(r2.body, "<tr><td>"))
	}
	if strings.Contains(r2.body, "teller:s001") {
		t.Error("the second page repeats the newest records")
	}
	for _, bad := range []string{"abc", "-1", "0", "1.5"} {
		if r := s.get("/audit?before=" + bad); r.code != http.StatusBadRequest {
			t.Errorf("before=%s = %d; want 400", bad, r.code)
		}
	}
}

func TestReceipt(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	v := c.inquire(e.w.Alice)
	r := c.get(v + "/receipt")
	if r.code != http.StatusOK {
		t.Fatalf("receipt = %d", r.code)
	}
	for id, want := range map[string]string{"card": "622202******7894", "holder": "*三", "available": "¥1,205.07",
		"booked": "¥1,205.07", "teller": "柜员一 (t001)", "branch": "南京路支行"} {
		if got := text(r.body, id); got != want {
			t.Errorf("receipt #%s = %q; want %q", id, got, want)
		}
	}
	if !strings.Contains(r.body, "余额单") || !strings.Contains(r.body, "@media print") {
		t.Error("not a printable 余额单")
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	// The id works only in the session that made it; elsewhere it is
	// exactly an unknown id.
	other := e.login("t001")
	unknown := other.get("/visits/aaaaaaaaaaaaaaaaaaaaaaaa/receipt")
	if unknown.code != http.StatusNotFound || errCode(unknown.body) != string(katong.ENotFound) {
		t.Fatalf("unknown receipt = %d %s", unknown.code, errCode(unknown.body))
	}
	for name, path := range map[string]string{"another session's": v + "/receipt", "malformed": "/visits/6222-0212-3456/receipt"} {
		if r := other.get(path); r.code != unknown.code || stripCSRF(r.body) != stripCSRF(unknown.body) {
			t.Errorf("%s receipt = %d; want the unknown id's answer", name, r.code)
		}
	}
	c.post("/logout", nil)
	again := e.login("t001")
	if r := again.get(v + "/receipt"); r.code != http.StatusNotFound {
		t.Errorf("receipt after logout and a new login = %d; want 404", r.code)
	}
}

// olderLink returns the href of the "older records" link, or "".
func olderLink(s string) string {
	i := strings.Index(s, `id="older"`)
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(s[:i], `href="`)
	if j < 0 {
		return ""
	}
	rest := s[j+len(`href="`):]
	return strings.ReplaceAll(rest[:strings.Index(rest, `"`)], "&amp;", "&")
}
