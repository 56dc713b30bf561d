package wallet_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/banktest"
	"katong/sqlstore"
	"katong/storetest"
	"katong/wallet/faultproxy"
)

// TestBindBalancePayRevoke is the binding flow end to end over real HTTP
// against the real bank side: consent created, approved on the bank's page,
// tokens used, balance and records read, a payment and a refund moving the
// bank's ledger, then the consent revoked by the customer at the bank
// (ACCOUNT_NOT_FOUND afterwards), and the card unbound.
func TestBindBalancePayRevoke(t *testing.T) {
	bindBalancePayRevoke(t, newEnv(t, options{}))
}

// TestPostgres runs the same with the wallet's database on PostgreSQL
// (KATONG_TEST_POSTGRES; skipped without it).
func TestPostgres(t *testing.T) {
	storetest.MustHavePostgres(t)
	bindBalancePayRevoke(t, newEnv(t, options{walletDB: func(t testing.TB) *sqlstore.DB {
		return storetest.PostgresSchema(t, sqlstore.WalletSchema)
	}}))
}

func bindBalancePayRevoke(t *testing.T, e *env) {
	alice := e.world.Alice
	tok := e.user("13800138000")

	id := e.bind(tok, alice)

	cards := e.do("GET", "/wallet/api/v1/cards", tok, nil).want(t, 200, "").json(t)["cards"].([]any)
	if len(cards) != 1 {
		t.Fatalf("cards = %v; want 1", cards)
	}
	c := cards[0].(map[string]any)
	if c["masked"] != "6222 **** **** 7894" || c["tail"] != "7894" || c["product"] != "储蓄卡" ||
		c["bank"].(map[string]any)["name"] != "星河银行" {
		t.Fatalf("card = %v", c)
	}

	path := fmt.Sprintf("/wallet/api/v1/cards/%d", id)
	bal := e.do("GET", path+"/balance", tok, nil).want(t, 200, "")
	b := bal.json(t)
	if b["available"] != "1205.07" || b["booked"] != "1205.07" || b["available_fen"] != float64(120507) {
		t.Fatalf("balance = %v; want 1205.07", b)
	}
	if bal.header.Get("Cache-Control") != "no-store" {
		t.Errorf("balance Cache-Control = %q; want no-store", bal.header.Get("Cache-Control"))
	}
	asOf, err := time.Parse(time.RFC3339, b["as_of"].(string))
	if err != nil || !strings.HasSuffix(b["as_of"].(string), "+08:00") || time.Since(asOf) > time.Minute {
		t.Errorf("as_of = %v; want the bank's time now in +08:00", b["as_of"])
	}
	recs := e.do("GET", path+"/records", tok, nil).want(t, 200, "").json(t)["records"].([]any)
	if len(recs) == 0 || recs[0].(map[string]any)["amount"] != "1205.07" {
		t.Fatalf("records = %v; want the opening deposit", recs)
	}

	// Pay: the bank's ledger moves at once, and the wallet reads it back.
	key := "0f8e5c1a-6b9d-4c1e-9a57-2d3b4c5d6e7f"
	pay := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "12.34", "reference": "merchant order 42"},
		"Idempotency-Key", key).want(t, 201, "").json(t)
	if pay["status"] != "paid" || pay["bank_payment_id"] == "" {
		t.Fatalf("payment = %v", pay)
	}
	if got := e.bankBalance(alice); got != 120507-1234 {
		t.Fatalf("bank balance after paying = %d; want %d", got, 120507-1234)
	}
	// The same key again is the same payment, not a second debit.
	again := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "12.34", "reference": "merchant order 42"},
		"Idempotency-Key", key).want(t, 201, "").json(t)
	if again["id"] != pay["id"] || e.bankBalance(alice) != 120507-1234 {
		t.Fatalf("replay = %v, bank %d; want the same payment, one debit", again, e.bankBalance(alice))
	}
	e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "99.00", "reference": "merchant order 42"},
		"Idempotency-Key", key).want(t, 422, "IDEMPOTENCY_MISMATCH")
	if b := e.do("GET", path+"/balance", tok, nil).want(t, 200, "").json(t); b["available"] != "1192.73" {
		t.Fatalf("balance after paying = %v; want 1192.73", b["available"])
	}

	pid := int64(pay["id"].(float64))
	ref := e.do("POST", fmt.Sprintf("/wallet/api/v1/payments/%d/refunds", pid), tok, map[string]string{"amount": "2.00", "reference": "退款"}).
		want(t, 201, "").json(t)
	if ref["status"] != "paid" || e.bankBalance(alice) != 120507-1234+200 {
		t.Fatalf("refund = %v, bank %d", ref, e.bankBalance(alice))
	}
	e.do("POST", fmt.Sprintf("/wallet/api/v1/payments/%d/refunds", pid), tok, map[string]string{"amount": "10.35", "reference": "too much"}).
		want(t, 400, "INVALID_INPUT")
	got := e.do("GET", fmt.Sprintf("/wallet/api/v1/payments/%d", pid), tok, nil).want(t, 200, "").json(t)
	if got["refunded"] != "2.00" || len(got["refunds"].([]any)) != 1 {
		t.Fatalf("payment = %v; want 2.00 refunded", got)
	}

	// The customer revokes the consent at the bank (授权管理): the wallet's
	// tokens stop working and the card reads as ACCOUNT_NOT_FOUND.
	e.revokeAtBank(alice)
	e.do("GET", path+"/balance", tok, nil).want(t, 404, "ACCOUNT_NOT_FOUND")
	e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "1.00", "reference": "after revocation"}).
		want(t, 404, "ACCOUNT_NOT_FOUND")

	// Unbinding: the card disappears at once.
	e.do("DELETE", path, tok, nil).want(t, 204, "")
	e.do("GET", path, tok, nil).want(t, 404, "ACCOUNT_NOT_FOUND")
	e.do("GET", path+"/balance", tok, nil).want(t, 404, "ACCOUNT_NOT_FOUND") // not from the binding cache
	if n := len(e.do("GET", "/wallet/api/v1/cards", tok, nil).json(t)["cards"].([]any)); n != 0 {
		t.Fatalf("%d cards after unbinding; want 0", n)
	}
	e.checkNoPAN(alice, e.world.Bob, e.world.Frozen)
}

