package openbanking_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
	"katong/storetest"
)

const payments = "/open-banking/v4.0/pisp/wallet-payments"

type paymentBody struct {
	Data struct {
		WalletPaymentId, AccountId, Status, Reference, CreationDateTime string
		InstructedAmount, RefundedAmount                                struct{ Amount, Currency string }
		Refunds                                                         []struct {
			WalletRefundId string
			Amount         struct{ Amount string }
		}
	}
}

type refundBody struct {
	Data struct{ WalletRefundId, WalletPaymentId, Status string }
}

func payBody(acct, amount, ref string) map[string]any {
	return map[string]any{"Data": map[string]any{"AccountId": acct,
		"InstructedAmount": map[string]any{"Amount": amount, "Currency": "CNY"}, "Reference": ref}}
}

func refBody(amount, ref string) map[string]any {
	return map[string]any{"Data": map[string]any{"Amount": map[string]any{"Amount": amount, "Currency": "CNY"}, "Reference": ref}}
}

func (e *env) pay(tok, key string, body any) *resp {
	e.t.Helper()
	return e.api("POST", payments, tok, body, header("x-idempotency-key", key))
}

func (e *env) refund(tok, payment, key string, body any) *resp {
	e.t.Helper()
	return e.api("POST", payments+"/"+payment+"/refunds", tok, body, header("x-idempotency-key", key))
}

func (e *env) booked(a katong.AccountID) katong.Amount {
	e.t.Helper()
	acct, err := e.w.Bank.DB.Ledger().Account(context.Background(), a)
	if err != nil {
		e.t.Fatal(err)
	}
	return acct.Booked
}

