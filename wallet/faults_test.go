package wallet_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"katong/wallet"
	"katong/wallet/faultproxy"
)

// waitFor polls cond for at most ten seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

// TestFaults is T5: a fault proxy between wallet and bank refuses, black-
// holes, resets mid-answer and answers garbage. Each gives NETWORK_ERROR
// (never "not found" or "abnormal", never a number) within the deadline
// plus one second; no goroutine is left behind; the breaker opens after N
// failures, fails fast while open, and closes after the bank recovers.
func TestFaults(t *testing.T) {
	const deadline = 300 * time.Millisecond
	const coolDown = 400 * time.Millisecond
	e := newEnv(t, options{proxy: true, deadline: deadline, breaker: wallet.Breaker{Failures: 3, CoolDown: coolDown}, settle: time.Hour})
	tok := e.user("13800138000")
	id := e.bind(tok, e.world.Alice)
	path := fmt.Sprintf("/wallet/api/v1/cards/%d/balance", id)
	e.do("GET", path, tok, nil).want(t, 200, "")
	page := e.login("13800138000")

	idle := func() {
		e.w.CloseIdleConnections()
		e.hc.CloseIdleConnections()
		page.c.CloseIdleConnections()
	}
	idle()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	// recovered lets the bank answer again and waits for the breaker to close.
	recovered := func(t *testing.T) {
		if err := e.proxy.SetMode(faultproxy.Pass); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the bank to answer", func() bool { return e.do("GET", path, tok, nil).status == 200 })
	}
	for _, m := range []faultproxy.Mode{faultproxy.Refuse, faultproxy.BlackHole, faultproxy.Reset, faultproxy.Garbage} {
		t.Run(m.String(), func(t *testing.T) {
			recovered(t)
			if err := e.proxy.SetMode(m); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			a := e.do("GET", path, tok, nil)
			took := time.Since(start)
			a.want(t, 502, "NETWORK_ERROR")
			if took > deadline+time.Second {
				t.Fatalf("%v: the answer took %v; want at most %v", m, took, deadline+time.Second)
			}
			if strings.Contains(string(a.body), "1205.07") {
				t.Fatalf("a number in a network error: %s", a.body)
			}
			// The page says so, with what to do next.
			start = time.Now()
			p := page.call("GET", fmt.Sprintf("/wallet/cards/%d", id), nil)
			if took := time.Since(start); took > deadline+time.Second {
				t.Fatalf("%v: the page took %v", m, took)
			}
			body := string(p.body)
			if p.status != 502 || !strings.Contains(body, "网络异常") || !strings.Contains(body, `id="retry"`) || strings.Contains(body, "1,205.07") {
				t.Fatalf("%v: card page %d: %s", m, p.status, body)
			}
		})
	}

	t.Run("breaker", func(t *testing.T) {
		recovered(t)
		e.proxy.SetMode(faultproxy.BlackHole)
		for i := 0; i < 3; i++ {
			e.do("GET", path, tok, nil).want(t, 502, "NETWORK_ERROR")
		}
		if s := e.w.BreakerState("galaxy"); s != "open" {
			t.Fatalf("breaker %s after 3 failures; want open", s)
		}
		// Open: refused at once, nothing reaches the bank.
		before := e.proxy.Accepted()
		a := e.do("GET", path, tok, nil).want(t, 502, "NETWORK_ERROR")
		if e.proxy.Accepted() != before {
			t.Fatal("a call went out while the breaker was open")
		}
		if a.json(t)["retry_after"] == nil {
			t.Errorf("no retry_after while open: %s", a.body)
		}
		// The bank recovers; after the cool-down a probe closes the breaker.
		e.proxy.SetMode(faultproxy.Pass)
		time.Sleep(coolDown + 50*time.Millisecond)
		if s := e.w.BreakerState("galaxy"); s != "half-open" {
			t.Fatalf("breaker %s after the cool-down; want half-open", s)
		}
		e.do("GET", path, tok, nil).want(t, 200, "")
		if s := e.w.BreakerState("galaxy"); s != "closed" {
			t.Fatalf("breaker %s after a success; want closed", s)
		}
	})

	recovered(t)
	idle()
	n := 0
	waitFor(t, "goroutines back to the baseline", func() bool {
		idle()
		n = runtime.NumGoroutine()
		return n <= base
	})
	t.Logf("goroutines: %d at the start, %d at the end", base, n)
	e.checkNoPAN(e.world.Alice)
}