// revokeAtBank revokes every consent of the person on the bank's 授权管理 page.
func (e *env) revokeAtBank(p banktest.Person) {
	e.t.Helper()
	b := newBrowser(e.t)
	page := e.page(b, "GET", e.direct+"/oauth/consents", nil)
	form := formValues(page)
	form.Set("mobile", p.Mobile)
	form.Set("password", p.Password)
	form.Set("action", "login")
	page = e.page(b, "POST", e.absolute(e.direct, formAction(page)), form)
	m := regexp.MustCompile(`name="consent" value="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(m) == 0 {
		e.t.Fatalf("no consent to revoke at the bank: %.2000s", page)
	}
	for _, c := range m {
		f := formValues(page)
		f.Set("consent", c[1])
		f.Set("action", "revoke")
		e.page(b, "POST", e.absolute(e.direct, formAction(page)), f)
	}
}

// luhn completes a number with its Luhn check digit.
func luhn(s string) string {
	for d := '0'; d <= '9'; d++ {
		if katong.Luhn(s + string(d)) {
			return s + string(d)
		}
	}
	panic("unreachable")
}

func newBrowser(t testing.TB) *http.Client {
	jar := newJar(t)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestFrozenIsAbnormal: the bank reports the account frozen; the wallet
// says ACCOUNT_ABNORMAL with the bank's support number, and no balance.
func TestFrozenIsAbnormal(t *testing.T) {
	e := newEnv(t, options{})
	tok := e.user("13700137000")
	id := e.bind(tok, e.world.Frozen)
	a := e.do("GET", fmt.Sprintf("/wallet/api/v1/cards/%d/balance", id), tok, nil).want(t, 403, "ACCOUNT_ABNORMAL")
	if p := a.json(t); p["support"] != "95500" || strings.Contains(string(a.body), "99.00") {
		t.Fatalf("problem = %v; want the support number and no balance", p)
	}
	e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "1.00", "reference": "frozen"}).
		want(t, 403, "ACCOUNT_ABNORMAL")
	// The page says what to do next: call the bank.
	s := e.login("13700137000")
	p := s.call("GET", fmt.Sprintf("/wallet/cards/%d", id), nil)
	body := string(p.body)
	if p.status != 403 || !strings.Contains(body, "账户异常") || !strings.Contains(body, `href="tel:95500"`) || strings.Contains(body, "99.00") {
		t.Fatalf("card page of a frozen account: %d %s", p.status, body)
	}
}

// TestCrossBankAndBadCard: a card of no partner bank is CROSS_BANK_DENIED
// and a card failing Luhn a field error, both before any request reaches a
// bank.
func TestCrossBankAndBadCard(t *testing.T) {
	e := newEnv(t, options{})
	tok := e.user("13800138000")
	before := e.bankHits.Load()
	e.do("POST", "/wallet/api/v1/bind", tok, map[string]string{"card_number": luhn("621226000000000000")}).want(t, 403, "CROSS_BANK_DENIED")
	a := e.do("POST", "/wallet/api/v1/bind", tok, map[string]string{"card_number": "6222021234567890"}).want(t, 400, "INVALID_INPUT")
	if f := a.json(t)["field"]; f != "card_number" {
		t.Errorf("field = %v; want card_number", f)
	}
	e.do("POST", "/wallet/api/v1/bind", tok, map[string]string{"card_number": "6222 0212 3456 789x"}).want(t, 400, "INVALID_INPUT")
	if n := e.bankHits.Load() - before; n != 0 {
		t.Fatalf("%d requests reached the bank; want none", n)
	}
}

// TestClientOutdated: an app older than the minimum gets 426; a current
// app and a browser (no header) pass.
func TestClientOutdated(t *testing.T) {
	e := newEnv(t, options{minVersion: "3.2.0"})
	for _, v := range []string{"3.1.9", "2.9.99", "3", "garbage"} {
		a := e.do("POST", "/wallet/api/v1/sessions", "", map[string]string{"mobile": "13800138000", "password": "x"}, "X-Client-Version", v)
		a.want(t, 426, "CLIENT_OUTDATED")
	}
	tok := e.user("13800138000")
	e.do("GET", "/wallet/api/v1/cards", tok, nil, "X-Client-Version", "3.2.0").want(t, 200, "")
	e.do("GET", "/wallet/api/v1/cards", tok, nil, "X-Client-Version", "3.10.0").want(t, 200, "")
	e.do("GET", "/wallet/api/v1/cards", tok, nil).want(t, 200, "")
	e.do("GET", "/wallet/api/v1/cards", tok, nil, "X-Client-Version", "3.1.0").want(t, 426, "CLIENT_OUTDATED")
	req, _ := http.NewRequest("GET", e.url+"/wallet/login", nil)
	req.Header.Set("X-Client-Version", "1.0.0")
	if a := e.send(req); a.status != 426 || !strings.Contains(string(a.body), "3.2.0") {
		t.Fatalf("page for an old app: %d %s", a.status, a.body)
	}
}

// TestOwnership is the S8 matrix: user A asking for user B's card or
// payment, on every route and method, gets the same 404 as for an id that
// does not exist; B's data is untouched.
func TestOwnership(t *testing.T) {
	e := newEnv(t, options{})
	a := e.user("13800138000")
	b := e.user("13900139000")
	e.bind(a, e.world.Alice)
	bCard := e.bind(b, e.world.Bob)
	pay := e.do("POST", "/wallet/api/v1/payments", b, map[string]any{"card_id": bCard, "amount": "1.00", "reference": "B's order"}).
		want(t, 201, "").json(t)
	bPay := int64(pay["id"].(float64))
	const missing = 999999

	type call struct {
		method, path string
		body         any
	}
	routes := func(card, payment int64) []call {
		return []call{
			{"GET", fmt.Sprintf("/wallet/api/v1/cards/%d", card), nil},
			{"GET", fmt.Sprintf("/wallet/api/v1/cards/%d/balance", card), nil},
			{"GET", fmt.Sprintf("/wallet/api/v1/cards/%d/records", card), nil},
			{"DELETE", fmt.Sprintf("/wallet/api/v1/cards/%d", card), nil},
			{"POST", "/wallet/api/v1/payments", map[string]any{"card_id": card, "amount": "1.00", "reference": "A's try"}},
			{"GET", fmt.Sprintf("/wallet/api/v1/payments/%d", payment), nil},
			{"POST", fmt.Sprintf("/wallet/api/v1/payments/%d/refunds", payment), map[string]string{"amount": "1.00", "reference": "A's try"}},
		}
	}
	others, none := routes(bCard, bPay), routes(missing, missing)
	for i := range others {
		x := e.do(others[i].method, others[i].path, a, others[i].body)
		y := e.do(none[i].method, none[i].path, a, none[i].body)
		if x.status != 404 || x.code() != "ACCOUNT_NOT_FOUND" || !sameProblem(t, x, y) {
			t.Errorf("%s %s with B's id: %d %s; with a missing id: %d %s", others[i].method, others[i].path, x.status, x.body, y.status, y.body)
		}
	}
	// Pages too, with A's session cookie.
	pages := func(card, payment int64) []call {
		return []call{
			{"GET", fmt.Sprintf("/wallet/cards/%d", card), nil},
			{"GET", fmt.Sprintf("/wallet/cards/%d/pay", card), nil},
			{"POST", fmt.Sprintf("/wallet/cards/%d/pay", card), url.Values{"amount": {"1.00"}, "reference": {"x"}}},
			{"POST", fmt.Sprintf("/wallet/cards/%d/unbind", card), url.Values{}},
			{"GET", fmt.Sprintf("/wallet/payments/%d", payment), nil},
			{"POST", fmt.Sprintf("/wallet/payments/%d/retry", payment), url.Values{}},
			{"POST", fmt.Sprintf("/wallet/payments/%d/refunds", payment), url.Values{"amount": {"1.00"}, "reference": {"x"}}},
		}
	}
	s := e.login(e.world.Alice.Mobile)
	others, none = pages(bCard, bPay), pages(missing, missing)
	for i := range others {
		x, y := s.call(others[i].method, others[i].path, others[i].body), s.call(none[i].method, none[i].path, none[i].body)
		// The pages differ only by their own path (the language link).
		xs := strings.ReplaceAll(scrubID(x.body), others[i].path, "PATH")
		ys := strings.ReplaceAll(scrubID(y.body), none[i].path, "PATH")
		if x.status != 404 || y.status != 404 || xs != ys || !strings.Contains(xs, "账户不存在") {
			t.Errorf("page %s %s with B's id: %d; with a missing id: %d", others[i].method, others[i].path, x.status, y.status)
		}
	}
	// B's card and payment are as they were.
	e.do("GET", fmt.Sprintf("/wallet/api/v1/cards/%d/balance", bCard), b, nil).want(t, 200, "")
	if p := e.do("GET", fmt.Sprintf("/wallet/api/v1/payments/%d", bPay), b, nil).want(t, 200, "").json(t); p["refunded"] != "0.00" {
		t.Fatalf("B's payment = %v", p)
	}
	// Without a session: 401 on every API route.
	e.do("GET", fmt.Sprintf("/wallet/api/v1/cards/%d", bCard), "", nil).want(t, 401, "UNAUTHENTICATED")
	e.do("GET", fmt.Sprintf("/wallet/api/v1/cards/%d/balance", bCard), "not-a-token", nil).want(t, 401, "UNAUTHENTICATED")
}

var requestIDRE = regexp.MustCompile(`"request_id":"[^"]*"|(请求编号|Reference): [a-z2-7]+`)

func scrubID(b []byte) string { return requestIDRE.ReplaceAllString(string(b), "") }

// sameProblem compares two problem answers but for their request ids.
func sameProblem(t testing.TB, x, y answer) bool {
	t.Helper()
	return x.status == y.status && scrubID(x.body) == scrubID(y.body)
}

// TestLoginLockout: wrong passwords lock the mobile number; the right one
// is refused while locked.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t, options{})
	e.user("13800138000")
	for i := 0; i < 5; i++ {
		e.do("POST", "/wallet/api/v1/sessions", "", map[string]string{"mobile": "13800138000", "password": "wrong-password"}).
			want(t, 401, "UNAUTHENTICATED")
	}
	a := e.do("POST", "/wallet/api/v1/sessions", "", map[string]string{"mobile": "138 0013 8000", "password": password}).want(t, 429, "LOCKED")
	if a.header.Get("Retry-After") == "" {
		t.Error("no Retry-After on a locked login")
	}
	e.do("POST", "/wallet/api/v1/users", "", map[string]string{"mobile": "13800138000", "password": password}).want(t, 400, "INVALID_INPUT")
	e.do("POST", "/wallet/api/v1/users", "", map[string]string{"mobile": "12345", "password": password}).want(t, 400, "INVALID_INPUT")
	e.do("POST", "/wallet/api/v1/users", "", map[string]string{"mobile": "13900139000", "password": "password"}).want(t, 400, "INVALID_INPUT")
}

