package teller_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"katong"
	"katong/banktest"
	"katong/storetest"
)

// TestPostgres runs the counter's main flows on PostgreSQL: the visits
// table and its queries are shared SQL. Skipped unless
// KATONG_TEST_POSTGRES names a server.
func TestPostgres(t *testing.T) {
	e := newEnvOn(t, banktest.NewOn(t, storetest.Postgres(t)))
	c := e.login("t001")
	if r := c.post("/inquiry", url.Values{"card_number": {unknownPAN}, "id_number": {e.w.Alice.IDNumber}}); r.code != http.StatusNotFound {
		t.Fatalf("unknown card = %d", r.code)
	}
	v := c.inquire(e.w.Alice)
	page := c.get(v)
	if page.code != http.StatusOK || text(page.body, "available") != "¥1,205.07" {
		t.Fatalf("visit = %d %q", page.code, text(page.body, "available"))
	}
	if r := c.get(v + "/receipt"); r.code != http.StatusOK || text(r.body, "card") != "622202******7894" {
		t.Fatalf("receipt = %d", r.code)
	}
	key := field(page.body, "deposit-form", "key")
	for i := 0; i < 2; i++ {
		if r := c.post(v+"/deposit", url.Values{"amount": {"10"}, "key": {key}}); r.code != http.StatusOK || text(r.body, "after") != "¥1,215.07" {
			t.Fatalf("deposit %d = %d %q", i, r.code, text(r.body, "after"))
		}
	}
	if r := c.post(v+"/refresh", nil); r.code != http.StatusSeeOther {
		t.Fatalf("refresh = %d", r.code)
	}
	if r := c.get(v); text(r.body, "available") != "¥1,215.07" {
		t.Fatalf("after refresh %q", text(r.body, "available"))
	}
	s := e.login("s001")
	if r := s.get("/audit"); r.code != http.StatusOK || !strings.Contains(r.body, "teller:t001") {
		t.Fatalf("audit = %d", r.code)
	}
	if r := s.post("/status", url.Values{"card_number": {e.w.Alice.PAN}, "action": {"freeze"}, "reason": {"异常交易"}}); r.code != http.StatusOK {
		t.Fatalf("freeze = %d", r.code)
	}
	if r := c.get(v); r.code != http.StatusForbidden || errCode(r.body) != string(katong.EAbnormal) {
		t.Fatalf("visit of a frozen account = %d", r.code)
	}
}
