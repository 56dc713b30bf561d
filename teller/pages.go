package teller

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"katong"
	"katong/auth"
	"katong/bank"
	"katong/web"
)

// loginPage is the staff login form.
type loginPage struct {
	base
	Username string
}

// renderLogin shows the login form. Its CSRF token is bound to a
// pre-session cookie, set here if the browser has none.
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, lang katong.Lang, code int, box *errBox, username string) {
	v := web.Cookie(r, loginCookie)
	if len(v) != 43 {
		v = auth.NewToken()
		web.SetCookie(w, r, loginCookie, v, 0)
	}
	b := c.base(r, lang, nil, "", "login_title")
	b.CSRF, b.Err = c.loginCSRF(v), box
	// Echo the name only if it cannot be a card or ID number typed into
	// the wrong field.
	if len(username) > 64 || katong.Redact(username) != username {
		username = ""
	}
	c.render(w, r, code, "login", loginPage{base: b, Username: username})
}

func (c *Console) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	l := web.PageLang(w, r)
	if _, err := c.who(r.Context(), web.Cookie(r, cookieName)); err == nil {
		http.Redirect(w, r, c.prefix+"/", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, l, http.StatusOK, nil, "")
}

func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	l := web.PageLang(w, r)
	fail := func(err error, username string) {
		box := c.errBox(r, l, err)
		c.renderLogin(w, r, l, status(box), box, username)
	}
	if err := web.ParseForm(w, r); err != nil {
		fail(err, "")
		return
	}
	v := web.Cookie(r, loginCookie)
	if v == "" || subtle.ConstantTimeCompare([]byte(c.loginCSRF(v)), []byte(r.PostForm.Get("csrf"))) != 1 {
		fail(&katong.Error{Code: katong.EForbidden, Field: "csrf", Message: "bad login csrf token"}, "")
		return
	}
	username, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	if username == "" || password == "" {
		fail(katong.Invalid("username", "username and password are required"), username)
		return
	}
	var tok string
	var err error
	if len(username) > 64 || len(password) > 1024 {
		err = katong.Errorf(katong.EUnauthorized, "wrong username or password")
	} else {
		tok, _, err = c.b.StaffLogin(r.Context(), username, password)
	}
	if err != nil {
		box := c.errBox(r, l, err)
		if box.Code == katong.EUnauthorized {
			box.Text, box.Next, box.Field = tr(l).T("login_failed"), tr(l).T("login_next"), "password"
		}
		c.renderLogin(w, r, l, status(box), box, username)
		return
	}
	// Rotate: the session this browser had before ends now.
	if old := web.Cookie(r, cookieName); old != "" {
		if err := c.b.Auth.EndSession(r.Context(), old); err != nil {
			c.errorPage(w, r, l, nil, "", err)
			return
		}
	}
	web.SetCookie(w, r, cookieName, tok, 0)
	web.SetCookie(w, r, loginCookie, "", 0)
	http.Redirect(w, r, c.prefix+"/", http.StatusSeeOther)
}

func (c *Console) handleLogout(q *req) {
	if err := c.b.Auth.EndSession(q.ctx(), q.tok); err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	web.SetCookie(q.w, q.r, cookieName, "", 0)
	http.Redirect(q.w, q.r, c.prefix+"/login", http.StatusSeeOther)
}

// homePage is the inquiry form. It never holds the numbers typed into it:
// an answer to a failed inquiry is the same bytes whatever was typed (S10).
type homePage struct {
	base
}

func (c *Console) renderHome(q *req, err error) {
	b := c.base(q.r, q.lang, q.staff, q.tok, "inquiry_title")
	if err != nil {
		b.Err = c.errBox(q.r, q.lang, err)
	}
	c.render(q.w, q.r, status(b.Err), "home", homePage{b})
}

func (c *Console) handleHome(q *req) { c.renderHome(q, nil) }

// handleInquiry checks the card number and the customer's ID number, asks
// for the balance, and sends the teller to the visit's page. An unknown
// card, a wrong ID number and a locked card all give the same page.
func (c *Console) handleInquiry(q *req) {
	card, err := c.verify(q, q.form("card_number"), q.form("id_number"))
	if err != nil {
		c.renderHome(q, err)
		return
	}
	ctx := q.ctx()
	pan, err := c.b.CardNumber(ctx, card.ID)
	if err != nil {
		c.renderHome(q, err)
		return
	}
	cust, err := c.b.Customer(ctx, card.CustomerID)
	if err != nil {
		c.renderHome(q, err)
		return
	}
	v := &visit{StaffID: q.staff.ID, CardID: card.ID, AccountID: card.AccountID,
		CardMasked: katong.MaskCardTeller(pan), HolderMasked: katong.MaskName(cust.Name)}
	if err := c.query(ctx, q, card, v); err != nil {
		c.renderHome(q, err)
		return
	}
	id, err := c.saveVisit(ctx, q.tok, v)
	if err != nil {
		c.renderHome(q, err)
		return
	}
	http.Redirect(q.w, q.r, c.prefix+"/visits/"+id, http.StatusSeeOther)
}

