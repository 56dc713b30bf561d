package openbanking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/openbanking"
	"katong/sqlstore"
	"katong/storetest"
	"katong/testkit"
	"katong/web"
)

// post writes a ledger transaction on an account.
func (e *env) post(kind katong.TxnKind, acct katong.AccountID, amt katong.Amount, memo string) {
	e.t.Helper()
	r := ledger.Request{Client: "test", Key: katong.NewKey(), Kind: kind, Amount: amt, Memo: memo}
	switch kind {
	case katong.TxnDeposit, katong.TxnSalary, katong.TxnRefund:
		r.To = acct
	default:
		r.From = acct
	}
	if _, err := e.w.Bank.Ledger.Do(context.Background(), r); err != nil {
		e.t.Fatalf("ledger %s: %v", kind, err)
	}
}

type accountsBody struct {
	Data struct {
		Account []map[string]json.RawMessage
	}
}

type txn struct {
	AccountId, TransactionId, CreditDebitIndicator, Status, BookingDateTime string
	TransactionInformation                                                  *string
	Amount                                                                  struct{ Amount, Currency string }
	Balance                                                                 *struct{ Type string }
}

type txnsBody struct {
	Data  struct{ Transaction []txn }
	Links struct{ Self, First, Prev, Next, Last string }
	Meta  struct{ TotalPages int }
}

func errorCode(t testing.TB, r *resp) string {
	t.Helper()
	var b struct{ Errors []struct{ ErrorCode string } }
	json.Unmarshal(r.Body, &b)
	if len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].ErrorCode
}

