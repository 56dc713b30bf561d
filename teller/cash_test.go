package teller_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"katong"
	"katong/ledger"
)

func ledgerDeposit(to katong.AccountID, fen katong.Amount, key string) ledger.Request {
	return ledger.Request{Client: "test", Key: key, Kind: katong.TxnDeposit, To: to, Amount: fen}
}

func TestCash(t *testing.T) {
	e := newEnv(t)
	c := e.login("t001")
	v := c.inquire(e.w.Alice)
	page := c.get(v).body
	depKey, wdKey := field(page, "deposit-form", "key"), field(page, "withdraw-form", "key")
	if depKey == "" || wdKey == "" || depKey == wdKey {
		t.Fatalf("cash forms carry keys %q and %q; want two different UUIDs", depKey, wdKey)
	}
	start := e.account(e.w.Alice.Account).Booked

	t.Run("DepositOnce", func(t *testing.T) {
		form := url.Values{"amount": {"100.50"}, "key": {depKey}}
		r := c.post(v+"/deposit", form)
		if r.code != http.StatusOK || text(r.body, "after") != "¥1,305.57" || text(r.body, "amount") != "¥100.50" {
			t.Fatalf("deposit = %d, after %q amount %q\n%s", r.code, text(r.body, "after"), text(r.body, "amount"), r.body)
		}
		if strings.Contains(r.body, `id="replayed"`) {
			t.Error("the first submit says it was replayed")
		}
		txn := text(r.body, "txn")
		// The same form again (a double click, a reload): replayed, posted once.
		r2 := c.post(v+"/deposit", url.Values{"amount": {"100.50"}, "key": {depKey}})
		if r2.code != http.StatusOK || !strings.Contains(r2.body, `id="replayed"`) || text(r2.body, "txn") != txn ||
			text(r2.body, "after") != "¥1,305.57" {
			t.Fatalf("second submit = %d, txn %q (first %q)\n%s", r2.code, text(r2.body, "txn"), txn, r2.body)
		}
		if got := e.account(e.w.Alice.Account).Booked; got != start+10050 {
			t.Fatalf("booked %s after two submits; want %s", got, start+10050)
		}
		rec := e.lastAudit()
		if rec.Action != "deposit" || rec.Actor != "teller:t001" || rec.Result != "replayed" || !strings.Contains(rec.Detail, "branch 南京路支行") {
			t.Errorf("audit = %+v", rec)
		}
		// The same key with another amount: refused, nothing posted.
		r3 := c.post(v+"/deposit", url.Values{"amount": {"200"}, "key": {depKey}})
		if r3.code != http.StatusUnprocessableEntity || errCode(r3.body) != string(katong.EKeyReused) {
			t.Fatalf("key reused with another amount = %d %s; want 422", r3.code, errCode(r3.body))
		}
		if got := e.account(e.w.Alice.Account).Booked; got != start+10050 {
			t.Fatalf("booked %s after a reused key", got)
		}
	})

	t.Run("ConcurrentDoubleSubmit", func(t *testing.T) {
		key := katong.NewKey()
		before := e.account(e.w.Alice.Account).Booked
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{"amount": {"1.00"}, "key": {key}, "csrf": {c.csrf}}
				req, _ := http.NewRequest(http.MethodPost, c.url(v+"/deposit"), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := c.hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				codes[i] = res.StatusCode
			}()
		}
		wg.Wait()
		for _, code := range codes {
			if code != http.StatusOK && code != http.StatusConflict {
				t.Errorf("concurrent submit = %d; want 200 or 409", code)
			}
		}
		if got := e.account(e.w.Alice.Account).Booked; got != before+100 {
			t.Fatalf("8 concurrent submits of one form moved %s; want 1.00", got-before)
		}
	})

	t.Run("ErrOverdraft", func(t *testing.T) {
		before := e.account(e.w.Alice.Account)
		r := c.post(v+"/withdraw", url.Values{"amount": {"99999"}, "key": {wdKey}})
		if r.code != http.StatusUnprocessableEntity || errCode(r.body) != string(katong.EInsufficient) {
			t.Fatalf("overdraft = %d %s; want 422 INSUFFICIENT_FUNDS", r.code, errCode(r.body))
		}
		if !strings.Contains(r.body, `id="withdraw-form"`) {
			t.Error("the form is not offered again")
		}
		if got := e.account(e.w.Alice.Account); got.Booked != before.Booked {
			t.Fatalf("booked %s after a refused withdrawal; want %s", got.Booked, before.Booked)
		}
		if rec := e.lastAudit(); rec.Action != "withdrawal" || rec.Result != "INSUFFICIENT_FUNDS" {
			t.Errorf("refused withdrawal audited as %+v", rec)
		}
		// The refused key posted nothing, so it can carry a right amount.
		r = c.post(v+"/withdraw", url.Values{"amount": {"5.57"}, "key": {wdKey}})
		if r.code != http.StatusOK || text(r.body, "after") != (before.Booked-557).Yuan() {
			t.Fatalf("withdrawal = %d after %q; want %s", r.code, text(r.body, "after"), (before.Booked - 557).Yuan())
		}
	})

	t.Run("ErrAmount", func(t *testing.T) {
		for _, a := range []string{"", "0", "-1", "1e3", "1,000", "1.234", "１００", "10000000001"} {
			before := e.account(e.w.Alice.Account).Booked
			r := c.post(v+"/deposit", url.Values{"amount": {a}, "key": {katong.NewKey()}})
			if r.code != http.StatusBadRequest || errCode(r.body) != string(katong.EInvalid) ||
				!strings.Contains(r.body, `aria-invalid="true"`) {
				t.Errorf("amount %q = %d %s; want 400 INVALID_INPUT on the field", a, r.code, errCode(r.body))
			}
			if got := e.account(e.w.Alice.Account).Booked; got != before {
				t.Errorf("amount %q changed the balance", a)
			}
		}
	})

	t.Run("ErrKey", func(t *testing.T) {
		for _, k := range []string{"", "abc", katong.NewKey()[:35] + "g"} {
			if r := c.post(v+"/deposit", url.Values{"amount": {"1"}, "key": {k}}); r.code != http.StatusBadRequest {
				t.Errorf("key %q = %d; want 400", k, r.code)
			}
		}
	})

	t.Run("ErrOtherSessionsVisit", func(t *testing.T) {
		other := e.login("t001") // the same teller, another session
		before := e.account(e.w.Alice.Account).Booked
		r := other.post(v+"/deposit", url.Values{"amount": {"1"}, "key": {katong.NewKey()}})
		unknown := other.post("/visits/aaaaaaaaaaaaaaaaaaaaaaaa/deposit", url.Values{"amount": {"1"}, "key": {katong.NewKey()}})
		if r.code != http.StatusNotFound || stripCSRF(r.body) != stripCSRF(unknown.body) {
			t.Errorf("another session's visit = %d; want the 404 of an unknown visit", r.code)
		}
		if got := e.account(e.w.Alice.Account).Booked; got != before {
			t.Error("a deposit went through another session's visit")
		}
	})

	t.Run("ErrFrozen", func(t *testing.T) {
		if err := e.w.Bank.DB.Ledger().SetStatus(context.Background(), e.w.Alice.Account, katong.StatusFrozen, "异常交易"); err != nil {
			t.Fatal(err)
		}
		defer e.w.Bank.DB.Ledger().SetStatus(context.Background(), e.w.Alice.Account, katong.StatusActive, "")
		for _, kind := range []string{"deposit", "withdraw"} {
			r := c.post(v+"/"+kind, url.Values{"amount": {"1"}, "key": {katong.NewKey()}})
			if r.code != http.StatusForbidden || errCode(r.body) != string(katong.EAbnormal) || strings.Contains(r.body, `id="after"`) {
				t.Errorf("%s on a frozen account = %d %s; want 403 ACCOUNT_ABNORMAL without a balance", kind, r.code, errCode(r.body))
			}
		}
		// The visit page now shows the freeze, not the old balance.
		r := c.get(v)
		if r.code != http.StatusForbidden || strings.Contains(r.body, "¥") || !strings.Contains(r.body, "异常交易") {
			t.Errorf("visit of a frozen account = %d, shows money or lacks the reason", r.code)
		}
	})
}
