package teller_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/bank"
)

func TestInquiry(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	v := c.inquire(e.w.Alice)
	r := c.get(v)
	if r.code != http.StatusOK {
		t.Fatalf("visit = %d\n%s", r.code, r.body)
	}
	for id, want := range map[string]string{"card": "622202******7894", "holder": "*三", "available": "¥1,205.07",
		"booked": "¥1,205.07", "status": "正常"} {
		if got := text(r.body, id); got != want {
			t.Errorf("#%s = %q; want %q", id, got, want)
		}
	}
	if got := text(r.body, "asof"); !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d（北京时间）$`).MatchString(got) {
		t.Errorf("#asof = %q; want a Beijing time", got)
	}
	if !strings.Contains(r.body, `id="receipt-link" href="`+v+`/receipt"`) {
		t.Error("no receipt link")
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	rec := e.lastAudit()
	if rec.Channel != "counter" || rec.Actor != "teller:t001" || rec.Action != "balance" || rec.Result != "ok" ||
		rec.Detail != "branch 南京路支行" || rec.Card != "6222 **** **** 7894" {
		t.Errorf("audit record = %+v; want the teller, branch, masked card and ok", rec)
	}

	t.Run("SpellingsOfTheNumbers", func(t *testing.T) {
		r := c.post("/inquiry", url.Values{"card_number": {"6222 0212-3456 7894"}, "id_number": {" 11010519491231002x "}})
		if r.code != http.StatusSeeOther {
			t.Fatalf("spaced card and lower-case x = %d; want 303\n%s", r.code, r.body)
		}
	})

	t.Run("NotInTheURL", func(t *testing.T) {
		// Numbers in the query string are never read.
		r := c.post("/inquiry?card_number="+e.w.Alice.PAN+"&id_number="+e.w.Alice.IDNumber, url.Values{})
		if r.code != http.StatusBadRequest || errCode(r.body) != string(katong.EInvalid) {
			t.Fatalf("numbers in the URL only = %d %s; want 400 INVALID_INPUT", r.code, errCode(r.body))
		}
	})

	t.Run("Refresh", func(t *testing.T) {
		if _, err := e.w.Bank.Ledger.Do(context.Background(), ledgerDeposit(e.w.Alice.Account, 1000, "refresh-1")); err != nil {
			t.Fatal(err)
		}
		if r := c.get(v); text(r.body, "available") != "¥1,205.07" {
			t.Errorf("visit page before refresh shows %q; want the snapshot", text(r.body, "available"))
		}
		r := c.post(v+"/refresh", nil)
		if r.code != http.StatusSeeOther || r.loc != v {
			t.Fatalf("refresh = %d %q", r.code, r.loc)
		}
		if r := c.get(v); text(r.body, "available") != "¥1,215.07" {
			t.Errorf("after refresh: %q; want ¥1,215.07", text(r.body, "available"))
		}
		if rec := e.lastAudit(); rec.Action != "balance" || rec.Actor != "teller:t001" {
			t.Errorf("refresh not audited: %+v", rec)
		}
	})
}

func TestInquiryInvalidInput(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	cases := []struct {
		name, card, id string
		code           int
		err, field     string
	}{
		{"ErrCardEmpty", "", e.w.Alice.IDNumber, 400, "INVALID_INPUT", "card_number"},
		{"ErrCardLuhn", "6222021234567890", e.w.Alice.IDNumber, 400, "INVALID_INPUT", "card_number"},
		{"ErrCardLetters", "6222abc", e.w.Alice.IDNumber, 400, "INVALID_INPUT", "card_number"},
		{"ErrIDEmpty", e.w.Alice.PAN, "", 400, "INVALID_INPUT", "id_number"},
		{"ErrIDCheck", e.w.Alice.PAN, "110105194912310021", 400, "INVALID_INPUT", "id_number"},
		{"ErrCrossBank", "4111111111111111", e.w.Alice.IDNumber, 403, "CROSS_BANK_DENIED", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post("/inquiry", url.Values{"card_number": {tc.card}, "id_number": {tc.id}})
			if r.code != tc.code || errCode(r.body) != tc.err {
				t.Fatalf("= %d %s; want %d %s", r.code, errCode(r.body), tc.code, tc.err)
			}
			if tc.field != "" && !strings.Contains(r.body, `id="`+tc.field+`" name="`+tc.field+`"`) {
				t.Fatal("the form is not shown again")
			}
			if tc.field != "" && !regexp.MustCompile(`id="`+tc.field+`"[^>]*aria-invalid="true"`).MatchString(r.body) {
				t.Errorf("field %s not marked invalid", tc.field)
			}
			if tc.card != "" && strings.Contains(r.body, tc.card) || tc.id != "" && strings.Contains(r.body, tc.id) {
				t.Error("the typed numbers are echoed")
			}
		})
	}
	t.Run("ErrTooLarge", func(t *testing.T) {
		r := c.post("/inquiry", url.Values{"card_number": {strings.Repeat("1", 20<<10)}})
		if r.code != http.StatusRequestEntityTooLarge {
			t.Fatalf("20 KiB form = %d; want 413", r.code)
		}
	})
	// None of these reached the card's lock-out.
	if n, _, _ := e.w.Bank.Auth.Failures(context.Background(), "card:"+string(e.w.Bank.Vault.Lookup("pan", e.w.Alice.PAN))); n != 0 {
		t.Errorf("invalid input counted %d failures against the card", n)
	}
}

var csrfValue = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// stripCSRF removes the CSRF token, the one request-specific part a page
// may carry.
func stripCSRF(s string) string { return csrfValue.ReplaceAllString(s, `name="csrf" value=""`) }

// TestNotFoundIdentical (S10): an unknown card, a known card with the
// wrong ID number and a locked card get the same status and the same
// bytes; a frozen account is revealed only after card and ID match.
func TestNotFoundIdentical(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	other := e.login("t001") // the same teller at another terminal
	ask := func(c *client, pan, id string) *resp {
		t.Helper()
		return c.post("/inquiry", url.Values{"card_number": {pan}, "id_number": {id}})
	}
	want := ask(c, unknownPAN, e.w.Alice.IDNumber)
	if want.code != http.StatusNotFound || errCode(want.body) != string(katong.ENotFound) {
		t.Fatalf("unknown card = %d %s; want 404 ACCOUNT_NOT_FOUND", want.code, errCode(want.body))
	}
	same := func(name string, r *resp) {
		t.Helper()
		if r.code != want.code || stripCSRF(r.body) != stripCSRF(want.body) {
			t.Errorf("%s: %d and a different body from the unknown card's %d", name, r.code, want.code)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Content-Length"} {
			if r.header.Get(h) != want.header.Get(h) {
				t.Errorf("%s: %s %q; unknown card's %q", name, h, r.header.Get(h), want.header.Get(h))
			}
		}
	}
	// Whole bytes within one session: the token is the session's.
	if r := ask(c, unknownPAN, e.w.Bob.IDNumber); r.body != want.body {
		t.Error("two unknown-card answers in one session differ")
	}
	// Bob's card with Alice's ID, up to the lock-out and past it.
	max := e.w.Bank.Auth.MaxFailures
	for i := 0; i < max; i++ {
		same("wrong ID", ask(c, e.w.Bob.PAN, e.w.Alice.IDNumber))
	}
	same("locked card, right ID", ask(c, e.w.Bob.PAN, e.w.Bob.IDNumber))
	same("locked card, wrong ID", ask(c, e.w.Bob.PAN, e.w.Alice.IDNumber))
	// Every miss is audited with the teller and branch.
	rec := e.lastAudit()
	if rec.Actor != "teller:t001" || rec.Result != "ACCOUNT_NOT_FOUND" || rec.Detail != "branch 南京路支行" || rec.Card != "6222 **** **** 0019" {
		t.Errorf("last miss audited as %+v", rec)
	}
	same("frozen account, wrong ID", ask(c, e.w.Frozen.PAN, e.w.Alice.IDNumber))
	same("unknown card, another session", ask(other, unknownPAN, e.w.Alice.IDNumber))

	// The lock-out is the card's, shared with every channel: the phone
	// line's PIN check fails now too, even with the right PIN.
	if _, err := e.w.Bank.VerifyCard(context.Background(), e.w.Bob.PAN, bank.Secret{PIN: e.w.Bob.PIN}); katong.ErrorCode(err) != katong.ENotFound {
		t.Errorf("phone PIN check after wrong IDs at the counter: %v; want ACCOUNT_NOT_FOUND", err)
	}
	if _, locked, _ := e.w.Bank.Auth.Failures(context.Background(), "card:"+string(e.w.Bank.Vault.Lookup("pan", e.w.Bob.PAN))); !locked {
		t.Error("Bob's card is not locked")
	}

	// Frozen with the right ID: now, and only now, 账户异常.
	v := ask(c, e.w.Frozen.PAN, e.w.Frozen.IDNumber)
	if v.code != http.StatusSeeOther {
		t.Fatalf("frozen, right ID = %d; want 303 to the visit", v.code)
	}
	r := c.get(v.loc)
	if r.code != http.StatusForbidden || errCode(r.body) != string(katong.EAbnormal) {
		t.Fatalf("frozen visit = %d %s; want 403 ACCOUNT_ABNORMAL", r.code, errCode(r.body))
	}
	if !strings.Contains(r.body, "95500") || !strings.Contains(r.body, "abnormal transactions") {
		t.Error("the abnormal page lacks the support number or the freeze reason")
	}
	if strings.Contains(r.body, "¥") || strings.Contains(r.body, `id="receipt-link"`) || strings.Contains(r.body, `id="deposit-form"`) {
		t.Error("the frozen account's page shows money, a receipt or cash forms")
	}
	if rec := e.lastAudit(); rec.Result != "ACCOUNT_ABNORMAL" || rec.Actor != "teller:t001" {
		t.Errorf("frozen inquiry audited as %+v", rec)
	}
	if r := c.get(v.loc + "/receipt"); r.code != http.StatusForbidden {
		t.Errorf("receipt of a frozen account = %d; want 403", r.code)
	}
}

// TestNotFoundTiming (S10): the three miss paths take the same time:
// median difference under 5 ms over 1,000 tries each, interleaved.
func TestNotFoundTiming(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Lock Bob's card first, then let wrong IDs go on without locking more.
	for i := 0; i <= e.w.Bank.Auth.MaxFailures; i++ {
		e.w.Bank.VerifyCard(ctx, e.w.Bob.PAN, bank.Secret{IDNumber: e.w.Alice.IDNumber})
	}
	if _, locked, _ := e.w.Bank.Auth.Failures(ctx, "card:"+string(e.w.Bank.Vault.Lookup("pan", e.w.Bob.PAN))); !locked {
		t.Fatal("Bob's card is not locked")
	}
	e.w.Bank.Auth.MaxFailures = 1 << 30
	c := e.login("t001")
	cases := []struct{ name, pan, id string }{
		{"unknown card", unknownPAN, e.w.Alice.IDNumber},
		{"wrong ID", e.w.Alice.PAN, e.w.Bob.IDNumber},
		{"locked card", e.w.Bob.PAN, e.w.Bob.IDNumber},
	}
	const tries, warm = 1000, 10 // RELIABILITY.md S10: 1,000 tries
	times := make([][]time.Duration, len(cases))
	var body string
	for i := 0; i < tries+warm; i++ {
		for j := range cases {
			k := (i + j) % len(cases) // rotate the order
			cs := cases[k]
			start := time.Now()
			r := c.post("/inquiry", url.Values{"card_number": {cs.pan}, "id_number": {cs.id}})
			d := time.Since(start)
			if r.code != http.StatusNotFound {
				t.Fatalf("%s = %d; want 404", cs.name, r.code)
			}
			if body == "" {
				body = r.body
			} else if r.body != body {
				t.Fatalf("%s: the body differs", cs.name)
			}
			if i >= warm {
				times[k] = append(times[k], d)
			}
		}
	}
	medians := make([]time.Duration, len(cases))
	for k := range cases {
		sort.Slice(times[k], func(a, b int) bool { return times[k][a] < times[k][b] })
		medians[k] = times[k][len(times[k])/2]
		t.Logf("S10 timing: %-13s median %v (p10 %v, p90 %v) over %d tries", cases[k].name, medians[k],
			times[k][len(times[k])/10], times[k][len(times[k])*9/10], len(times[k]))
	}
	lo, hi := medians[0], medians[0]
	for _, m := range medians {
		lo, hi = min(lo, m), max(hi, m)
	}
	t.Logf("S10 timing: largest median difference %v", hi-lo)
	if hi-lo >= 5*time.Millisecond {
		t.Errorf("median difference %v; want < 5ms", hi-lo)
	}
}