// TestAIS reads accounts, balances and transactions under a Detail
// consent and checks each answer against the spec and the rules of
// NOTES.md §4 the schema does not hold.
func TestAIS(t *testing.T) {
	e := newEnv(t)
	a := e.w.Alice
	e.post(katong.TxnSalary, a.Account, 800000, "工资 五月")
	e.post(katong.TxnPayment, a.Account, 1234, "merchant order 42")
	e.post(katong.TxnHold, a.Account, 5000, "酒店预授权")
	g := e.authorise(e.wallet, allPerms, a, nil)
	acc := g.accounts[0]

	// Accounts: Detail gives the PAN masked to the first and last four.
	r := e.api("GET", aisp+"/accounts", g.access, nil)
	var ab struct {
		Data struct {
			Account []struct {
				AccountId, Status, Currency, AccountCategory, AccountTypeCode string
				Account                                                       []struct{ SchemeName, Identification string }
			}
		}
	}
	r.json(t, &ab)
	got := ab.Data.Account[0]
	if got.Currency != "CNY" || got.AccountCategory != "Personal" || got.AccountTypeCode != "CACC" || got.Status != "Enabled" {
		t.Errorf("account %+v", got)
	}
	if len(got.Account) != 1 || got.Account[0].SchemeName != "UK.OBIE.PAN" || got.Account[0].Identification != "6222********7894" {
		t.Errorf("Account[] = %+v; want UK.OBIE.PAN 6222********7894", got.Account)
	}
	if strings.Contains(got.AccountId, strconv.FormatInt(int64(a.Account), 10)) && len(got.AccountId) < 8 {
		t.Errorf("AccountId %q is not opaque", got.AccountId)
	}
	if r := e.api("GET", aisp+"/accounts/"+acc, g.access, nil); r.Status != 200 {
		t.Errorf("account: %d", r.Status)
	}

	// Balances: ITAV and ITBD, +08:00, what the ledger holds.
	r = e.api("GET", aisp+"/accounts/"+acc+"/balances", g.access, nil)
	var bb struct {
		Data struct {
			Balance []struct {
				AccountId, CreditDebitIndicator, Type, DateTime string
				Amount                                          struct{ Amount, Currency string }
			}
		}
	}
	r.json(t, &bb)
	want := map[string]string{"ITAV": (katong.Amount(120507 + 800000 - 1234 - 5000)).String(), "ITBD": (katong.Amount(120507 + 800000 - 1234)).String()}
	if len(bb.Data.Balance) != 2 {
		t.Fatalf("balances: %s", r.Body)
	}
	for _, b := range bb.Data.Balance {
		if b.Amount.Amount != want[b.Type] || b.Amount.Currency != "CNY" || b.CreditDebitIndicator != "Credit" ||
			!strings.HasSuffix(b.DateTime, "+08:00") || b.AccountId != acc {
			t.Errorf("balance %+v; want %s", b, want[b.Type])
		}
	}
	// The query is audited with the client and the masked card.
	log, _ := e.w.Bank.Auth.AuditLog(context.Background(), 0, 20)
	found := false
	for _, rec := range log {
		if rec.Action == "balance" && rec.Channel == katong.ChannelWallet && rec.Actor == "ob:wallet" && rec.Card == a.Card.Masked {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit record of the balance query: %+v", log)
	}

	// Transactions: booked entries and the pending hold, Detail fields.
	r = e.api("GET", aisp+"/accounts/"+acc+"/transactions", g.access, nil)
	var tb txnsBody
	r.json(t, &tb)
	if len(tb.Data.Transaction) != 4 {
		t.Fatalf("transactions: %s", r.Body)
	}
	first := tb.Data.Transaction[0]
	if first.Status != "PDNG" || first.CreditDebitIndicator != "Debit" || first.Amount.Amount != "50.00" {
		t.Errorf("newest transaction %+v; want the pending hold of 50.00", first)
	}
	for _, x := range tb.Data.Transaction {
		if x.TransactionInformation == nil {
			t.Errorf("Detail consent: no TransactionInformation in %+v", x)
		}
		if x.Status == "BOOK" && (x.Balance == nil || x.Balance.Type != "ITBD") {
			t.Errorf("Detail consent: no Balance in %+v", x)
		}
		if !strings.HasSuffix(x.BookingDateTime, "+08:00") {
			t.Errorf("BookingDateTime %q not in +08:00", x.BookingDateTime)
		}
	}
	if tb.Links.Next != "" || tb.Links.Prev != "" || tb.Meta.TotalPages != 1 {
		t.Errorf("one page: links %+v meta %+v", tb.Links, tb.Meta)
	}

	// A consent of Bob for the same client: his AccountId is outside
	// Alice's consent (403); an id that never existed is 400 U011.
	gb := e.authorise(e.wallet, allPerms, e.w.Bob, nil)
	for _, sub := range []string{"", "/balances", "/transactions"} {
		r := e.api("GET", aisp+"/accounts/"+gb.accounts[0]+sub, g.access, nil)
		if r.Status != 403 || r.Header.Get("X-Katong-Code") != "ACCOUNT_NOT_FOUND" {
			t.Errorf("Bob's account%s under Alice's consent: %d %s", sub, r.Status, r.Header.Get("X-Katong-Code"))
		}
		r = e.api("GET", aisp+"/accounts/acc-nosuchaccount"+sub, g.access, nil)
		if r.Status != 400 || errorCode(t, r) != "U011" || r.Header.Get("X-Katong-Code") != "ACCOUNT_NOT_FOUND" {
			t.Errorf("unknown account%s: %d %s; want 400 U011", sub, r.Status, r.Body)
		}
		// The reader client never saw Alice's account: unknown to it.
	}

	// Unknown consent ids: 400 U011, never 404.
	for _, m := range []string{"GET", "DELETE"} {
		if r := e.api(m, consents+"/aac-nosuchconsent", g.app, nil); r.Status != 400 || errorCode(t, r) != "U011" {
			t.Errorf("%s unknown consent: %d %s", m, r.Status, r.Body)
		}
	}
	rapp := e.appToken(e.reader)
	if r := e.api("GET", consents+"/"+g.consent, rapp, nil); r.Status != 400 {
		t.Errorf("another client's consent: %d; want 400", r.Status)
	}

	// Tokens: none, unknown, or the wrong kind.
	for name, tok := range map[string]string{"no token": "", "unknown token": "not-a-token"} {
		r := e.api("GET", aisp+"/accounts", tok, nil)
		if r.Status != 401 || len(r.Body) != 0 || r.Header.Get("X-Katong-Code") != "UNAUTHENTICATED" {
			t.Errorf("%s: %d %q", name, r.Status, r.Body)
		}
		r = e.api("POST", consents, tok, map[string]any{"Data": map[string]any{"Permissions": allPerms}, "Risk": map[string]any{}})
		if r.Status != 401 {
			t.Errorf("%s creating a consent: %d", name, r.Status)
		}
	}
	if r := e.api("GET", aisp+"/accounts", g.app, nil); r.Status != 403 {
		t.Errorf("a client-credentials token on /accounts: %d; want 403", r.Status)
	}
	if r := e.api("GET", consents+"/"+g.consent, g.access, nil); r.Status != 403 {
		t.Errorf("a consent token on the consent endpoint: %d; want 403", r.Status)
	}

	// Media types.
	for _, accept := range []string{"application/xml", "application/jose+jwe", "text/html, application/json;q=0"} {
		if r := e.api("GET", aisp+"/accounts", g.access, nil, header("Accept", accept)); r.Status != 406 {
			t.Errorf("Accept %s: %d; want 406", accept, r.Status)
		}
	}
	for _, accept := range []string{"*/*", "application/json; charset=utf-8", "application/*"} {
		if r := e.api("GET", aisp+"/accounts", g.access, nil, header("Accept", accept)); r.Status != 200 {
			t.Errorf("Accept %s: %d; want 200", accept, r.Status)
		}
	}
	body := `{"Data":{"Permissions":["ReadAccountsBasic"]},"Risk":{}}`
	for _, ct := range []string{"text/plain", "application/xml", "application/jose+jwe"} {
		if r := e.api("POST", consents, g.app, body, header("Content-Type", ct)); r.Status != 415 {
			t.Errorf("Content-Type %s: %d; want 415", ct, r.Status)
		}
	}
	if r := e.api("POST", consents, g.app, body, header("Content-Type", "application/json; charset=utf-8")); r.Status != 201 {
		t.Errorf("Content-Type with charset: %d", r.Status)
	}
	if r := e.api("PUT", aisp+"/accounts", g.access, nil); r.Status != 405 || r.Header.Get("X-Katong-Code") == "" {
		t.Errorf("PUT /accounts: %d", r.Status)
	}
	if r := e.api("GET", aisp+"/accounts/"+acc+"/beneficiaries", g.access, nil); r.Status != 404 {
		t.Errorf("an endpoint not offered: %d; want 404", r.Status)
	}

	// Consent answers of the other statuses.
	if r := e.api("GET", consents+"/"+g.consent, g.app, nil); r.Status != 200 {
		t.Errorf("GET consent: %d", r.Status)
	}
	if r := e.api("POST", consents, g.app, `{"Data":{"Permissions":["ReadBalances"]},"Risk":{}}`); r.Status != 400 {
		t.Errorf("a consent without an accounts permission: %d", r.Status)
	}
	if r := e.api("POST", consents, g.access, body); r.Status != 403 {
		t.Errorf("creating a consent with a consent token: %d", r.Status)
	}

	// No interaction id sent: a fresh UUID comes back.
	r = e.api("GET", aisp+"/accounts", g.access, nil, noHeader("x-fapi-interaction-id"))
	if id := r.Header.Get("x-fapi-interaction-id"); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("fresh interaction id %q is not a UUID", id)
	}
	// x-fapi-financial-id is accepted and ignored.
	if r := e.api("GET", aisp+"/accounts", g.access, nil, header("x-fapi-financial-id", "0015800001041RHAAY")); r.Status != 200 {
		t.Errorf("with x-fapi-financial-id: %d", r.Status)
	}

	// Every AIS operation was answered, validated, with success and errors.
	for op, statuses := range map[string][]int{
		"CreateAccountAccessConsents":          {201, 400, 401, 403, 415},
		"GetAccountAccessConsentsConsentId":    {200, 400, 403},
		"DeleteAccountAccessConsentsConsentId": {400},
		"GetAccounts":                          {200, 401, 403, 406},
		"GetAccountsAccountId":                 {200, 400, 403},
		"GetAccountsAccountIdBalances":         {200, 400, 403},
		"GetAccountsAccountIdTransactions":     {200, 400, 403},
	} {
		for _, st := range statuses {
			if !e.seen[op+" "+strconv.Itoa(st)] {
				t.Errorf("%s → %d was never checked against the spec", op, st)
			}
		}
	}
}

