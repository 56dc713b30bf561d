package bankapp

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"katong"
	"katong/auth"
	"katong/bank"
	"katong/web"
)

// recentRecords is how many records the account page shows.
const recentRecords = 5

// chartPoints bounds the records drawn in the balance chart.
const chartPoints = 500

// csrfToken is the session's form token: a keyed hash of the session
// token, so every instance of the bank computes the same one and nothing
// needs storing.
func (a *App) csrfToken(sessionToken string) string {
	return base64.RawURLEncoding.EncodeToString(a.bank.Vault.Lookup("bankapp csrf", sessionToken))
}

// sameOrigin refuses a form posted from another site. SameSite=Lax
// cookies already stay home and the form token is the real check; this
// adds what the browser says: Sec-Fetch-Site where it is sent, else the
// Origin (which is "null" under Referrer-Policy: no-referrer, and then
// says nothing).
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

func equalToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var errCSRF = katong.Errorf(katong.EForbidden, "form token or origin check failed")

// pageSession returns the customer of the session cookie.
func (a *App) pageSession(r *http.Request) (*customer, error) {
	return a.session(r.Context(), web.Cookie(r, SessionCookie))
}

// requireLogin returns the logged-in customer, or sends the browser to
// the log-in page and returns nil.
func (a *App) requireLogin(w http.ResponseWriter, r *http.Request) *customer {
	c, err := a.pageSession(r)
	if err == nil {
		return c
	}
	if katong.ErrorCode(err) == katong.EUnauthorized {
		if web.Cookie(r, SessionCookie) != "" {
			web.SetCookie(w, r, SessionCookie, "", 0)
		}
		http.Redirect(w, r, a.prefix+"/app/", http.StatusSeeOther)
		return nil
	}
	a.pageError(w, r, nil, err)
	return nil
}

// checkForm parses a posted form and checks its origin and token.
func (a *App) checkForm(w http.ResponseWriter, r *http.Request, want string) error {
	if err := web.ParseForm(w, r); err != nil {
		return err
	}
	if !sameOrigin(r) || !equalToken(r.PostFormValue("csrf"), want) {
		return errCSRF
	}
	return nil
}

// fillSession marks a page as a logged-in customer's.
func (a *App) fillSession(p *pageData, c *customer) {
	if c != nil {
		p.LoggedIn = true
		p.CSRF = a.csrfToken(c.Token)
	}
}

// eye reports whether the customer chose to see balances: ?eye=show or
// ?eye=hide switches and is remembered on the device in a cookie.
func eye(w http.ResponseWriter, r *http.Request) bool {
	set := func(v string) {
		http.SetCookie(w, &http.Cookie{Name: eyeCookie, Value: v, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, HttpOnly: true})
	}
	switch r.URL.Query().Get("eye") {
	case "show":
		set("show")
		return true
	case "hide":
		set("hide")
		return false
	}
	c, err := r.Cookie(eyeCookie)
	return err == nil && c.Value == "show"
}

// device is the browser's device id, made on first sight.
func device(w http.ResponseWriter, r *http.Request) string {
	d := web.Cookie(r, deviceCookie)
	if len(d) < 20 || len(d) > 64 {
		d = auth.NewToken()
		web.SetCookie(w, r, deviceCookie, d, 5*365*24*time.Hour)
	}
	return "web:" + d
}

// loginToken is the log-in form's double-submit token.
func loginToken(w http.ResponseWriter, r *http.Request) string {
	t := web.Cookie(r, loginCookie)
	if len(t) < 20 || len(t) > 64 {
		t = auth.NewToken()
		web.SetCookie(w, r, loginCookie, t, 2*time.Hour)
	}
	return t
}

// GET /app/: the log-in page, or the accounts of a logged-in customer.
func (a *App) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := a.pageSession(r); err == nil {
		http.Redirect(w, r, a.prefix+"/app/accounts", http.StatusSeeOther)
		return
	}
	a.renderLogin(w, r, http.StatusOK, "", nil)
}

func (a *App) renderLogin(w http.ResponseWriter, r *http.Request, status int, mobile string, pe *pageErr) {
	device(w, r)
	p := a.newPage(r, "login")
	p.CSRF = loginToken(w, r)
	p.Mobile = mobile
	p.Error = pe
	a.render(w, r, status, "login", p)
}