// TestLogout: a token stops working after log-out.
func TestLogout(t *testing.T) {
	e := newEnv(t, options{})
	tok := e.user("13800138000")
	e.do("GET", "/wallet/api/v1/cards", tok, nil).want(t, 200, "")
	e.do("DELETE", "/wallet/api/v1/sessions/current", tok, nil).want(t, 204, "")
	e.do("GET", "/wallet/api/v1/cards", tok, nil).want(t, 401, "UNAUTHENTICATED")
}

// TestBindStateIsTheSessions: the code and state of a binding are of no
// use to another session, and of no use twice.
func TestBindStateIsTheSessions(t *testing.T) {
	e := newEnv(t, options{})
	tok := e.user("13800138000")
	other := e.user("13900139000")
	a := e.do("POST", "/wallet/api/v1/bind", tok, map[string]string{"card_number": e.world.Alice.PAN}).want(t, 201, "")
	code, state := e.approve(a.json(t)["authorize_url"].(string), e.world.Alice)
	e.do("POST", "/wallet/api/v1/bind/callback", other, map[string]string{"state": state, "code": code}).want(t, 400, "INVALID_INPUT")
	e.do("POST", "/wallet/api/v1/bind/callback", tok, map[string]string{"state": state, "code": code}).want(t, 201, "")
	e.do("POST", "/wallet/api/v1/bind/callback", tok, map[string]string{"state": state, "code": code}).want(t, 400, "INVALID_INPUT")
	// The same card again is refused before the bank is asked.
	e.do("POST", "/wallet/api/v1/bind", tok, map[string]string{"card_number": e.world.Alice.PAN}).want(t, 400, "INVALID_INPUT")
	// Alice's card typed, Bob's card approved at the bank: the approved
	// accounts do not include the typed card, so nothing is bound (and the
	// consent is given back).
	a = e.do("POST", "/wallet/api/v1/bind", other, map[string]string{"card_number": "6222-0212-3456-7894"}).want(t, 201, "")
	code, state = e.approve(a.json(t)["authorize_url"].(string), e.world.Bob)
	e.do("POST", "/wallet/api/v1/bind/callback", other, map[string]string{"state": state, "code": code}).want(t, 404, "ACCOUNT_NOT_FOUND")
	if n := len(e.do("GET", "/wallet/api/v1/cards", other, nil).json(t)["cards"].([]any)); n != 0 {
		t.Fatalf("%d cards bound; want 0", n)
	}
	var consent string
	waitFor(t, "the unused consent to be given back", func() bool {
		return e.db.QueryRow(`SELECT consent_id FROM bindings WHERE status = 'revoked'`).Scan(&consent) == nil
	})
	var st string
	if e.world.Bank.DB.QueryRow(`SELECT status FROM ob_consents WHERE id = $1`, consent).Scan(&st); st != "CANC" {
		t.Fatalf("the unused consent is %q at the bank; want CANC", st)
	}
	e.checkNoPAN(e.world.Alice, e.world.Bob)
}