// TestConsentRules: the permission rules and body checks of consent
// creation (NOTES.md §4.4): 400 with a code of the OB set.
func TestConsentRules(t *testing.T) {
	e := newEnv(t)
	app := e.appToken(e.reader)
	past := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	for name, tc := range map[string]struct {
		body string
		code string
	}{
		"empty permissions":           {`{"Data":{"Permissions":[]},"Risk":{}}`, "U002"},
		"no permissions":              {`{"Data":{},"Risk":{}}`, "U004"},
		"unknown permission":          {`{"Data":{"Permissions":["ReadAccountsBasic","ReadEverything"]},"Risk":{}}`, "U002"},
		"unsupported permission":      {`{"Data":{"Permissions":["ReadAccountsBasic","ReadBeneficiariesDetail"]},"Risk":{}}`, "U002"},
		"ReadPAN not offered":         {`{"Data":{"Permissions":["ReadAccountsDetail","ReadPAN"]},"Risk":{}}`, "U002"},
		"no accounts permission":      {`{"Data":{"Permissions":["ReadBalances"]},"Risk":{}}`, "U001"},
		"transactions without credit": {`{"Data":{"Permissions":["ReadAccountsBasic","ReadTransactionsBasic"]},"Risk":{}}`, "U001"},
		"detail without direction":    {`{"Data":{"Permissions":["ReadAccountsBasic","ReadTransactionsDetail"]},"Risk":{}}`, "U001"},
		"credits without basic":       {`{"Data":{"Permissions":["ReadAccountsBasic","ReadTransactionsCredits"]},"Risk":{}}`, "U001"},
		"no Risk":                     {`{"Data":{"Permissions":["ReadAccountsBasic"]}}`, "U004"},
		"no Data":                     {`{"Risk":{}}`, "U004"},
		"unknown field":               {`{"Data":{"Permissions":["ReadAccountsBasic"],"Colour":"red"},"Risk":{}}`, "U002"},
		"Risk with a field":           {`{"Data":{"Permissions":["ReadAccountsBasic"]},"Risk":{"x":1}}`, "U002"},
		"duplicate key":               {`{"Data":{"Permissions":["ReadAccountsBasic"]},"Data":{"Permissions":["ReadAccountsBasic"]},"Risk":{}}`, "U002"},
		"malformed":                   {`{"Data":`, "U010"},
		"trailing data":               {`{"Data":{"Permissions":["ReadAccountsBasic"]},"Risk":{}} {}`, "U010"},
		"bad date":                    {`{"Data":{"Permissions":["ReadAccountsBasic"],"ExpirationDateTime":"tomorrow"},"Risk":{}}`, "U003"},
		"expiry in the past":          {`{"Data":{"Permissions":["ReadAccountsBasic"],"ExpirationDateTime":"` + past + `"},"Risk":{}}`, "U003"},
		"window backwards":            {`{"Data":{"Permissions":["ReadAccountsBasic"],"TransactionFromDateTime":"2026-02-01T00:00:00+08:00","TransactionToDateTime":"2026-01-01T00:00:00+08:00"},"Risk":{}}`, "U003"},
	} {
		r := e.api("POST", consents, app, tc.body)
		if r.Status != 400 || errorCode(t, r) != tc.code {
			t.Errorf("%s: %d %s; want 400 %s", name, r.Status, r.Body, tc.code)
		}
	}
	// Allowed: a Basic+Detail pair, and credits with debits.
	for name, perms := range map[string][]string{
		"basic and detail":  {"ReadAccountsBasic", "ReadAccountsDetail"},
		"all offered":       {"ReadAccountsBasic", "ReadAccountsDetail", "ReadBalances", "ReadTransactionsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"},
		"debits only":       {"ReadAccountsBasic", "ReadTransactionsBasic", "ReadTransactionsDebits"},
		"accounts detail":   {"ReadAccountsDetail"},
		"balances with one": {"ReadAccountsBasic", "ReadBalances"},
	} {
		r := e.api("POST", consents, app, map[string]any{"Data": map[string]any{"Permissions": perms}, "Risk": map[string]any{}})
		if r.Status != 201 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
		var c struct {
			Data struct{ Permissions []string }
		}
		r.json(t, &c)
		if strings.Join(c.Data.Permissions, ",") != strings.Join(perms, ",") {
			t.Errorf("%s: Permissions echoed %v", name, c.Data.Permissions)
		}
	}
	// A date-time without a zone is taken in +08:00 and answered with one.
	r := e.api("POST", consents, app, `{"Data":{"Permissions":["ReadAccountsBasic"],"TransactionFromDateTime":"2026-01-01T00:00:00"},"Risk":{}}`)
	var c struct {
		Data struct{ TransactionFromDateTime string }
	}
	r.json(t, &c)
	if r.Status != 201 || c.Data.TransactionFromDateTime != "2026-01-01T00:00:00+08:00" {
		t.Errorf("zoneless date: %d %s", r.Status, r.Body)
	}
}