// POST /app/login
func (a *App) handleLogin(w http.ResponseWriter, r *http.Request) {
	if err := web.ParseForm(w, r); err != nil {
		a.renderLogin(w, r, statusOf(err), "", a.newPageErr(r, err))
		return
	}
	mobile := strings.TrimSpace(r.PostFormValue("mobile"))
	if len(mobile) > 32 {
		mobile = ""
	}
	if !sameOrigin(r) || !equalToken(r.PostFormValue("csrf"), web.Cookie(r, loginCookie)) {
		a.renderLogin(w, r, http.StatusForbidden, mobile, a.newPageErr(r, errCSRF))
		return
	}
	if mobile == "" {
		a.renderLogin(w, r, http.StatusBadRequest, mobile, a.newPageErr(r, katong.Invalid("mobile", "mobile is required")))
		return
	}
	tok, _, err := a.bank.Login(r.Context(), mobile, r.PostFormValue("password"), device(w, r))
	if err != nil {
		pe := a.newPageErr(r, err)
		if katong.ErrorCode(err) == katong.EUnauthorized {
			L := msgs(web.Lang(r))
			pe.Text = L["wrong_login"]
			pe.Next = sprintf(L["wrong_login_do"], a.bank.Auth.MaxFailures, katong.WaitText(a.bank.Auth.LockFor, web.Lang(r)))
		}
		if e := katong.AsError(err); e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(katong.Seconds(e.RetryAfter)))
		}
		if pe.Code == string(katong.EInternal) {
			a.log.Error("internal error", "request_id", web.RequestID(r.Context()), "path", r.URL.Path, "err", err)
		}
		a.renderLogin(w, r, statusOf(err), mobile, pe)
		return
	}
	// Rotation: a session that was in the cookie ends with this log-in.
	if old := web.Cookie(r, SessionCookie); old != "" {
		a.bank.Auth.EndSession(r.Context(), old)
	}
	web.SetCookie(w, r, SessionCookie, tok, bank.CustomerSessions.Absolute)
	web.SetCookie(w, r, loginCookie, "", 0)
	http.Redirect(w, r, a.prefix+"/app/accounts", http.StatusSeeOther)
}

// POST /app/logout
func (a *App) handleLogout(w http.ResponseWriter, r *http.Request) {
	c, err := a.pageSession(r)
	if err != nil {
		web.SetCookie(w, r, SessionCookie, "", 0)
		http.Redirect(w, r, a.prefix+"/app/", http.StatusSeeOther)
		return
	}
	if err := a.checkForm(w, r, a.csrfToken(c.Token)); err != nil {
		a.pageError(w, r, c, err)
		return
	}
	if err := a.bank.Auth.EndSession(r.Context(), c.Token); err != nil {
		a.pageError(w, r, c, err)
		return
	}
	web.SetCookie(w, r, SessionCookie, "", 0)
	http.Redirect(w, r, a.prefix+"/app/", http.StatusSeeOther)
}

// GET /app/accounts: 我的账户, a tile per account.
func (a *App) handleAccountsPage(w http.ResponseWriter, r *http.Request) {
	c := a.requireLogin(w, r)
	if c == nil {
		return
	}
	ctx := r.Context()
	show := eye(w, r)
	cards, err := a.accountCards(ctx, c.ID)
	if err != nil {
		a.pageError(w, r, c, err)
		return
	}
	p := a.newPage(r, "accounts")
	a.fillSession(p, c)
	p.Eye = show
	for _, card := range cards {
		acct, err := a.bank.Account(ctx, c.ID, card.AccountID)
		if err != nil {
			a.pageError(w, r, c, err)
			return
		}
		t := tile{URL: a.prefix + "/app/accounts/" + id64(acct.ID), Name: acct.Name, Product: product(card, p.L),
			Masked: card.Masked, Available: "¥ ****"}
		if show {
			bal, err := a.balance(ctx, c.ID, card, acct, "page")
			if err != nil {
				if !pageShowable(err) {
					a.pageError(w, r, c, err)
					return
				}
				t.Err = a.newPageErr(r, err)
			} else {
				t.Available, t.AsOf = bal.Available.Yuan(), hhmm(bal.AsOf)
			}
		} else if err := bank.Usable(acct); err != nil {
			t.Err = a.newPageErr(r, err)
		}
		p.Tiles = append(p.Tiles, t)
	}
	a.render(w, r, http.StatusOK, "accounts", p)
}

// pageShowable reports an error a page shows in place of a balance.
func pageShowable(err error) bool {
	switch katong.ErrorCode(err) {
	case katong.EAbnormal, katong.ERateLimited, katong.EClosed, katong.ENetwork:
		return true
	}
	return false
}

func product(card *katong.Card, L map[string]string) string {
	if card.Product == "储蓄卡" {
		return L["card_product"]
	}
	return card.Product
}

func statusText(st katong.AccountStatus, L map[string]string) string {
	if s, ok := L["status_"+string(st)]; ok {
		return s
	}
	return string(st)
}