// TestRejectAtBank: the cardholder rejects the consent; nothing is bound.
func TestRejectAtBank(t *testing.T) {
	e := newEnv(t, options{})
	tok := e.user("13800138000")
	a := e.do("POST", "/wallet/api/v1/bind", tok, map[string]string{"card_number": e.world.Alice.PAN}).want(t, 201, "")
	u, _ := url.Parse(a.json(t)["authorize_url"].(string))
	e.do("POST", "/wallet/api/v1/bind/callback", tok, map[string]string{"state": u.Query().Get("state"), "error": "access_denied"}).
		want(t, 403, "FORBIDDEN")
	if n := len(e.do("GET", "/wallet/api/v1/cards", tok, nil).json(t)["cards"].([]any)); n != 0 {
		t.Fatalf("%d cards; want 0", n)
	}
	// Audited with the code, as every audit result is ("ok" or a code).
	waitFor(t, "the refusal's audit record", func() bool {
		var n int
		e.db.QueryRow(`SELECT count(*) FROM audit WHERE action = 'bind' AND result = 'FORBIDDEN'`).Scan(&n)
		return n == 1
	})
}

// TestUnbindDropsCachedBinding: a balance read right after unbinding is
// ACCOUNT_NOT_FOUND, without a call to the bank: the binding the read
// before used is not reused. (With the bank unreachable, a call would
// answer NETWORK_ERROR.)
func TestUnbindDropsCachedBinding(t *testing.T) {
	e := newEnv(t, options{proxy: true, deadline: 300 * time.Millisecond, breaker: breakerOff})
	tok := e.user("13800138000")
	id := e.bind(tok, e.world.Alice)
	path := fmt.Sprintf("/wallet/api/v1/cards/%d", id)
	e.do("GET", path+"/balance", tok, nil).want(t, 200, "")
	e.proxy.SetMode(faultproxy.Refuse)
	e.do("DELETE", path, tok, nil).want(t, 204, "")
	e.do("GET", path+"/balance", tok, nil).want(t, 404, "ACCOUNT_NOT_FOUND")
}