// TestPermissionGating: what a consent does not grant is 403, and
// Detail-only fields never appear under Basic; credits and debits select
// the entries.
func TestPermissionGating(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testPermissionGating(t, nil) })
	t.Run("postgres", func(t *testing.T) { testPermissionGating(t, storetest.PostgresSchema(t, sqlstore.BankSchema)) })
}

func testPermissionGating(t *testing.T, db *sqlstore.DB) {
	e := newEnvOn(t, db)
	a := e.w.Alice
	e.post(katong.TxnSalary, a.Account, 10000, "salary")
	e.post(katong.TxnPayment, a.Account, 2000, "shop")
	e.post(katong.TxnHold, a.Account, 300, "hold")

	basic := e.authorise(e.reader, []string{"ReadAccountsBasic", "ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}, a, nil)
	r := e.api("GET", aisp+"/accounts", basic.access, nil)
	var ab accountsBody
	r.json(t, &ab)
	for _, f := range []string{"Account", "Servicer", "StatementFrequencyAndFormat"} {
		if _, ok := ab.Data.Account[0][f]; ok {
			t.Errorf("Basic consent: %s present in %s", f, r.Body)
		}
	}
	r = e.api("GET", aisp+"/accounts/"+basic.accounts[0]+"/transactions", basic.access, nil)
	var raw struct {
		Data struct{ Transaction []map[string]json.RawMessage }
	}
	json.Unmarshal(r.Body, &raw)
	if len(raw.Data.Transaction) != 4 {
		t.Fatalf("basic transactions: %s", r.Body)
	}
	for _, x := range raw.Data.Transaction {
		for _, f := range []string{"TransactionInformation", "Balance", "MerchantDetails", "CreditorAgent", "CreditorAccount",
			"DebtorAgent", "DebtorAccount", "UltimateCreditor", "UltimateDebtor"} {
			if _, ok := x[f]; ok {
				t.Errorf("Basic consent: Detail field %s present", f)
			}
		}
	}
	if r := e.api("GET", aisp+"/accounts/"+basic.accounts[0]+"/balances", basic.access, nil); r.Status != 403 || r.Header.Get("X-Katong-Code") != "ACCOUNT_NOT_FOUND" {
		t.Errorf("balances without ReadBalances: %d", r.Status)
	}

	indicators := func(g grant) map[string]int {
		var tb txnsBody
		e.api("GET", aisp+"/accounts/"+g.accounts[0]+"/transactions", g.access, nil).json(t, &tb)
		n := map[string]int{}
		for _, x := range tb.Data.Transaction {
			n[x.CreditDebitIndicator+" "+x.Status]++
		}
		return n
	}
	credits := e.authorise(e.reader, []string{"ReadAccountsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits"}, a, nil)
	if n := indicators(credits); n["Credit BOOK"] != 2 || len(n) != 1 {
		t.Errorf("credits only: %v; want 2 booked credits", n)
	}
	debits := e.authorise(e.reader, []string{"ReadAccountsBasic", "ReadTransactionsDetail", "ReadTransactionsDebits"}, a, nil)
	if n := indicators(debits); n["Debit BOOK"] != 1 || n["Debit PDNG"] != 1 || len(n) != 2 {
		t.Errorf("debits only: %v; want a booked and a pending debit", n)
	}
	acctOnly := e.authorise(e.reader, []string{"ReadAccountsBasic", "ReadBalances"}, a, nil)
	if r := e.api("GET", aisp+"/accounts/"+acctOnly.accounts[0]+"/transactions", acctOnly.access, nil); r.Status != 403 {
		t.Errorf("transactions without permission: %d", r.Status)
	}
	if r := e.api("GET", aisp+"/accounts/"+acctOnly.accounts[0]+"/balances", acctOnly.access, nil); r.Status != 200 {
		t.Errorf("balances with ReadBalances: %d", r.Status)
	}
}

// TestTransactionWindow: the consent's TransactionFrom/ToDateTime and the
// booking-date filters (zone ignored, lenient forms) bound what is read.
func TestTransactionWindow(t *testing.T) {
	e := newEnv(t)
	b := e.w.Bob
	cst := time.FixedZone("CST", 8*3600)
	e.post(katong.TxnDeposit, b.Account, 100, "A")
	time.Sleep(2 * time.Millisecond)
	t1 := time.Now()
	time.Sleep(2 * time.Millisecond)
	e.post(katong.TxnDeposit, b.Account, 200, "B")
	time.Sleep(2 * time.Millisecond)
	t2 := time.Now()
	time.Sleep(2 * time.Millisecond)
	e.post(katong.TxnDeposit, b.Account, 300, "C")

	amounts := func(g grant, query string) []string {
		t.Helper()
		r := e.api("GET", aisp+"/accounts/"+g.accounts[0]+"/transactions"+query, g.access, nil)
		if r.Status != 200 {
			t.Fatalf("transactions%s: %d %s", query, r.Status, r.Body)
		}
		var tb txnsBody
		r.json(t, &tb)
		var out []string
		for _, x := range tb.Data.Transaction {
			out = append(out, x.Amount.Amount)
		}
		return out
	}
	perms := []string{"ReadAccountsBasic", "ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}
	win := e.authorise(e.reader, perms, b, map[string]any{
		"TransactionFromDateTime": t1.Format(time.RFC3339Nano), "TransactionToDateTime": t2.Format(time.RFC3339Nano)})
	if got := amounts(win, ""); strings.Join(got, ",") != "2.00" {
		t.Errorf("consent window: %v; want only B (2.00)", got)
	}
	// A filter wider than the window gives what remains valid.
	if got := amounts(win, "?fromBookingDateTime=2000-01-01&toBookingDateTime=2100-01-01T00:00:00"); strings.Join(got, ",") != "2.00" {
		t.Errorf("wide filter in the window: %v", got)
	}

	all := e.authorise(e.reader, perms, b, nil)
	if got := amounts(all, ""); len(got) != 4 {
		t.Errorf("no window: %v; want all 4", got)
	}
	// The filter's zone is ignored: the wall-clock time is the bank's.
	from := t1.In(cst).Format("2006-01-02T15:04:05.000000") + "Z"
	if got := amounts(all, "?fromBookingDateTime="+url.QueryEscape(from)); strings.Join(got, ",") != "3.00,2.00" {
		t.Errorf("from t1 (zone ignored): %v; want C and B", got)
	}
	to := t2.In(cst).Format("2006-01-02T15:04:05.000000") + "-05:00"
	if got := amounts(all, "?fromBookingDateTime="+url.QueryEscape(from)+"&toBookingDateTime="+url.QueryEscape(to)); strings.Join(got, ",") != "2.00" {
		t.Errorf("between t1 and t2: %v; want B", got)
	}
	if got := amounts(all, "?toBookingDateTime=2001-01-01"); len(got) != 0 {
		t.Errorf("before any data: %v; want none (200, empty)", got)
	}
	if got := amounts(all, "?fromBookingDateTime=2030-01-01&toBookingDateTime=2020-01-01"); len(got) != 0 {
		t.Errorf("from after to: %v; want none", got)
	}
	for _, bad := range []string{"yesterday", "2026-13-01", "2026-01-01T25:00:00"} {
		r := e.api("GET", aisp+"/accounts/"+all.accounts[0]+"/transactions?fromBookingDateTime="+url.QueryEscape(bad), all.access, nil)
		if r.Status != 400 || errorCode(t, r) != "U003" {
			t.Errorf("filter %q: %d %s; want 400 U003", bad, r.Status, r.Body)
		}
	}
}

// TestPagination: pages of PageSize with absolute Self/Next/Prev links
// that keep the filter, covering every entry once.
func TestPagination(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testPagination(t, nil) })
	t.Run("postgres", func(t *testing.T) { testPagination(t, storetest.PostgresSchema(t, sqlstore.BankSchema)) })
}

func testPagination(t *testing.T, db *sqlstore.DB) {
	e := newEnvOn(t, db)
	e.ob.PageSize = 10 // clamped to 25
	b := e.w.Bob
	for i := 0; i < 60; i++ {
		e.post(katong.TxnDeposit, b.Account, katong.Amount(100+i), "")
	}
	g := e.authorise(e.reader, []string{"ReadAccountsBasic", "ReadTransactionsBasic", "ReadTransactionsCredits"}, b, nil)
	next := e.base + aisp + "/accounts/" + g.accounts[0] + "/transactions?fromBookingDateTime=2000-01-01T00:00:00"
	seen := map[string]bool{}
	var sizes []int
	prev := ""
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		if !strings.HasPrefix(next, e.base) {
			t.Fatalf("link %q is not on this server", next)
		}
		r := e.api("GET", strings.TrimPrefix(next, e.base), g.access, nil)
		var tb txnsBody
		r.json(t, &tb)
		if !sameURL(tb.Links.Self, next) {
			t.Errorf("Self %q; want %q", tb.Links.Self, next)
		}
		if !sameURL(tb.Links.Prev, prev) {
			t.Errorf("page %d Prev %q; want %q", pages+1, tb.Links.Prev, prev)
		}
		if tb.Links.Next != "" && !strings.Contains(tb.Links.Next, "fromBookingDateTime=2000-01-01T00%3A00%3A00") {
			t.Errorf("Next %q drops the filter", tb.Links.Next)
		}
		if tb.Meta.TotalPages != 3 {
			t.Errorf("TotalPages %d; want 3", tb.Meta.TotalPages)
		}
		for _, x := range tb.Data.Transaction {
			if seen[x.TransactionId] {
				t.Errorf("%s on two pages", x.TransactionId)
			}
			seen[x.TransactionId] = true
		}
		sizes = append(sizes, len(tb.Data.Transaction))
		prev, next = next, tb.Links.Next
	}
	if len(seen) != 61 || len(sizes) != 3 || sizes[0] != 25 || sizes[1] != 25 || sizes[2] != 11 {
		t.Errorf("pages %v covering %d entries; want 25,25,11 covering 61", sizes, len(seen))
	}
	if r := e.api("GET", aisp+"/accounts/"+g.accounts[0]+"/transactions?page=0", g.access, nil); r.Status != 400 {
		t.Errorf("page=0: %d", r.Status)
	}
}