// TestPaymentAnswerLost: the bank pays but its answer is reset on the
// way; the payment stays pending with its stored key, and the user's retry
// (or the settler) asks again with the same key: one debit.
func TestPaymentAnswerLost(t *testing.T) {
	e := newEnv(t, options{proxy: true, deadline: 2 * time.Second, breaker: breakerOff, settle: 200 * time.Millisecond})
	alice := e.world.Alice
	tok := e.user("13800138000")
	id := e.bind(tok, alice)
	start := e.bankBalance(alice)
	body := map[string]any{"card_id": id, "amount": "20.00", "reference": "lost answer 1"}
	const key = "a1b2c3d4-0000-4000-8000-000000000001"

	e.proxy.SetMode(faultproxy.Reset)
	a := e.do("POST", "/wallet/api/v1/payments", tok, body, "Idempotency-Key", key).want(t, 502, "NETWORK_ERROR")
	loc := a.header.Get("Location")
	if loc == "" {
		t.Fatal("no Location for the pending payment")
	}
	if got := e.bankBalance(alice); got != start-2000 {
		t.Fatalf("bank balance %d; the bank should have paid (%d) with the answer lost", got, start-2000)
	}
	e.proxy.SetMode(faultproxy.Pass)
	p := e.do("POST", "/wallet/api/v1/payments", tok, body, "Idempotency-Key", key).want(t, 201, "").json(t)
	if p["status"] != "paid" || fmt.Sprintf("/wallet/api/v1/payments/%.0f", p["id"]) != loc {
		t.Fatalf("retry = %v; want %s paid", p, loc)
	}
	if got := e.bankBalance(alice); got != start-2000 {
		t.Fatalf("bank balance %d after the retry; want one debit (%d)", got, start-2000)
	}

	// Left to the settler: it finishes the payment with the same key.
	body["reference"] = "lost answer 2"
	e.proxy.SetMode(faultproxy.Reset)
	a = e.do("POST", "/wallet/api/v1/payments", tok, body).want(t, 502, "NETWORK_ERROR")
	loc = a.header.Get("Location")
	if s := e.do("GET", loc, tok, nil).json(t)["status"]; s != "pending" {
		t.Fatalf("status %v with the answer lost; want pending", s)
	}
	e.proxy.SetMode(faultproxy.Pass)
	waitFor(t, "the settler to finish the payment", func() bool {
		return e.do("GET", loc, tok, nil).json(t)["status"] == "paid"
	})
	if got := e.bankBalance(alice); got != start-4000 {
		t.Fatalf("bank balance %d; want two debits in all (%d)", got, start-4000)
	}
}

// TestRefundAnswerLost: the bank refunds but its answer is reset on the
// way; the refund stays pending and the settler asks again with the same
// key: one credit.
func TestRefundAnswerLost(t *testing.T) {
	e := newEnv(t, options{proxy: true, deadline: 2 * time.Second, breaker: breakerOff, settle: 200 * time.Millisecond})
	alice := e.world.Alice
	tok := e.user(alice.Mobile)
	id := e.bind(tok, alice)
	pay := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "20.00", "reference": "refund lost"}).
		want(t, 201, "").json(t)
	path := fmt.Sprintf("/wallet/api/v1/payments/%.0f", pay["id"])
	start := e.bankBalance(alice)

	e.proxy.SetMode(faultproxy.Reset)
	e.do("POST", path+"/refunds", tok, map[string]string{"amount": "5.00", "reference": "退款"}).want(t, 502, "NETWORK_ERROR")
	if got := e.bankBalance(alice); got != start+500 {
		t.Fatalf("bank balance %d; the bank should have refunded (%d) with the answer lost", got, start+500)
	}
	refund := func() map[string]any {
		rs := e.do("GET", path, tok, nil).want(t, 200, "").json(t)["refunds"].([]any)
		if len(rs) != 1 {
			t.Fatalf("%d refunds; want 1", len(rs))
		}
		return rs[0].(map[string]any)
	}
	if s := refund()["status"]; s != "pending" {
		t.Fatalf("refund %v with the answer lost; want pending", s)
	}
	e.proxy.SetMode(faultproxy.Pass)
	waitFor(t, "the settler to finish the refund", func() bool { return refund()["status"] == "paid" })
	if got := e.bankBalance(alice); got != start+500 {
		t.Fatalf("bank balance %d after the settler; want one credit (%d)", got, start+500)
	}
}

// TestUnbindWhileBankDown: the card leaves the wallet at once; the
// consent's revocation is queued durably and made when the bank is back.
func TestUnbindWhileBankDown(t *testing.T) {
	e := newEnv(t, options{proxy: true, deadline: 300 * time.Millisecond, breaker: breakerOff, settle: 100 * time.Millisecond})
	tok := e.user("13800138000")
	id := e.bind(tok, e.world.Alice)
	var consent string
	if err := e.db.QueryRow(`SELECT consent_id FROM bindings WHERE id = $1`, id).Scan(&consent); err != nil {
		t.Fatal(err)
	}
	bankStatus := func() string {
		var s string
		if err := e.world.Bank.DB.QueryRow(`SELECT status FROM ob_consents WHERE id = $1`, consent).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := bankStatus(); s != "AUTH" {
		t.Fatalf("consent %s at the bank; want AUTH", s)
	}

	e.proxy.SetMode(faultproxy.Refuse)
	e.do("DELETE", fmt.Sprintf("/wallet/api/v1/cards/%d", id), tok, nil).want(t, 204, "")
	if n := len(e.do("GET", "/wallet/api/v1/cards", tok, nil).json(t)["cards"].([]any)); n != 0 {
		t.Fatalf("%d cards right after unbinding; want 0", n)
	}
	waitFor(t, "a failed revocation", func() bool {
		var tries int64
		e.db.QueryRow(`SELECT revoke_tries FROM bindings WHERE id = $1`, id).Scan(&tries)
		return tries > 0
	})
	if s := bankStatus(); s != "AUTH" {
		t.Fatalf("consent %s while the bank was down", s)
	}
	e.proxy.SetMode(faultproxy.Pass)
	waitFor(t, "the revocation", func() bool {
		var status string
		e.db.QueryRow(`SELECT status FROM bindings WHERE id = $1`, id).Scan(&status)
		return status == "revoked"
	})
	if s := bankStatus(); s != "CANC" {
		t.Fatalf("consent %s at the bank after the revocation; want CANC", s)
	}
	var sealed []byte
	e.db.QueryRow(`SELECT access_sealed FROM bindings WHERE id = $1`, id).Scan(&sealed)
	if len(sealed) != 0 {
		t.Fatal("the revoked binding still holds its tokens")
	}
}