// TestRefundAfterUnbind: a merchant refunds a payment after the card was
// unbound and its consent revoked at the bank; the refund goes out with
// the wallet's app-only token (docs/bank-link.md) and credits the card.
func TestRefundAfterUnbind(t *testing.T) {
	e := newEnv(t, options{settle: 100 * time.Millisecond})
	alice := e.world.Alice
	tok := e.user(alice.Mobile)
	id := e.bind(tok, alice)
	pay := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "12.34", "reference": "order 7"}).
		want(t, 201, "").json(t)
	pid := int64(pay["id"].(float64))
	e.do("DELETE", fmt.Sprintf("/wallet/api/v1/cards/%d", id), tok, nil).want(t, 204, "")
	waitFor(t, "the consent's revocation", func() bool {
		var status string
		e.db.QueryRow(`SELECT status FROM bindings WHERE id = $1`, id).Scan(&status)
		return status == "revoked"
	})
	ref := e.do("POST", fmt.Sprintf("/wallet/api/v1/payments/%d/refunds", pid), tok, map[string]string{"amount": "2.00", "reference": "退款"}).
		want(t, 201, "").json(t)
	if ref["status"] != "paid" || e.bankBalance(alice) != 120507-1234+200 {
		t.Fatalf("refund after unbinding = %v, bank %d; want paid, %d", ref, e.bankBalance(alice), 120507-1234+200)
	}
}