// sameURL reports whether two URLs name the same resource (same path and
// query parameters, however escaped); "" is only the same as "".
func sameURL(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	qa, qb := ua.Query(), ub.Query()
	if qa.Get("page") == "1" {
		qa.Del("page")
	}
	if qb.Get("page") == "1" {
		qb.Del("page")
	}
	return ua.Scheme == ub.Scheme && ua.Host == ub.Host && ua.Path == ub.Path && qa.Encode() == qb.Encode()
}

// TestLimitsAndStatus: the bank's per-card limit for the wallet channel
// gives 429 with Retry-After; a frozen account gives 403 ACCOUNT_ABNORMAL.
func TestLimitsAndStatus(t *testing.T) {
	e := newEnv(t)
	g := e.authorise(e.wallet, allPerms, e.w.Alice, nil)
	e.w.Bank.Config.Limits.Wallet = katong.Rate{N: 3, Per: time.Minute}
	path := aisp + "/accounts/" + g.accounts[0] + "/balances"
	for i := 0; i < 3; i++ {
		if r := e.api("GET", path, g.access, nil); r.Status != 200 {
			t.Fatalf("balance %d: %d", i, r.Status)
		}
	}
	r := e.api("GET", path, g.access, nil)
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.Status != 429 || err != nil || ra < 1 || ra > 60 || r.Header.Get("X-Katong-Code") != "RATE_LIMITED" {
		t.Errorf("4th balance in a minute: %d Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), r.Header.Get("X-Katong-Code"))
	}
	tp := aisp + "/accounts/" + g.accounts[0] + "/transactions"
	for i := 0; i < 3; i++ {
		e.api("GET", tp, g.access, nil)
	}
	if r := e.api("GET", tp, g.access, nil); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("4th transactions read in a minute: %d", r.Status)
	}
	e.clock.Advance(time.Minute)
	if r := e.api("GET", path, g.access, nil); r.Status != 200 {
		t.Errorf("after the window: %d", r.Status)
	}

	f := e.authorise(e.wallet, allPerms, e.w.Frozen, nil)
	for _, sub := range []string{"/balances", "/transactions"} {
		r := e.api("GET", aisp+"/accounts/"+f.accounts[0]+sub, f.access, nil)
		if r.Status != 403 || errorCode(t, r) != "U009" || r.Header.Get("X-Katong-Code") != "ACCOUNT_ABNORMAL" {
			t.Errorf("frozen%s: %d %s %s", sub, r.Status, r.Header.Get("X-Katong-Code"), r.Body)
		}
		if strings.Contains(string(r.Body), "99.00") {
			t.Errorf("frozen%s: the balance leaks", sub)
		}
	}
	var ab accountsBody
	e.api("GET", aisp+"/accounts", f.access, nil).json(t, &ab)
	if st := string(ab.Data.Account[0]["Status"]); st != `"Disabled"` {
		t.Errorf("frozen account status %s; want Disabled", st)
	}
}