// TestWalletPayments: the payment extension's answers and idempotency
// (T3): replay, 422 on a changed body, 409 in flight, and the ledger's
// refusals mapped as docs/bank-link.md says.
func TestWalletPayments(t *testing.T) {
	e := newEnv(t)
	a := e.w.Alice
	g := e.authorise(e.wallet, allPerms, a, nil)
	acc := g.accounts[0]
	before := e.booked(a.Account)

	key := katong.NewKey()
	r := e.pay(g.access, key, payBody(acc, "12.34", "merchant order 42"))
	if r.Status != 201 {
		t.Fatalf("payment: %d %s", r.Status, r.Body)
	}
	var p paymentBody
	r.json(t, &p)
	if p.Data.Status != "AcceptedSettlementCompleted" || p.Data.AccountId != acc || p.Data.InstructedAmount.Amount != "12.34" ||
		p.Data.Reference != "merchant order 42" || p.Data.WalletPaymentId == "" || r.Header.Get("Location") == "" {
		t.Errorf("payment answer %s", r.Body)
	}
	if got := e.booked(a.Account); got != before-1234 {
		t.Errorf("booked %s after paying 12.34 from %s", got, before)
	}
	// Replay: the same answer, no second debit.
	r2 := e.pay(g.access, key, payBody(acc, "12.34", "merchant order 42"))
	var p2 paymentBody
	r2.json(t, &p2)
	if r2.Status != 201 || p2.Data.WalletPaymentId != p.Data.WalletPaymentId {
		t.Errorf("replay: %d %s", r2.Status, r2.Body)
	}
	// The same key with another body: 422, nothing changes.
	for name, body := range map[string]any{
		"amount":    payBody(acc, "12.35", "merchant order 42"),
		"reference": payBody(acc, "12.34", "merchant order 43"),
	} {
		if r := e.pay(g.access, key, body); r.Status != 422 || r.Header.Get("X-Katong-Code") != "IDEMPOTENCY_MISMATCH" {
			t.Errorf("same key, other %s: %d %s", name, r.Status, r.Body)
		}
	}
	if got := e.booked(a.Account); got != before-1234 {
		t.Errorf("booked %s after replays; want %s", got, before-1234)
	}
	// The key: required, a UUID.
	if r := e.api("POST", payments, g.access, payBody(acc, "1.00", "")); r.Status != 400 || errorCode(t, r) != "U007" {
		t.Errorf("no x-idempotency-key: %d %s", r.Status, r.Body)
	}
	if r := e.pay(g.access, "order-42", payBody(acc, "1.00", "")); r.Status != 400 || errorCode(t, r) != "U006" {
		t.Errorf("a key that is not a UUID: %d %s", r.Status, r.Body)
	}
	// Bad amounts and currencies.
	for name, body := range map[string]any{
		"negative": payBody(acc, "-1.00", ""), "zero": payBody(acc, "0.00", ""), "exponent": payBody(acc, "1e3", ""),
		"3 decimals": payBody(acc, "1.001", ""), "number": map[string]any{"Data": map[string]any{"AccountId": acc,
			"InstructedAmount": map[string]any{"Amount": 1, "Currency": "CNY"}}},
		"card number in reference": payBody(acc, "1.00", "card 6222021234567894"),
	} {
		if r := e.pay(g.access, katong.NewKey(), body); r.Status != 400 || r.Header.Get("X-Katong-Code") != "INVALID_INPUT" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := e.pay(g.access, katong.NewKey(), `{"Data":{"Reference":"`+strings.Repeat("x", 1<<20)+`"}}`); r.Status != 413 {
		t.Errorf("a 1 MiB body: %d; want 413", r.Status)
	}
	usd := map[string]any{"Data": map[string]any{"AccountId": acc, "InstructedAmount": map[string]any{"Amount": "1.00", "Currency": "USD"}}}
	if r := e.pay(g.access, katong.NewKey(), usd); r.Status != 400 || errorCode(t, r) != "U023" {
		t.Errorf("USD: %d %s", r.Status, r.Body)
	}
	// Insufficient funds: 400 U002 INSUFFICIENT_FUNDS; the key is free again.
	big := katong.NewKey()
	r = e.pay(g.access, big, payBody(acc, "100000.00", "too much"))
	if r.Status != 400 || errorCode(t, r) != "U002" || r.Header.Get("X-Katong-Code") != "INSUFFICIENT_FUNDS" {
		t.Errorf("insufficient funds: %d %s %s", r.Status, r.Header.Get("X-Katong-Code"), r.Body)
	}
	e.post(katong.TxnDeposit, a.Account, 10000000, "top up")
	if r := e.pay(g.access, big, payBody(acc, "100000.00", "too much")); r.Status != 201 {
		t.Errorf("the same key after topping up: %d %s", r.Status, r.Body)
	}
	// Accounts: unknown 400 U011, another customer's 403.
	if r := e.pay(g.access, katong.NewKey(), payBody("acc-nosuchaccount", "1.00", "")); r.Status != 400 || errorCode(t, r) != "U011" {
		t.Errorf("unknown account: %d %s", r.Status, r.Body)
	}
	gb := e.authorise(e.wallet, allPerms, e.w.Bob, nil)
	if r := e.pay(g.access, katong.NewKey(), payBody(gb.accounts[0], "1.00", "")); r.Status != 403 || r.Header.Get("X-Katong-Code") != "ACCOUNT_NOT_FOUND" {
		t.Errorf("Bob's account under Alice's consent: %d %s", r.Status, r.Body)
	}
	// Tokens: an app token cannot pay; a client without payments cannot.
	if r := e.pay(g.app, katong.NewKey(), payBody(acc, "1.00", "")); r.Status != 403 {
		t.Errorf("payment with an app token: %d", r.Status)
	}
	gr := e.authorise(e.reader, allPerms, a, nil)
	if r := e.pay(gr.access, katong.NewKey(), payBody(gr.accounts[0], "1.00", "")); r.Status != 403 || r.Header.Get("X-Katong-Code") != "FORBIDDEN" {
		t.Errorf("a client without payments: %d %s", r.Status, r.Body)
	}
	// Frozen: 403 U009 ACCOUNT_ABNORMAL.
	gf := e.authorise(e.wallet, allPerms, e.w.Frozen, nil)
	r = e.pay(gf.access, katong.NewKey(), payBody(gf.accounts[0], "1.00", ""))
	if r.Status != 403 || errorCode(t, r) != "U009" || r.Header.Get("X-Katong-Code") != "ACCOUNT_ABNORMAL" {
		t.Errorf("frozen: %d %s %s", r.Status, r.Header.Get("X-Katong-Code"), r.Body)
	}
	// GET: the payment with its refunds; unknown ids are 400 U011.
	r = e.api("GET", payments+"/"+p.Data.WalletPaymentId, g.access, nil)
	var got paymentBody
	r.json(t, &got)
	if r.Status != 200 || got.Data.RefundedAmount.Amount != "0.00" || got.Data.InstructedAmount.Amount != "12.34" {
		t.Errorf("GET payment: %d %s", r.Status, r.Body)
	}
	if r := e.api("GET", payments+"/wp-nosuchpayment", g.access, nil); r.Status != 400 || errorCode(t, r) != "U011" {
		t.Errorf("GET unknown payment: %d", r.Status)
	}
	if r := e.api("GET", payments+"/"+p.Data.WalletPaymentId, gr.access, nil); r.Status != 403 {
		t.Errorf("GET payment by a client without payments: %d", r.Status)
	}
	// After revocation, the consent token cannot pay.
	e.api("DELETE", "/open-banking/v4.0/aisp/account-access-consents/"+g.consent, g.app, nil)
	if r := e.pay(g.access, katong.NewKey(), payBody(acc, "1.00", "")); r.Status != 401 {
		t.Errorf("payment after the consent was deleted: %d", r.Status)
	}
}

// TestPaymentInFlight: a key claimed by a request still running (here on
// "another instance", a claim row) is 409; once the claim is older than
// its time-out, the next retry takes it over and finishes it, once.
func TestPaymentInFlight(t *testing.T) {
	e := newEnv(t)
	a := e.w.Alice
	g := e.authorise(e.wallet, allPerms, a, nil)
	before := e.booked(a.Account)
	key := katong.NewKey()
	fp := (&ledger.Request{Client: "ob:wallet", Key: key, Kind: katong.TxnPayment, From: a.Account, Amount: 500, Memo: "m"}).Fingerprint()
	now := e.clock.Now().UnixMicro()
	if _, err := e.w.Bank.DB.Exec(`INSERT INTO ob_payments (id, client_id, idem_key, fingerprint, consent_id, account_id, ob_account_id,
		amount, refunded, reference, status, txn_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 'pending', 0, $10, $10)`,
		"wp-inflight", "wallet", key, fp, g.consent, a.Account, g.accounts[0], 500, "m", now); err != nil {
		t.Fatal(err)
	}
	r := e.pay(g.access, key, payBody(g.accounts[0], "5.00", "m"))
	if r.Status != 409 || errorCode(t, r) != "U029" || r.Header.Get("X-Katong-Code") != "IDEMPOTENCY_CONFLICT" {
		t.Errorf("in flight: %d %s", r.Status, r.Body)
	}
	if r := e.pay(g.access, key, payBody(g.accounts[0], "6.00", "m")); r.Status != 422 {
		t.Errorf("in flight, other body: %d; want 422", r.Status)
	}
	e.clock.Advance(31 * time.Second)
	r = e.pay(g.access, key, payBody(g.accounts[0], "5.00", "m"))
	var p paymentBody
	r.json(t, &p)
	if r.Status != 201 || p.Data.WalletPaymentId != "wp-inflight" {
		t.Errorf("retry after the claim died: %d %s", r.Status, r.Body)
	}
	if r := e.pay(g.access, key, payBody(g.accounts[0], "5.00", "m")); r.Status != 201 {
		t.Errorf("replay: %d", r.Status)
	}
	if got := e.booked(a.Account); got != before-500 {
		t.Errorf("booked %s; want exactly one debit of 5.00 from %s", got, before)
	}
}

// TestPaymentsConcurrent runs the concurrency cases on SQLite and, when
// KATONG_TEST_POSTGRES is set, on PostgreSQL.
func TestPaymentsConcurrent(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testConcurrent(t, nil) })
	t.Run("postgres", func(t *testing.T) { testConcurrent(t, storetest.PostgresSchema(t, sqlstore.BankSchema)) })
}

