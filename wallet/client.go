package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"katong"
)

// This file is the wallet's client of a partner bank (docs/bank-link.md):
// OAuth 2.0, OBIE v4.0 account information and the wallet-payment
// extension, every call under a deadline, safe reads retried a little,
// a circuit breaker per bank, and answer — the one place where a bank's
// answer becomes one of Katong's codes.

// Permissions asked for in every account-access consent.
var consentPermissions = []string{"ReadAccountsBasic", "ReadAccountsDetail", "ReadBalances",
	"ReadTransactionsBasic", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"}

const (
	aisp = "/open-banking/v4.0/aisp"
	pisp = "/open-banking/v4.0/pisp"
	// maxAnswer bounds what is read of an answer; more is garbage.
	maxAnswer = 1 << 20
	// retries of a safe read after the first try, within the deadline.
	retries = 2
)

// errTokenRejected marks an answer that turned the token down (401, or
// invalid_grant): the consent may have been revoked, or the access token
// only expired. It is wrapped in an ENotFound.
var errTokenRejected = errors.New("bank rejected the token")

// link is the client of one partner bank.
type link struct {
	p        *Partner
	hc       *http.Client
	deadline time.Duration
	breaker  *breaker
	now      func() time.Time

	mu       sync.Mutex // guards the app-only token
	appToken string
	appUntil time.Time
}

// request is one call to the bank.
type request struct {
	method string
	path   string     // under the bank's base URL
	form   url.Values // OAuth: a form body with the client's HTTP Basic credentials
	body   any        // JSON body
	token  string     // bearer token
	idem   string     // x-idempotency-key
	out    any        // where a 2xx JSON answer goes
}

// do makes the call: refused at once with ENetwork while the breaker is
// open, bounded by the deadline, and retried (GET only) at most twice with
// a small backoff if there is time left.
func (l *link) do(ctx context.Context, r request) error {
	ok, wait := l.breaker.allow()
	if !ok {
		return &katong.Error{Code: katong.ENetwork, Message: "bank " + string(l.p.ID) + ": circuit open", RetryAfter: wait}
	}
	callCtx, cancel := context.WithTimeout(ctx, l.deadline)
	defer cancel()
	tries := 1
	if r.method == http.MethodGet {
		tries += retries
	}
	var err error
	for i := 0; i < tries; i++ {
		if i > 0 {
			backoff := time.Duration(50<<(i-1)) * time.Millisecond
			if dl, _ := callCtx.Deadline(); time.Until(dl) < 2*backoff {
				break
			}
			t := time.NewTimer(backoff)
			select {
			case <-callCtx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		err = l.once(callCtx, r)
		if katong.ErrorCode(err) != katong.ENetwork || callCtx.Err() != nil {
			break
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		l.breaker.abandon() // the caller went away: says nothing about the bank
	} else {
		l.breaker.done(katong.ErrorCode(err) != katong.ENetwork)
	}
	return err
}

// once makes one try.
func (l *link) once(ctx context.Context, r request) error {
	var body io.Reader
	var ctype string
	switch {
	case r.form != nil:
		body, ctype = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, strings.TrimSuffix(l.p.BaseURL, "/")+r.path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-fapi-interaction-id", katong.NewKey())
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.form != nil {
		// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(l.p.ClientID), url.QueryEscape(l.p.ClientSecret))
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.idem != "" {
		req.Header.Set("x-idempotency-key", r.idem)
	}
	resp, err := l.hc.Do(req)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
	}
	return answer(resp, b, err, r.out)
}

// answer is the one mapping of a bank's answer onto Katong's codes:
//
//   - no answer (refused, timed out, reset), a 5xx, a redirect, or a
//     2xx whose body is not the JSON expected → ENetwork: retry later,
//     never a number and never "not found";
//   - 429 → ERateLimited with the bank's Retry-After;
//   - X-Katong-Code, the bank's own word, when present: ACCOUNT_ABNORMAL
//     → EAbnormal, ACCOUNT_NOT_FOUND → ENotFound, UNAUTHENTICATED →
//     ENotFound (errTokenRejected), and the payment codes;
//   - otherwise the OBIE and OAuth statuses: 401 and invalid_grant →
//     ENotFound (errTokenRejected: revoked or expired), 403 → ENotFound
//     (the consent does not cover the account) or EAbnormal for U009,
//     400 U011 and 404 → ENotFound, 409 → EConflict, 422 → EKeyReused.
func answer(resp *http.Response, body []byte, err error, out any) error {
	if err != nil {
		// The cause is told, not wrapped: a deadline of the bank call is
		// the bank's slowness, not the caller's context running out.
		return &katong.Error{Code: katong.ENetwork, Message: "bank unreachable: " + err.Error()}
	}
	st := resp.StatusCode
	switch {
	case st >= 200 && st < 300:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return &katong.Error{Code: katong.ENetwork, Message: "bank answered garbage: " + err.Error()}
		}
		if v, ok := out.(interface{ valid() error }); ok {
			if err := v.valid(); err != nil {
				return &katong.Error{Code: katong.ENetwork, Message: "bank answered garbage: " + err.Error()}
			}
		}
		return nil
	case st >= 500 || st < 200 || (st >= 300 && st < 400):
		return &katong.Error{Code: katong.ENetwork, Message: "bank answered " + strconv.Itoa(st)}
	case st == http.StatusTooManyRequests:
		return &katong.Error{Code: katong.ERateLimited, Message: "bank rate limit", RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	var e struct {
		OAuth  string `json:"error"`
		Errors []struct {
			ErrorCode string
			Message   string
			Path      string
		}
	}
	json.Unmarshal(body, &e)
	obie, path := "", ""
	if len(e.Errors) > 0 {
		obie, path = e.Errors[0].ErrorCode, e.Errors[0].Path
	}
	msg := "bank answered " + strconv.Itoa(st) + " " + e.OAuth + obie
	rejected := &katong.Error{Code: katong.ENotFound, Message: msg, Err: errTokenRejected}
	switch e.OAuth {
	case "":
	case "invalid_grant":
		return rejected
	default: // invalid_client, unauthorized_client, invalid_request…: our configuration
		return katong.Errorf(katong.EInternal, "%s", msg)
	}
	switch katong.Code(resp.Header.Get("X-Katong-Code")) {
	case katong.EAbnormal, katong.EClosed:
		return katong.Errorf(katong.EAbnormal, "%s", msg)
	case katong.ENotFound:
		return katong.Errorf(katong.ENotFound, "%s", msg)
	case katong.EUnauthorized:
		return rejected
	case katong.EInsufficient:
		return katong.Errorf(katong.EInsufficient, "%s", msg)
	case katong.EKeyReused:
		return katong.Errorf(katong.EKeyReused, "%s", msg)
	case katong.EConflict:
		return katong.Errorf(katong.EConflict, "%s", msg)
	case katong.EInvalid:
		field := "body"
		switch p := strings.ToLower(path); {
		case strings.Contains(p, "amount"):
			field = "amount"
		case strings.Contains(p, "reference"):
			field = "reference"
		}
		return &katong.Error{Code: katong.EInvalid, Field: field, Message: msg}
	case katong.EInternal:
		return katong.Errorf(katong.ENetwork, "%s", msg)
	}
	switch {
	case st == http.StatusUnauthorized:
		return rejected
	case st == http.StatusForbidden && obie == "U009":
		return katong.Errorf(katong.EAbnormal, "%s", msg)
	case st == http.StatusForbidden, st == http.StatusNotFound, st == http.StatusBadRequest && obie == "U011":
		return katong.Errorf(katong.ENotFound, "%s", msg)
	case st == http.StatusConflict:
		return katong.Errorf(katong.EConflict, "%s", msg)
	case st == http.StatusUnprocessableEntity:
		return katong.Errorf(katong.EKeyReused, "%s", msg)
	}
	return katong.Errorf(katong.EInternal, "%s", msg)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// tokens is an OAuth token answer.
type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (t *tokens) valid() error {
	if t.AccessToken == "" || !strings.EqualFold(t.TokenType, "bearer") {
		return errors.New("no bearer access token")
	}
	return nil
}

// expires is when the access token should be taken for expired: a little
// before the bank's word, so that it is not used at its last second.
func (t *tokens) expires(now time.Time) time.Time {
	d := time.Duration(t.ExpiresIn) * time.Second
	if d <= 0 {
		d = 5 * time.Minute
	}
	if d > time.Minute {
		d -= 30 * time.Second
	}
	return now.Add(d)
}

// app returns the app-only token (client credentials), cached until it expires.
func (l *link) app(ctx context.Context) (string, error) {
	l.mu.Lock()
	tok, until := l.appToken, l.appUntil
	l.mu.Unlock()
	if tok != "" && l.now().Before(until) {
		return tok, nil
	}
	var t tokens
	err := l.do(ctx, request{method: http.MethodPost, path: "/oauth/token",
		form: url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts"}}, out: &t})
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	l.appToken, l.appUntil = t.AccessToken, t.expires(l.now())
	l.mu.Unlock()
	return t.AccessToken, nil
}

// appCall makes r with the app-only token; a token the bank turns down is
// dropped and a fresh one tried once.
func (l *link) appCall(ctx context.Context, r request) error {
	for try := 0; ; try++ {
		tok, err := l.app(ctx)
		if err != nil {
			return err
		}
		r.token = tok
		err = l.do(ctx, r)
		if !errors.Is(err, errTokenRejected) {
			return err
		}
		l.mu.Lock()
		l.appToken = ""
		l.mu.Unlock()
		if try == 1 {
			return katong.Errorf(katong.EInternal, "bank %s turns down the wallet's client credentials", l.p.ID)
		}
	}
}

// createConsent asks for an account-access consent and returns its id.
func (l *link) createConsent(ctx context.Context) (string, error) {
	in := map[string]any{"Data": map[string]any{"Permissions": consentPermissions}, "Risk": map[string]any{}}
	var out consentAnswer
	if err := l.appCall(ctx, request{method: http.MethodPost, path: aisp + "/account-access-consents", body: in, out: &out}); err != nil {
		return "", err
	}
	return out.Data.ConsentID, nil
}

type consentAnswer struct {
	Data struct {
		ConsentID string `json:"ConsentId"`
		Status    string
	}
}

func (c *consentAnswer) valid() error {
	if c.Data.ConsentID == "" {
		return errors.New("no ConsentId")
	}
	return nil
}

// deleteConsent revokes a consent at the bank. A consent the bank no
// longer knows counts as revoked.
func (l *link) deleteConsent(ctx context.Context, id string) error {
	err := l.appCall(ctx, request{method: http.MethodDelete, path: aisp + "/account-access-consents/" + url.PathEscape(id)})
	if katong.ErrorCode(err) == katong.ENotFound {
		return nil
	}
	return err
}

// authorizeURL is the bank's page where the customer approves the consent.
func (l *link) authorizeURL(consentID, state, challenge string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {l.p.ClientID}, "redirect_uri": {l.p.RedirectURL},
		"scope": {"accounts"}, "state": {state}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}, "consent_id": {consentID}}
	return strings.TrimSuffix(l.p.BaseURL, "/") + "/oauth/authorize?" + q.Encode()
}

// exchange trades an authorisation code for the consent's tokens.
func (l *link) exchange(ctx context.Context, code, verifier string) (*tokens, error) {
	var t tokens
	err := l.do(ctx, request{method: http.MethodPost, path: "/oauth/token", out: &t,
		form: url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {l.p.RedirectURL}}})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// refresh gets a new access token for the consent.
func (l *link) refresh(ctx context.Context, refreshToken string) (*tokens, error) {
	var t tokens
	err := l.do(ctx, request{method: http.MethodPost, path: "/oauth/token", out: &t,
		form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// obAmount is an OBIE amount: a decimal string and a currency.
type obAmount struct {
	Amount   string
	Currency string
}

// fen parses an OBIE amount into fen: CNY only, at most two decimals
// that are not zero (OBIE allows five).
func (a obAmount) fen() (katong.Amount, error) {
	if a.Currency != "CNY" {
		return 0, errors.New("currency " + a.Currency)
	}
	s := a.Amount
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 2 {
		if strings.Trim(s[i+3:], "0") != "" {
			return 0, errors.New("amount with fractions of a fen")
		}
		s = s[:i+3]
	}
	return katong.ParseAmount(s)
}

func cny(a katong.Amount) obAmount { return obAmount{Amount: a.String(), Currency: "CNY"} }

// signed parses the amount into fen with OBIE's CreditDebitIndicator
// applied: a debit is negative.
func (a obAmount) signed(indicator string) (katong.Amount, error) {
	f, err := a.fen()
	if err != nil {
		return 0, err
	}
	switch indicator {
	case "Credit":
		return f, nil
	case "Debit":
		return -f, nil
	}
	return 0, errors.New("bad CreditDebitIndicator " + indicator)
}

// obAccount is an account of GET /accounts.
type obAccount struct {
	AccountID string `json:"AccountId"`
	Status    string
	Nickname  string
	Account   []struct {
		SchemeName     string
		Identification string
	}
}

type accountsAnswer struct {
	Data struct {
		Account []obAccount
	}
}

func (a *accountsAnswer) valid() error {
	for _, acc := range a.Data.Account {
		if acc.AccountID == "" {
			return errors.New("account without AccountId")
		}
	}
	return nil
}

// accounts lists the accounts the consent covers.
func (l *link) accounts(ctx context.Context, token string) ([]obAccount, error) {
	var out accountsAnswer
	if err := l.do(ctx, request{method: http.MethodGet, path: aisp + "/accounts", token: token, out: &out}); err != nil {
		return nil, err
	}
	return out.Data.Account, nil
}

// Balance is a card's balance as its bank answered it just now.
type Balance struct {
	Available katong.Amount
	Booked    katong.Amount
	AsOf      time.Time // the bank's DateTime
}

type balancesAnswer struct {
	Data struct {
		Balance []struct {
			AccountID            string `json:"AccountId"`
			CreditDebitIndicator string
			Type                 string
			DateTime             time.Time
			Amount               obAmount
		}
	}
	account string
	got     Balance
}

// valid takes ITAV and ITBD of the account asked for; without both, or
// with anything malformed, the answer is garbage, never a guess.
func (b *balancesAnswer) valid() error {
	var haveAV, haveBD bool
	for _, x := range b.Data.Balance {
		if x.AccountID != b.account {
			return errors.New("balance of another account")
		}
		a, err := x.Amount.signed(x.CreditDebitIndicator)
		if err != nil {
			return err
		}
		if x.DateTime.IsZero() {
			return errors.New("balance without DateTime")
		}
		switch x.Type {
		case "ITAV":
			b.got.Available, haveAV = a, true
		case "ITBD":
			b.got.Booked, haveBD = a, true
		default:
			continue
		}
		if x.DateTime.After(b.got.AsOf) {
			b.got.AsOf = x.DateTime
		}
	}
	if !haveAV || !haveBD {
		return errors.New("balance without ITAV and ITBD")
	}
	return nil
}

// balance asks the bank for the account's balance.
func (l *link) balance(ctx context.Context, token, account string) (*Balance, error) {
	out := balancesAnswer{account: account}
	err := l.do(ctx, request{method: http.MethodGet, path: aisp + "/accounts/" + url.PathEscape(account) + "/balances",
		token: token, out: &out})
	if err != nil {
		return nil, err
	}
	return &out.got, nil
}

// Record is one entry of a card's recent records, as the bank gave it.
type Record struct {
	ID           string
	BookedAt     time.Time
	Amount       katong.Amount // signed: credit > 0
	BalanceAfter *katong.Amount
	Text         string
	Status       string // BOOK, PDNG…
}

type transactionsAnswer struct {
	Data struct {
		Transaction []struct {
			AccountID              string `json:"AccountId"`
			TransactionID          string `json:"TransactionId"`
			CreditDebitIndicator   string
			Status                 string
			BookingDateTime        time.Time
			Amount                 obAmount
			TransactionInformation string
			Balance                *struct {
				Amount               obAmount
				CreditDebitIndicator string
			}
		}
	}
	account string
	got     []Record
}

func (t *transactionsAnswer) valid() error {
	for _, x := range t.Data.Transaction {
		if x.AccountID != t.account {
			return errors.New("transaction of another account")
		}
		a, err := x.Amount.signed(x.CreditDebitIndicator)
		if err != nil {
			return err
		}
		r := Record{ID: x.TransactionID, BookedAt: x.BookingDateTime, Amount: a, Text: x.TransactionInformation, Status: x.Status}
		if x.Balance != nil {
			b, err := x.Balance.Amount.signed(x.Balance.CreditDebitIndicator)
			if err != nil {
				return err
			}
			r.BalanceAfter = &b
		}
		t.got = append(t.got, r)
	}
	return nil
}

// transactions asks the bank for the account's recent records.
func (l *link) transactions(ctx context.Context, token, account string) ([]Record, error) {
	out := transactionsAnswer{account: account}
	err := l.do(ctx, request{method: http.MethodGet, path: aisp + "/accounts/" + url.PathEscape(account) + "/transactions",
		token: token, out: &out})
	if err != nil {
		return nil, err
	}
	return out.got, nil
}

type paymentAnswer struct {
	Data struct {
		WalletPaymentID string `json:"WalletPaymentId"`
		WalletRefundID  string `json:"WalletRefundId"`
		Status          string
	}
	refund bool
}

func (p *paymentAnswer) valid() error {
	if p.refund && p.Data.WalletRefundID == "" || !p.refund && p.Data.WalletPaymentID == "" {
		return errors.New("no payment or refund id")
	}
	if p.Data.Status != "" && strings.Contains(strings.ToLower(p.Data.Status), "reject") {
		return errors.New("payment status " + p.Data.Status)
	}
	return nil
}

// pay debits the account under the binding agreement. key makes the
// request idempotent at the bank: the same key gets the same payment.
func (l *link) pay(ctx context.Context, token, key, account string, amount katong.Amount, ref string) (string, error) {
	in := map[string]any{"Data": map[string]any{"AccountId": account, "InstructedAmount": cny(amount), "Reference": ref}}
	var out paymentAnswer
	err := l.do(ctx, request{method: http.MethodPost, path: pisp + "/wallet-payments", token: token, idem: key, body: in, out: &out})
	if err != nil {
		return "", err
	}
	return out.Data.WalletPaymentID, nil
}

// refund returns part or all of a payment. It is made with the app-only
// token: a refund needs no consent, so a merchant can refund after the
// card was unbound (docs/bank-link.md).
func (l *link) refund(ctx context.Context, key, payment string, amount katong.Amount, ref string) (string, error) {
	in := map[string]any{"Data": map[string]any{"Amount": cny(amount), "Reference": ref}}
	out := paymentAnswer{refund: true}
	err := l.appCall(ctx, request{method: http.MethodPost, path: pisp + "/wallet-payments/" + url.PathEscape(payment) + "/refunds",
		idem: key, body: in, out: &out})
	if err != nil {
		return "", err
	}
	return out.Data.WalletRefundID, nil
}