// TestPANCheckCatches is the negative control of the S1 scan.
func TestPANCheckCatches(t *testing.T) {
	for _, bad := range []string{`{"Identification":"6222021234567894"}`, `card 6222 0212 3456 7894`, `x4111111111111111y`} {
		if len(testkit.LuhnRuns(bad)) == 0 {
			t.Errorf("%s passes the PAN scan", bad)
		}
	}
	for _, good := range []string{`{"Identification":"6222********7894"}`, `6222 **** **** 7894`, `1234567890123`} {
		if f := testkit.LuhnRuns(good); len(f) != 0 {
			t.Errorf("%s fails the PAN scan: %v", good, f)
		}
	}
}

// TestSpecCheckCatches is the negative control of the spec validation: a
// known-bad answer must fail it.
func TestSpecCheckCatches(t *testing.T) {
	hdr := http.Header{"Content-Type": {"application/json"}, "X-Fapi-Interaction-Id": {"93bac548-d2de-4546-b106-880a5018460d"}}
	good := `{"Data":{"Balance":[{"AccountId":"a1","CreditDebitIndicator":"Credit","Type":"ITAV","DateTime":"2026-05-01T10:43:07+08:00","Amount":{"Amount":"1.00","Currency":"CNY"}}]},"Links":{"Self":"https://bank.example/x"},"Meta":{}}`
	path := "/banks/galaxy/open-banking/v4.0/aisp/accounts/a1/balances"
	if _, _, err := specCheck(t, "GET", path, 200, hdr, []byte(good)); err != nil {
		t.Fatalf("a good answer fails: %v", err)
	}
	for name, bad := range map[string]string{
		"v3 balance type":  strings.Replace(good, `"ITAV"`, `"InterimAvailable"`, 1),
		"number amount":    strings.Replace(good, `"1.00"`, `1.00`, 1),
		"negative amount":  strings.Replace(good, `"1.00"`, `"-1.00"`, 1),
		"no zone":          strings.Replace(good, `+08:00`, ``, 1),
		"relative link":    strings.Replace(good, `https://bank.example/x`, `/x`, 1),
		"empty balances":   `{"Data":{"Balance":[]},"Links":{"Self":"https://bank.example/x"}}`,
		"unknown property": strings.Replace(good, `"Meta":{}`, `"Meta":{},"Extra":1`, 1),
	} {
		if _, _, err := specCheck(t, "GET", path, 200, hdr, []byte(bad)); err == nil {
			t.Errorf("%s: passes the spec check", name)
		}
	}
	if _, _, err := specCheck(t, "GET", path, 200, http.Header{"Content-Type": {"application/json"}}, []byte(good)); err == nil {
		t.Error("an answer without x-fapi-interaction-id passes")
	}
	if _, _, err := specCheck(t, "GET", path, 404, hdr, nil); err == nil {
		t.Error("a 404 from a mandatory endpoint passes")
	}
	errBody := `{"Errors":[{"ErrorCode":"UK.OBIE.Resource.NotFound"}]}`
	if _, _, err := specCheck(t, "GET", path, 400, hdr, []byte(errBody)); err == nil {
		t.Error("a v3.1 error code passes")
	}
}