// testConcurrent: 16 requests with one key make one payment; 16 refunds
// of one payment never exceed it; 16 retries of one refund key refund once.
func testConcurrent(t *testing.T, db *sqlstore.DB) {
	e := newEnvOn(t, db)
	a := e.w.Alice
	g := e.authorise(e.wallet, allPerms, a, nil)
	acc := g.accounts[0]
	before := e.booked(a.Account)

	parallel := func(n int, f func(i int) *resp) []*resp {
		out := make([]*resp, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); out[i] = f(i) }()
		}
		wg.Wait()
		return out
	}

	// One key, 16 at once: one payment; every answer 201 (same id) or 409.
	key := katong.NewKey()
	ids := map[string]int{}
	for _, r := range parallel(16, func(int) *resp { return e.pay(g.access, key, payBody(acc, "100.00", "order 1")) }) {
		switch r.Status {
		case 201:
			var p paymentBody
			r.json(t, &p)
			ids[p.Data.WalletPaymentId]++
		case 409:
		default:
			t.Errorf("same key at once: %d %s", r.Status, r.Body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("same key at once gave payments %v; want one", ids)
	}
	if got := e.booked(a.Account); got != before-10000 {
		t.Fatalf("booked %s; want one debit of 100.00 from %s", got, before)
	}
	var pid string
	for id := range ids {
		pid = id
	}

	// 16 refunds of 7.00 against 100.00: exactly 14 fit.
	ok := 0
	for _, r := range parallel(16, func(i int) *resp {
		return e.refund(g.access, pid, katong.NewKey(), refBody("7.00", fmt.Sprint("r", i)))
	}) {
		switch {
		case r.Status == 201:
			ok++
		case r.Status == 400 && r.Header.Get("X-Katong-Code") == "INVALID_INPUT":
		default:
			t.Errorf("refund: %d %s", r.Status, r.Body)
		}
	}
	if ok != 14 {
		t.Errorf("%d refunds of 7.00 against 100.00 succeeded; want 14", ok)
	}
	var p paymentBody
	e.api("GET", payments+"/"+pid, g.access, nil).json(t, &p)
	if p.Data.RefundedAmount.Amount != "98.00" || len(p.Data.Refunds) != 14 {
		t.Errorf("after the refunds: refunded %s in %d refunds; want 98.00 in 14", p.Data.RefundedAmount.Amount, len(p.Data.Refunds))
	}
	if got := e.booked(a.Account); got != before-200 {
		t.Errorf("booked %s; want %s (100.00 paid, 98.00 back)", got, before-200)
	}
	if r := e.refund(g.access, pid, katong.NewKey(), refBody("2.01", "")); r.Status != 400 {
		t.Errorf("refund beyond what is left: %d", r.Status)
	}

	// One refund key, 16 at once (with an app token: refunds need no consent).
	rkey := katong.NewKey()
	refunds := map[string]int{}
	for _, r := range parallel(16, func(int) *resp { return e.refund(g.app, pid, rkey, refBody("1.50", "again")) }) {
		switch r.Status {
		case 201:
			var f refundBody
			r.json(t, &f)
			refunds[f.Data.WalletRefundId]++
		case 409:
		default:
			t.Errorf("same refund key at once: %d %s", r.Status, r.Body)
		}
	}
	if len(refunds) != 1 {
		t.Errorf("same refund key at once gave refunds %v; want one", refunds)
	}
	if r := e.refund(g.app, pid, rkey, refBody("1.60", "again")); r.Status != 422 {
		t.Errorf("same refund key, other amount: %d", r.Status)
	}
	e.api("GET", payments+"/"+pid, g.access, nil).json(t, &p)
	if p.Data.RefundedAmount.Amount != "99.50" || len(p.Data.Refunds) != 15 {
		t.Errorf("after the retried refund: refunded %s in %d; want 99.50 in 15", p.Data.RefundedAmount.Amount, len(p.Data.Refunds))
	}
	if got := e.booked(a.Account); got != before-50 {
		t.Errorf("booked %s; want %s", got, before-50)
	}
	if v := storetest.LedgerViolations(context.Background(), e.w.Bank.DB); len(v) != 0 {
		t.Errorf("ledger invariants: %v", v)
	}
	if r := e.api("GET", payments+"/"+pid, "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d", r.Status)
	}
}