// TestRefundRefusedNamesTheBank: a refund the bank refuses is told with
// the bank's support number, as a payment's refusal is.
func TestRefundRefusedNamesTheBank(t *testing.T) {
	e := newEnv(t, options{})
	bob := e.world.Bob
	tok := e.user(bob.Mobile)
	id := e.bind(tok, bob)
	pay := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "1.00", "reference": "order 8"}).
		want(t, 201, "").json(t)
	if err := e.world.Bank.DB.Ledger().SetStatus(t.Context(), bob.Account, katong.StatusClosed, "closed"); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/wallet/api/v1/payments/%.0f/refunds", pay["id"])
	a := e.do("POST", path, tok, map[string]string{"amount": "1.00", "reference": "退款"}).want(t, 403, "ACCOUNT_ABNORMAL")
	if p := a.json(t); p["support"] != "95500" {
		t.Fatalf("refused refund = %v; want the bank's support number", p)
	}
	// The same refund again (its key) is the same refusal, still the bank's.
	key := "5b0d6a2e-4c1f-4e8a-9b3d-7e6f5a4b3c2d"
	e.do("POST", path, tok, map[string]string{"amount": "0.50", "reference": "退款 2"}, "Idempotency-Key", key).want(t, 403, "ACCOUNT_ABNORMAL")
	a = e.do("POST", path, tok, map[string]string{"amount": "0.50", "reference": "退款 2"}, "Idempotency-Key", key).want(t, 403, "ACCOUNT_ABNORMAL")
	if p := a.json(t); p["support"] != "95500" {
		t.Fatalf("replayed refusal = %v; want the bank's support number", p)
	}
}