// pageAccount is what an account's pages do first: the logged-in customer
// and their account named by the path, usable (not frozen or closed) if
// usable is set. It reports false once it has answered instead (the
// log-in page or the error page).
func (a *App) pageAccount(w http.ResponseWriter, r *http.Request, usable bool) (*customer, *katong.Account, *katong.Card, bool) {
	c := a.requireLogin(w, r)
	if c == nil {
		return nil, nil, nil, false
	}
	acct, card, err := a.owned(r.Context(), c.ID, r.PathValue("id"))
	if err == nil && usable {
		err = bank.Usable(acct)
	}
	if err != nil {
		a.pageError(w, r, c, err)
		return nil, nil, nil, false
	}
	return c, acct, card, true
}

// GET /app/accounts/{id}: 账户查询.
func (a *App) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	c, acct, card, ok := a.pageAccount(w, r, false)
	if !ok {
		return
	}
	ctx := r.Context()
	show := eye(w, r)
	p := a.newPage(r, "account")
	a.fillSession(p, c)
	p.Eye = show
	base := a.prefix + "/app/accounts/" + id64(acct.ID)
	v := &acctView{ID: id64(acct.ID), Name: acct.Name, Product: product(card, p.L), Masked: card.Masked,
		Status: statusText(acct.Status, p.L), Available: "¥ ****", Booked: "¥ ****",
		RefreshURL: base, RecordsURL: base + "/records"}
	p.Acct = v
	status := http.StatusOK
	var balErr error
	if show {
		bal, err := a.balance(ctx, c.ID, card, acct, "page")
		if err == nil {
			v.Available, v.Booked, v.AsOf = bal.Available.Yuan(), bal.Booked.Yuan(), hhmm(bal.AsOf)
		}
		balErr = err
	} else {
		balErr = bank.Usable(acct)
	}
	if balErr != nil {
		if !pageShowable(balErr) {
			a.pageError(w, r, c, balErr)
			return
		}
		v.BalanceErr = a.newPageErr(r, balErr)
		status = statusOf(balErr)
		if e := katong.AsError(balErr); e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(katong.Seconds(e.RetryAfter)))
		}
	}
	v.Usable = bank.Usable(acct) == nil
	if v.Usable {
		if acct.Held != 0 {
			holds, err := a.bank.DB.Ledger().Holds(ctx, acct.ID)
			if err != nil {
				a.pageError(w, r, c, err)
				return
			}
			for _, h := range holds {
				v.Holds = append(v.Holds, holdView{Amount: h.Amount.Yuan(), Memo: katong.Redact(h.Memo), When: when(h.At)})
			}
		}
		es, err := a.bank.DB.Ledger().Entries(ctx, acct.ID, katong.EntryFilter{Limit: recentRecords})
		if err != nil {
			a.pageError(w, r, c, err)
			return
		}
		for _, e := range es {
			v.Recent = append(v.Recent, newEntryView(e, p.Lang))
		}
	}
	a.render(w, r, status, "account", p)
}