// TestGrantCacheAcrossInstances: a consent deleted through this instance
// stops its token here at once; another instance of the same bank (a
// second Server on the same database) may answer its account-information
// reads from what it last read for at most openbanking.GrantCache, but
// never takes a payment under it.
func TestGrantCacheAcrossInstances(t *testing.T) {
	e := newEnv(t)
	g := e.authorise(e.wallet, allPerms, e.w.Alice, nil)
	other := openbanking.New(e.w.Bank, []openbanking.Client{{ID: e.wallet.id, Name: "卡通钱包", Secret: e.wallet.secret,
		RedirectURIs: []string{e.cb}, Payments: true}}, nil)
	mux := http.NewServeMux()
	other.Register(mux)
	srv := httptest.NewServer(web.Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), mux))
	defer srv.Close()
	balances := "/open-banking/v4.0/aisp/accounts/" + g.accounts[0] + "/balances"
	get := func(base string) int {
		req, _ := http.NewRequest("GET", base+"/banks/galaxy"+balances, nil)
		req.Header.Set("Authorization", "Bearer "+g.access)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(e.srv.URL); s != 200 {
		t.Fatalf("here: %d", s)
	}
	if s := get(srv.URL); s != 200 {
		t.Fatalf("there: %d", s)
	}
	if r := e.api("DELETE", "/open-banking/v4.0/aisp/account-access-consents/"+g.consent, g.app, nil); r.Status != 204 {
		t.Fatalf("DELETE consent: %d %s", r.Status, r.Body)
	}
	if s := get(e.srv.URL); s != 401 {
		t.Fatalf("here, right after the delete: %d; want 401", s)
	}
	body, _ := json.Marshal(payBody(g.accounts[0], "1.00", "after the delete"))
	req, _ := http.NewRequest("POST", srv.URL+"/banks/galaxy"+payments, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.access)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-idempotency-key", katong.NewKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("a payment there, right after the delete: %d; want 401", resp.StatusCode)
	}
	e.clock.Advance(openbanking.GrantCache)
	if s := get(srv.URL); s != 401 {
		t.Fatalf("there, %v after the delete: %d; want 401", openbanking.GrantCache, s)
	}
}