// TestPaymentsList: the list holds the user's payments newest first, each
// with its own refunds and card, and none of another user's.
func TestPaymentsList(t *testing.T) {
	e := newEnv(t, options{})
	tok, other := e.user(e.world.Alice.Mobile), e.user(e.world.Bob.Mobile)
	id, bobCard := e.bind(tok, e.world.Alice), e.bind(other, e.world.Bob)
	var ids []float64
	for _, ref := range []string{"order 1", "order 2", "order 3"} {
		p := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "3.00", "reference": ref}).
			want(t, 201, "").json(t)
		ids = append(ids, p["id"].(float64))
		bp := e.do("POST", "/wallet/api/v1/payments", other, map[string]any{"card_id": bobCard, "amount": "1.00", "reference": ref}).
			want(t, 201, "").json(t)
		e.do("POST", fmt.Sprintf("/wallet/api/v1/payments/%.0f/refunds", bp["id"]), other, map[string]string{"amount": "0.50", "reference": "B"}).
			want(t, 201, "")
	}
	for _, amount := range []string{"1.00", "0.50"} {
		e.do("POST", fmt.Sprintf("/wallet/api/v1/payments/%.0f/refunds", ids[1]), tok, map[string]string{"amount": amount, "reference": "退款"}).
			want(t, 201, "")
	}
	list := e.do("GET", "/wallet/api/v1/payments", tok, nil).want(t, 200, "").json(t)["payments"].([]any)
	if len(list) != 3 {
		t.Fatalf("%d payments listed; want 3", len(list))
	}
	for i, want := range []struct {
		id       float64
		refunded string
		refunds  int
	}{{ids[2], "0.00", 0}, {ids[1], "1.50", 2}, {ids[0], "0.00", 0}} {
		p := list[i].(map[string]any)
		if p["id"] != want.id || p["refunded"] != want.refunded || len(p["refunds"].([]any)) != want.refunds {
			t.Errorf("payment %d listed = %v; want id %.0f, %s refunded in %d refunds", i, p, want.id, want.refunded, want.refunds)
		}
	}
	page := e.login(e.world.Alice.Mobile).call("GET", "/wallet/payments", nil)
	if body := string(page.body); page.status != 200 || strings.Count(body, "尾号7894") != 3 {
		t.Fatalf("payments page: %d %s", page.status, body)
	}
}

// TestReferenceChecked: a merchant reference the bank would refuse (what
// katong.Redact changes, or more than 140 bytes) is a field error before
// any request reaches the bank.
func TestReferenceChecked(t *testing.T) {
	e := newEnv(t, options{})
	tok := e.user(e.world.Alice.Mobile)
	id := e.bind(tok, e.world.Alice)
	before := e.bankHits.Load()
	for _, ref := range []string{"", strings.Repeat("x", 141), "tab\there", "del\x7f", "C1 \u0085",
		"bidi \u202e", "line \u2028", "card 6222021234567894", "ID 11010519491231002X"} {
		a := e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "1.00", "reference": ref}).
			want(t, 400, "INVALID_INPUT")
		if f := a.json(t)["field"]; f != "reference" {
			t.Errorf("reference %q: field %v; want reference", ref, f)
		}
	}
	// JSON cannot carry bytes that are not UTF-8; a form can.
	s := e.login(e.world.Alice.Mobile)
	if a := s.call("POST", fmt.Sprintf("/wallet/cards/%d/pay", id), url.Values{"amount": {"1.00"}, "reference": {"bad \xff byte"}}); a.status != 400 {
		t.Errorf("reference not UTF-8 on the page: %d", a.status)
	}
	if n := e.bankHits.Load() - before; n != 0 {
		t.Fatalf("%d requests reached the bank; want none", n)
	}
	e.do("POST", "/wallet/api/v1/payments", tok, map[string]any{"card_id": id, "amount": "1.00", "reference": "演示订单 1 (a-b)"}).
		want(t, 201, "")
}