// verify checks the typed numbers: their format first (a failed check
// never reaches the bank), then that they belong to one card of this
// bank. A miss is audited with the masked card and answered ENotFound.
func (c *Console) verify(q *req, pan, idNumber string) (*katong.Card, error) {
	if strings.TrimSpace(pan) == "" {
		return nil, katong.Invalid("card_number", "card number is required")
	}
	norm, err := katong.NormalizeCard(pan)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(idNumber) == "" {
		return nil, katong.Invalid("id_number", "ID number is required")
	}
	if _, err := katong.NormalizeID(idNumber, c.b.Now()); err != nil {
		return nil, err
	}
	if !katong.CheckBIN(norm, c.b.Config.BINs) {
		return nil, katong.Errorf(katong.ECrossBank, "card of another bank")
	}
	card, err := c.b.VerifyCard(q.ctx(), norm, bank.Secret{IDNumber: idNumber})
	if err != nil {
		if katong.ErrorCode(err) == katong.ENotFound {
			if aerr := c.b.AuditCardCheck(q.ctx(), katong.ChannelCounter, q.actor(), norm,
				"branch "+q.staff.Branch, katong.ENotFound); aerr != nil {
				return nil, aerr
			}
		}
		return nil, err
	}
	return card, nil
}

// query asks the bank for the card's balance (limited, audited with the
// teller and branch) and puts the answer in the visit. A frozen account
// is not an error here: the visit records it and its page says so.
func (c *Console) query(ctx context.Context, q *req, card *katong.Card, v *visit) error {
	bal, err := c.b.Balance(ctx, bank.Query{Channel: katong.ChannelCounter, Actor: q.actor(),
		Detail: "branch " + q.staff.Branch, Card: card})
	switch code := katong.ErrorCode(err); code {
	case "":
		v.Result, v.Available, v.Booked, v.AsOf = "", bal.Available, bal.Booked, bal.AsOf
	case katong.EAbnormal:
		v.Result, v.Available, v.Booked, v.AsOf = code, 0, 0, c.b.Now()
	default:
		return err
	}
	return nil
}

// visitPage is a checked customer's page: the balance of the last
// inquiry, the receipt, the cash forms and, for supervisors, the status.
type visitPage struct {
	base
	V            *visit
	Active       bool // the account's status now
	StatusKey    string
	FreezeReason string
	ShowBalance  bool
	Changed      bool // the inquiry found it frozen; it is active now
	AsOf         string
	DepositKey   string
	WithdrawKey  string
}

// showVisit renders the visit's page with err, if any, in its error box.
// The account's status is read live; the balance is the snapshot of the
// last audited inquiry, with its time.
func (c *Console) showVisit(q *req, v *visit, err error) {
	acct, aerr := c.b.Ledger.Store().Account(q.ctx(), v.AccountID)
	if aerr != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, aerr)
		return
	}
	b := c.base(q.r, q.lang, q.staff, q.tok, "result_title")
	p := visitPage{V: v, Active: acct.Status == katong.StatusActive, StatusKey: "status_" + string(acct.Status),
		AsOf: shanghai(v.AsOf), DepositKey: katong.NewKey(), WithdrawKey: katong.NewKey()}
	if !p.Active {
		p.FreezeReason = acct.FreezeReason
		b.Err = c.errBox(q.r, q.lang, bank.Usable(acct))
		if acct.FreezeReason != "" {
			b.Err.Detail = b.L.T("freeze_reason") + b.L.T("colon") + acct.FreezeReason
		}
	}
	if err != nil {
		b.Err = c.errBox(q.r, q.lang, err)
	}
	p.ShowBalance = p.Active && v.Result == ""
	p.Changed = p.Active && v.Result != ""
	p.base = b
	c.render(q.w, q.r, status(b.Err), "visit", p)
}

func (c *Console) handleVisit(q *req) {
	v, err := c.loadVisit(q.ctx(), q.tok, q.r.PathValue("id"))
	if err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	c.showVisit(q, v, nil)
}

// handleRefresh asks for the balance again (a new, audited query) and
// shows the visit.
func (c *Console) handleRefresh(q *req) {
	ctx := q.ctx()
	v, err := c.loadVisit(ctx, q.tok, q.r.PathValue("id"))
	if err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	card, err := c.b.Card(ctx, v.CardID)
	if err == nil {
		err = c.query(ctx, q, card, v)
	}
	if err == nil {
		err = c.updateVisit(ctx, v)
	}
	if err != nil {
		c.showVisit(q, v, err)
		return
	}
	http.Redirect(q.w, q.r, c.prefix+"/visits/"+v.ID, http.StatusSeeOther)
}

// receiptPage is the printable balance receipt (余额单).
type receiptPage struct {
	base
	V       *visit
	AsOf    string
	Printed string
}

func (c *Console) handleReceipt(q *req) {
	ctx := q.ctx()
	v, err := c.loadVisit(ctx, q.tok, q.r.PathValue("id"))
	if err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	acct, err := c.b.Ledger.Store().Account(ctx, v.AccountID)
	if err == nil {
		err = bank.Usable(acct)
	}
	if err == nil && v.Result != "" {
		err = katong.Errorf(v.Result, "the inquiry gave no balance")
	}
	if err != nil {
		c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
		return
	}
	b := c.base(q.r, q.lang, q.staff, q.tok, "receipt_title")
	c.render(q.w, q.r, http.StatusOK, "receipt", receiptPage{base: b, V: v, AsOf: shanghai(v.AsOf), Printed: shanghai(c.b.Now())})
}