// TestGrantCacheKeepsOtherConsents: a change to one consent through this
// instance ends that consent's token here at once, and leaves the cached
// grant of another consent as it was read. Consent B is ended behind this
// instance's back (as another instance would), so B's token still working
// shows its grant was not dropped with A's.
func TestGrantCacheKeepsOtherConsents(t *testing.T) {
	e := newEnv(t)
	a := e.authorise(e.wallet, allPerms, e.w.Alice, nil)
	b := e.authorise(e.wallet, allPerms, e.w.Bob, nil)
	balances := func(g grant) string { return "/open-banking/v4.0/aisp/accounts/" + g.accounts[0] + "/balances" }
	for name, g := range map[string]grant{"A": a, "B": b} {
		if r := e.api("GET", balances(g), g.access, nil); r.Status != 200 {
			t.Fatalf("consent %s before: %d %s", name, r.Status, r.Body)
		}
	}
	if _, err := e.w.Bank.DB.ExecContext(context.Background(), `UPDATE ob_consents SET status = 'CANC' WHERE id = $1`, b.consent); err != nil {
		t.Fatal(err)
	}
	if r := e.api("DELETE", "/open-banking/v4.0/aisp/account-access-consents/"+a.consent, a.app, nil); r.Status != 204 {
		t.Fatalf("DELETE consent A: %d %s", r.Status, r.Body)
	}
	if r := e.api("GET", balances(a), a.access, nil); r.Status != 401 {
		t.Fatalf("consent A right after its delete: %d; want 401", r.Status)
	}
	if r := e.api("GET", balances(b), b.access, nil); r.Status != 200 {
		t.Fatalf("consent B (cached) right after A's delete: %d; want 200", r.Status)
	}
	e.clock.Advance(openbanking.GrantCache)
	if r := e.api("GET", balances(b), b.access, nil); r.Status != 401 {
		t.Fatalf("consent B %v after it was ended elsewhere: %d; want 401", openbanking.GrantCache, r.Status)
	}
}