// GET /app/accounts/{id}/records: 交易记录 with the date filter, pages,
// the CSV link and the balance chart.
func (a *App) handleRecordsPage(w http.ResponseWriter, r *http.Request) {
	c, acct, _, ok := a.pageAccount(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	p := a.newPage(r, "records")
	a.fillSession(p, c)
	base := a.prefix + "/app/accounts/" + id64(acct.ID)
	p.Acct = &acctView{ID: id64(acct.ID), Name: acct.Name, RefreshURL: base}
	rv := &recordsView{}
	p.Records = rv
	q, err := parseRecordsQuery(r, 20, 20)
	if err != nil {
		rv.From, rv.To = r.URL.Query().Get("from"), r.URL.Query().Get("to")
		if len(rv.From) > 40 {
			rv.From = ""
		}
		if len(rv.To) > 40 {
			rv.To = ""
		}
		p.Error = a.newPageErr(r, err)
		a.render(w, r, statusOf(err), "records", p)
		return
	}
	rv.From, rv.To = q.FromText, q.ToText
	page, err := a.recordsPage(ctx, acct.ID, q)
	if err != nil {
		a.pageError(w, r, c, err)
		return
	}
	for _, e := range page.Entries {
		rv.Entries = append(rv.Entries, newEntryView(e, p.Lang))
	}
	filter := url.Values{}
	if q.FromText != "" {
		filter.Set("from", q.FromText)
	}
	if q.ToText != "" {
		filter.Set("to", q.ToText)
	}
	rv.CSVURL = base + "/records.csv"
	rv.FirstURL = base + "/records"
	if len(filter) > 0 {
		rv.CSVURL += "?" + filter.Encode()
		rv.FirstURL += "?" + filter.Encode()
	}
	if q.Cursor == 0 {
		rv.FirstURL = ""
	}
	if page.Next != 0 {
		next := url.Values{}
		for k, v := range filter {
			next[k] = v
		}
		next.Set("cursor", strconv.FormatInt(page.Next, 10))
		rv.NextURL = base + "/records?" + next.Encode()
	}
	es, err := a.bank.DB.Ledger().Entries(ctx, acct.ID, katong.EntryFilter{From: q.From, To: q.To, Limit: chartPoints})
	if err != nil {
		a.pageError(w, r, c, err)
		return
	}
	end := a.bank.Now()
	if q.To != nil && q.To.Before(end) {
		end = *q.To
	}
	rv.Chart = newChart(es, end, p.Lang)
	a.render(w, r, http.StatusOK, "records", p)
}

// GET /app/accounts/{id}/records.csv
func (a *App) handleRecordsCSV(w http.ResponseWriter, r *http.Request) {
	c, acct, _, ok := a.pageAccount(w, r, true)
	if !ok {
		return
	}
	q, err := parseRecordsQuery(r, 20, 20)
	if err != nil {
		a.pageError(w, r, c, err)
		return
	}
	entries, err := a.allRecords(r.Context(), acct.ID, q)
	if err != nil {
		a.pageError(w, r, c, err)
		return
	}
	writeCSV(w, acct.ID, q, entries, web.Lang(r))
}

// GET /app/password
func (a *App) handlePasswordPage(w http.ResponseWriter, r *http.Request) {
	c := a.requireLogin(w, r)
	if c == nil {
		return
	}
	a.renderPassword(w, r, c, http.StatusOK, nil, "")
}

func (a *App) renderPassword(w http.ResponseWriter, r *http.Request, c *customer, status int, err error, notice string) {
	p := a.newPage(r, "change_password")
	a.fillSession(p, c)
	p.PWHint = sprintf(p.L["pw_hint"], minPassword())
	p.Notice = notice
	if err != nil {
		p.Error = a.newPageErr(r, err)
		if f := katong.AsError(err).Field; f != "" {
			p.FieldErrs = map[string]string{f: p.Error.Next}
		}
		if e := katong.AsError(err); e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(katong.Seconds(e.RetryAfter)))
		}
	}
	a.render(w, r, status, "password", p)
}

// POST /app/password
func (a *App) handlePassword(w http.ResponseWriter, r *http.Request) {
	c := a.requireLogin(w, r)
	if c == nil {
		return
	}
	if err := a.checkForm(w, r, a.csrfToken(c.Token)); err != nil {
		a.renderPassword(w, r, c, statusOf(err), err, "")
		return
	}
	old, nw := r.PostFormValue("old_password"), r.PostFormValue("new_password")
	if nw != r.PostFormValue("confirm") {
		err := katong.Invalid("confirm", "the new passwords differ")
		a.renderPassword(w, r, c, statusOf(err), err, "")
		return
	}
	if err := a.bank.ChangePassword(r.Context(), c.ID, c.Token, old, nw); err != nil {
		if katong.ErrorCode(err) == katong.EInternal {
			a.pageError(w, r, c, err)
			return
		}
		a.renderPassword(w, r, c, statusOf(err), err, "")
		return
	}
	a.renderPassword(w, r, c, http.StatusOK, nil, msgs(web.Lang(r))["changed"])
}

// GET /app/inbox
func (a *App) handleInboxPage(w http.ResponseWriter, r *http.Request) {
	c := a.requireLogin(w, r)
	if c == nil {
		return
	}
	ns, err := a.bank.Notices(r.Context(), c.ID)
	if err != nil {
		a.pageError(w, r, c, err)
		return
	}
	p := a.newPage(r, "inbox")
	a.fillSession(p, c)
	for _, n := range ns {
		p.Notices = append(p.Notices, noticeView{When: when(time.UnixMicro(n.At)), Title: katong.Redact(n.Title),
			Body: katong.Redact(n.Body), Read: n.Read})
	}
	a.render(w, r, http.StatusOK, "inbox", p)
}

// handlePageNotFound answers any other path under /app/.
func (a *App) handlePageNotFound(w http.ResponseWriter, r *http.Request) {
	c, _ := a.pageSession(r)
	p := a.newPage(r, "not_found")
	a.fillSession(p, c)
	p.neutralLinks()
	p.Error = &pageErr{Code: string(katong.ENotFound), Text: p.L["not_found"], Next: p.L["notfound_do"]}
	a.render(w, r, http.StatusNotFound, "error", p)
}
