package openbanking

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"katong"
	"katong/auth"
	"katong/bank"
	"katong/sqlstore"
	"katong/web"
)

//go:embed pages.html
var pageFiles embed.FS

func parsePages() *template.Template {
	return template.Must(template.New("pages.html").ParseFS(pageFiles, "pages.html"))
}

// authzRequest is the query of an authorisation request.
type authzRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, Challenge, Method, ConsentID string
}

var authzFields = []string{"response_type", "client_id", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "consent_id"}

func readAuthz(v url.Values) authzRequest {
	return authzRequest{ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"),
		RedirectURI: v.Get("redirect_uri"), Scope: v.Get("scope"), State: v.Get("state"),
		Challenge: v.Get("code_challenge"), Method: v.Get("code_challenge_method"), ConsentID: v.Get("consent_id")}
}

func (a authzRequest) values() url.Values {
	v := url.Values{}
	for i, x := range []string{a.ResponseType, a.ClientID, a.RedirectURI, a.Scope, a.State, a.Challenge, a.Method, a.ConsentID} {
		if x != "" {
			v.Set(authzFields[i], x)
		}
	}
	return v
}

// authzProblem is what is wrong with an authorisation request: either
// shown on the page (an unknown client or redirect_uri: never redirect
// there) or sent back to the client's redirect_uri.
type authzProblem struct {
	redirect bool
	err      string // OAuth error code, when redirected
	key      string // text key, when shown
	desc     string
}

// checkAuthz validates an authorisation request against the registered
// clients and the consent it names.
func (s *Server) checkAuthz(ctx context.Context, a authzRequest) (*client, *consent, *authzProblem, error) {
	c, ok := s.clients[a.ClientID]
	if !ok {
		return nil, nil, &authzProblem{key: "unknown_client"}, nil
	}
	okURI := false
	for _, u := range c.RedirectURIs {
		if u == a.RedirectURI {
			okURI = true
		}
	}
	if !okURI || a.RedirectURI == "" {
		return nil, nil, &authzProblem{key: "bad_redirect"}, nil
	}
	back := func(code, desc string) (*client, *consent, *authzProblem, error) {
		return c, nil, &authzProblem{redirect: true, err: code, desc: desc}, nil
	}
	if a.ResponseType != "code" {
		return back("unsupported_response_type", "response_type must be code")
	}
	scopeOK := a.Scope == ""
	for _, sc := range strings.Fields(a.Scope) {
		if sc == "accounts" {
			scopeOK = true
		}
	}
	if !scopeOK {
		return back("invalid_scope", "the scope must include accounts")
	}
	if a.Method != "S256" || len(a.Challenge) != 43 || strings.Trim(a.Challenge,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return back("invalid_request", "PKCE with code_challenge_method=S256 is required")
	}
	if len(a.State) > 1024 {
		return back("invalid_request", "state too long")
	}
	cons, err := s.consent(ctx, a.ConsentID)
	if katong.ErrorCode(err) == cUnknownID || err == nil && cons.ClientID != c.ID {
		return back("invalid_request", "unknown consent_id")
	} else if err != nil {
		return nil, nil, nil, err
	}
	if cons.Status == StatusAWAU && cons.expired(s.bank.Now()) {
		if err := s.expire(ctx, cons); err != nil {
			return nil, nil, nil, err
		}
	}
	if cons.Status != StatusAWAU {
		return back("invalid_request", "the consent is not awaiting authorisation")
	}
	return c, cons, nil, nil
}

// redirectBack sends the browser to the client's redirect_uri with the
// parameters (and state).
func redirectBack(w http.ResponseWriter, r *http.Request, a authzRequest, params url.Values) {
	u, err := url.Parse(a.RedirectURI)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if a.State != "" {
		q.Set("state", a.State)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// ---- page rendering ----

type hidden struct{ Name, Value string }

type cardOption struct {
	ID       string
	Masked   string
	Name     string
	Product  string
	Abnormal bool
	Checked  bool
}

type consentView struct {
	ID         string
	Client     string
	Status     string
	StatusText string
	Perms      []string
	Cards      []string
	At         string
	Until      string
	Payments   bool
}

type page struct {
	Lang      string
	T         func(string) string
	Title     string
	Bank      string
	Colour    string
	Ink       string // text on Colour (web.Ink)
	Support   string
	LangURL   string
	Error     string
	Notice    string
	Action    string
	Params    []hidden
	CSRF      string
	Mobile    string
	Customer  string
	Client    string
	Asks      string
	Intro     string
	Payments  bool
	Agreed    bool
	Agreement string
	Perms     []string
	Until     string
	Window    string
	Cards     []cardOption
	Consents  []consentView
	Ended     []consentView
	Status    int
}

func (s *Server) newPage(w http.ResponseWriter, r *http.Request, title string) *page {
	lang := web.PageLang(w, r)
	other := katong.EN
	if lang == katong.EN {
		other = katong.ZH
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = url.Values{}
		for _, f := range authzFields {
			if v := r.PostForm.Get(f); v != "" {
				q.Set(f, v)
			}
		}
	}
	q.Set("lang", string(other))
	p := &page{Lang: string(lang), T: func(k string) string { return tr(lang, k) },
		Bank: bankName(s.bank.Config, lang), Colour: web.Colour(s.bank.Config.Colour), Support: s.bank.Config.Support,
		LangURL: r.URL.Path + "?" + q.Encode(), Status: http.StatusOK}
	p.Ink = web.Ink(p.Colour)
	p.Title = tr(lang, title)
	return p
}

func (p *page) lang() katong.Lang { return katong.Lang(p.Lang) }

func (s *Server) render(w http.ResponseWriter, name string, p *page) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, tr(p.lang(), "internal"), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", map[string]string{"zh": "zh-CN", "en": "en"}[p.Lang])
	w.WriteHeader(p.Status)
	w.Write(buf.Bytes())
}

func (s *Server) renderProblem(w http.ResponseWriter, r *http.Request, pr *authzProblem) {
	p := s.newPage(w, r, "bad_request")
	p.Error = tr(p.lang(), pr.key)
	p.Status = http.StatusBadRequest
	s.render(w, "problem", p)
}

func (s *Server) renderInternal(w http.ResponseWriter, r *http.Request, err error) {
	id := web.RequestID(r.Context())
	s.log.Error("open banking page", "request_id", id, "path", r.URL.Path, "err", katong.Redact(err.Error()))
	p := s.newPage(w, r, "error")
	p.Error = tr(p.lang(), "internal")
	if id != "" {
		p.Error += " (" + id + ")"
	}
	p.Status = http.StatusInternalServerError
	s.render(w, "problem", p)
}

// customer returns the logged-in customer of the bank session cookie.
func (s *Server) customer(r *http.Request) (katong.CustomerID, string) {
	tok := web.Cookie(r, SessionCookie)
	if tok == "" {
		return 0, ""
	}
	ss, err := s.bank.Auth.Session(r.Context(), "customer", tok, bank.CustomerSessions)
	if err != nil {
		return 0, ""
	}
	return katong.CustomerID(ss.SubjectID), tok
}

// loginSecret returns the pre-login CSRF secret of the browser, setting
// its cookie on first use.
func (s *Server) loginSecret(w http.ResponseWriter, r *http.Request) string {
	if v := web.Cookie(r, loginCookie); v != "" {
		return v
	}
	v := auth.NewToken()
	web.SetCookie(w, r, loginCookie, v, time.Hour)
	return v
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, action string, params url.Values, clientName, errKey, mobile string) {
	p := s.newPage(w, r, "login_title")
	l := p.lang()
	p.Title = fmt.Sprintf(tr(l, "login_title"), p.Bank)
	if clientName != "" {
		p.Intro = fmt.Sprintf(tr(l, "login_intro"), clientName)
	}
	p.Action = action
	for _, f := range authzFields {
		if v := params.Get(f); v != "" {
			p.Params = append(p.Params, hidden{f, v})
		}
	}
	p.CSRF = s.csrfFor("login", s.loginSecret(w, r))
	p.Mobile = mobile
	if errKey != "" {
		p.Error = errKey
		if _, ok := texts[errKey]; ok {
			p.Error = tr(l, errKey)
		}
	}
	s.render(w, "login", p)
}

// login handles a login form: on success it sets the bank session
// cookie and returns true; otherwise it has rendered the form again.
func (s *Server) login(w http.ResponseWriter, r *http.Request, action string, params url.Values, clientName string) bool {
	mobile := r.PostForm.Get("mobile")
	lang := web.Lang(r)
	if !s.checkCSRF("login", web.Cookie(r, loginCookie), r.PostForm.Get("csrf")) {
		s.renderLogin(w, r, action, params, clientName, "expired_form", mobile)
		return false
	}
	device := web.Cookie(r, deviceCookie)
	if device == "" {
		device = newID("dev-")
		web.SetCookie(w, r, deviceCookie, device, 400*24*time.Hour)
	}
	tok, _, err := s.bank.Login(r.Context(), mobile, r.PostForm.Get("password"), device)
	if err != nil {
		e := katong.AsError(err)
		switch e.Code {
		case katong.EUnauthorized:
			s.renderLogin(w, r, action, params, clientName, "wrong_login", mobile)
		case katong.ELocked:
			s.renderLogin(w, r, action, params, clientName, fmt.Sprintf(tr(lang, "locked"), katong.WaitText(e.RetryAfter, lang)), mobile)
		case katong.EInvalid:
			s.renderLogin(w, r, action, params, clientName, "bad_mobile", mobile)
		default:
			s.renderInternal(w, r, err)
		}
		return false
	}
	if old := web.Cookie(r, SessionCookie); old != "" {
		s.bank.Auth.EndSession(r.Context(), old)
	}
	web.SetCookie(w, r, SessionCookie, tok, bank.CustomerSessions.Absolute)
	return true
}

// ---- the authorisation page ----

// authzRequest reads and checks an authorisation request (query or form).
// When it is not acceptable it answers (a redirect back to the client
// with the error, or a problem page) and reports false.
func (s *Server) authzRequest(w http.ResponseWriter, r *http.Request, v url.Values) (authzRequest, *client, *consent, bool) {
	a := readAuthz(v)
	c, cons, pr, err := s.checkAuthz(r.Context(), a)
	switch {
	case err != nil:
		s.renderInternal(w, r, err)
		return a, nil, nil, false
	case pr != nil && pr.redirect:
		redirectBack(w, r, a, url.Values{"error": {pr.err}, "error_description": {pr.desc}})
		return a, nil, nil, false
	case pr != nil:
		s.renderProblem(w, r, pr)
		return a, nil, nil, false
	}
	return a, c, cons, true
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	a, c, cons, ok := s.authzRequest(w, r, r.URL.Query())
	if !ok {
		return
	}
	cust, tok := s.customer(r)
	if cust == 0 {
		s.renderLogin(w, r, s.prefix+"/oauth/authorize", a.values(), c.Name, "", "")
		return
	}
	s.renderConsent(w, r, a, c, cons, cust, tok, "", nil, false)
}

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, a authzRequest, c *client, cons *consent,
	cust katong.CustomerID, tok, errKey string, checked map[string]bool, agreed bool) {
	ctx := r.Context()
	p := s.newPage(w, r, "authorize_title")
	l := p.lang()
	p.Action = s.prefix + "/oauth/authorize"
	for _, f := range authzFields {
		if v := a.values().Get(f); v != "" {
			p.Params = append(p.Params, hidden{f, v})
		}
	}
	p.CSRF = s.csrfFor("session", tok)
	p.Client = c.Name
	p.Asks = fmt.Sprintf(tr(l, "asks"), c.Name, p.Bank)
	p.Payments = c.Payments
	p.Agreement = fmt.Sprintf(tr(l, "agreement_body"), c.Name)
	p.Perms = permissionTexts(cons.Permissions, l)
	if cons.Expiration != "" {
		p.Until = time.UnixMicro(cons.ExpiresAt).In(cst).Format("2006-01-02 15:04")
	}
	if cons.TxFrom != "" || cons.TxTo != "" {
		from, to := "…", "…"
		if cons.TxFrom != "" {
			from = time.UnixMicro(cons.TxFromAt).In(cst).Format("2006-01-02")
		}
		if cons.TxTo != "" {
			to = time.UnixMicro(cons.TxToAt).In(cst).Format("2006-01-02")
		}
		p.Window = from + " – " + to
	}
	if customer, err := s.bank.Customer(ctx, cust); err == nil {
		p.Customer = katong.MaskName(customer.Name)
	}
	cards, err := s.bank.Cards(ctx, cust)
	if err != nil {
		s.renderInternal(w, r, err)
		return
	}
	for _, card := range cards {
		acct, err := s.bank.Account(ctx, cust, card.AccountID)
		if err != nil {
			continue
		}
		id := strconv.FormatInt(int64(card.ID), 10)
		p.Cards = append(p.Cards, cardOption{ID: id, Masked: card.Masked, Name: acct.Name, Product: card.Product,
			Abnormal: acct.Status != katong.StatusActive, Checked: checked[id] || checked == nil && len(cards) == 1})
	}
	if errKey != "" {
		p.Error = tr(l, errKey)
		p.Status = http.StatusBadRequest
	}
	p.Agreed = agreed
	s.render(w, "consent", p)
}

// parseForm reads a posted form, answering a bad one with the problem
// page; it reports whether the form can be used.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := web.ParseForm(w, r); err != nil {
		p := s.newPage(w, r, "bad_request")
		p.Error, p.Status = tr(p.lang(), "bad_request"), http.StatusBadRequest
		s.render(w, "problem", p)
		return false
	}
	return true
}

func (s *Server) handleAuthorizePost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	a, c, cons, ok := s.authzRequest(w, r, r.PostForm)
	if !ok {
		return
	}
	action := r.PostForm.Get("action")
	if action == "login" {
		if s.login(w, r, s.prefix+"/oauth/authorize", a.values(), c.Name) {
			http.Redirect(w, r, s.prefix+"/oauth/authorize?"+a.values().Encode(), http.StatusSeeOther)
		}
		return
	}
	cust, tok := s.customer(r)
	if cust == 0 {
		s.renderLogin(w, r, s.prefix+"/oauth/authorize", a.values(), c.Name, "", "")
		return
	}
	checked := map[string]bool{}
	for _, id := range r.PostForm["card"] {
		checked[id] = true
	}
	agreed := r.PostForm.Get("agree") == "yes"
	if !s.checkCSRF("session", tok, r.PostForm.Get("csrf")) {
		s.renderConsent(w, r, a, c, cons, cust, tok, "expired_form", checked, agreed)
		return
	}
	// record writes the customer's decision to the audit log; false
	// (and a generic error page) if that fails.
	record := func() bool {
		err := s.bank.Auth.Audit(ctx, auth.Record{Channel: katong.ChannelApp, Actor: "customer:" + itoa(int64(cust)),
			Action: "ob_consent_" + action, Result: "ok", Detail: "client " + c.ID + " consent " + cons.ID})
		if err != nil {
			s.renderInternal(w, r, err)
		}
		return err == nil
	}
	switch action {
	case "reject":
		if _, err := s.endConsent(ctx, cons.ID, StatusRJCT, "", StatusAWAU); err != nil {
			s.renderInternal(w, r, err)
			return
		}
		if _, err := s.bank.DB.ExecContext(ctx, `UPDATE ob_consents SET customer_id = $1 WHERE id = $2`, cust, cons.ID); err != nil {
			s.renderInternal(w, r, err)
			return
		}
		if !record() {
			return
		}
		redirectBack(w, r, a, url.Values{"error": {"access_denied"}, "error_description": {"the customer rejected the request"}})
	case "approve":
		cards, err := s.bank.Cards(ctx, cust)
		if err != nil {
			s.renderInternal(w, r, err)
			return
		}
		var chosen []*katong.Card
		for _, card := range cards {
			if checked[strconv.FormatInt(int64(card.ID), 10)] {
				chosen = append(chosen, card)
			}
		}
		if len(chosen) == 0 {
			s.renderConsent(w, r, a, c, cons, cust, tok, "choose_card", checked, agreed)
			return
		}
		if c.Payments && !agreed {
			s.renderConsent(w, r, a, c, cons, cust, tok, "must_agree", checked, agreed)
			return
		}
		code, err := s.approve(ctx, a, c, cons, cust, chosen)
		if err != nil {
			if katong.ErrorCode(err) == katong.EConflict {
				redirectBack(w, r, a, url.Values{"error": {"invalid_request"}, "error_description": {"the consent is not awaiting authorisation"}})
				return
			}
			s.renderInternal(w, r, err)
			return
		}
		if !record() {
			return
		}
		redirectBack(w, r, a, url.Values{"code": {code}})
	default:
		s.renderConsent(w, r, a, c, cons, cust, tok, "", checked, agreed)
	}
}

// approve authorises the consent for the customer's chosen cards and
// returns a fresh authorisation code (single use, CodeTTL).
// Nothing of it can be in the grant cache: a consent awaiting
// authorisation has no access token yet.
func (s *Server) approve(ctx context.Context, a authzRequest, c *client, cons *consent, cust katong.CustomerID, cards []*katong.Card) (string, error) {
	code := auth.NewToken()
	now := s.bank.Now()
	err := s.bank.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ob_consents SET status = $1, customer_id = $2, updated_at = $3
			WHERE id = $4 AND status = $5`, StatusAUTH, cust, now.UnixMicro(), cons.ID, StatusAWAU)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return katong.Errorf(katong.EConflict, "consent %s is not awaiting authorisation", cons.ID)
		}
		for _, card := range cards {
			if _, err := obAccountID(ctx, tx, c.ID, card.AccountID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ob_consent_accounts (consent_id, account_id, card_id) VALUES ($1, $2, $3)
				ON CONFLICT (consent_id, account_id) DO NOTHING`, cons.ID, card.AccountID, card.ID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO ob_codes (code_hash, consent_id, client_id, redirect_uri, challenge, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, auth.HashToken(code), cons.ID, c.ID, a.RedirectURI, a.Challenge, now.Add(CodeTTL).UnixMicro())
		return err
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// ---- the customer's consents (授权管理) ----

func (s *Server) handleConsentList(w http.ResponseWriter, r *http.Request) {
	cust, tok := s.customer(r)
	if cust == 0 {
		s.renderLogin(w, r, s.prefix+"/oauth/consents", nil, "", "", "")
		return
	}
	notice := ""
	if r.URL.Query().Get("done") == "revoked" {
		notice = "revoked"
	}
	s.renderConsentList(w, r, cust, tok, notice, "")
}

func (s *Server) handleConsentListPost(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	if r.PostForm.Get("action") == "login" {
		if s.login(w, r, s.prefix+"/oauth/consents", nil, "") {
			http.Redirect(w, r, s.prefix+"/oauth/consents", http.StatusSeeOther)
		}
		return
	}
	cust, tok := s.customer(r)
	if cust == 0 {
		s.renderLogin(w, r, s.prefix+"/oauth/consents", nil, "", "", "")
		return
	}
	if !s.checkCSRF("session", tok, r.PostForm.Get("csrf")) {
		s.renderConsentList(w, r, cust, tok, "", "expired_form")
		return
	}
	if r.PostForm.Get("action") == "revoke" {
		id := r.PostForm.Get("consent")
		cons, err := s.consent(ctx, id)
		if err == nil && cons.CustomerID == cust {
			if _, err := s.endConsent(ctx, cons.ID, StatusCANC, "TKSP", StatusAUTH); err != nil {
				s.renderInternal(w, r, err)
				return
			}
			s.bank.Auth.Audit(ctx, auth.Record{Channel: katong.ChannelApp, Actor: "customer:" + itoa(int64(cust)),
				Action: "ob_consent_revoke", Result: "ok", Detail: "client " + cons.ClientID + " consent " + cons.ID})
		}
		http.Redirect(w, r, s.prefix+"/oauth/consents?done=revoked", http.StatusSeeOther)
		return
	}
	s.renderConsentList(w, r, cust, tok, "", "")
}

func (s *Server) renderConsentList(w http.ResponseWriter, r *http.Request, cust katong.CustomerID, tok, notice, errKey string) {
	ctx := r.Context()
	p := s.newPage(w, r, "consents_title")
	l := p.lang()
	p.Action = s.prefix + "/oauth/consents"
	p.CSRF = s.csrfFor("session", tok)
	if notice != "" {
		p.Notice = tr(l, notice)
	}
	if errKey != "" {
		p.Error = tr(l, errKey)
	}
	if customer, err := s.bank.Customer(ctx, cust); err == nil {
		p.Customer = katong.MaskName(customer.Name)
	}
	list, err := sqlstore.All(ctx, s.bank.DB, scanConsent, `SELECT `+consentCols+` FROM ob_consents
		WHERE customer_id = $1 AND status <> $2 ORDER BY updated_at DESC LIMIT 100`, cust, StatusAWAU)
	if err != nil {
		s.renderInternal(w, r, err)
		return
	}
	for _, c := range list {
		if c.Status == StatusAUTH && c.expired(s.bank.Now()) {
			if err := s.expire(ctx, c); err != nil {
				s.renderInternal(w, r, err)
				return
			}
		}
		v := consentView{ID: c.ID, Client: c.ClientID, Status: c.Status, StatusText: tr(l, "status_"+c.Status),
			Perms: permissionTexts(c.Permissions, l), At: time.UnixMicro(c.Updated).In(cst).Format("2006-01-02 15:04")}
		if cl, ok := s.clients[c.ClientID]; ok {
			v.Client, v.Payments = cl.Name, cl.Payments
		}
		if c.Expiration != "" {
			v.Until = time.UnixMicro(c.ExpiresAt).In(cst).Format("2006-01-02 15:04")
		}
		accts, err := s.consentAccounts(ctx, c)
		if err != nil {
			s.renderInternal(w, r, err)
			return
		}
		for _, a := range accts {
			if card, err := s.bank.Card(ctx, a.CardID); err == nil {
				v.Cards = append(v.Cards, card.Masked)
			}
		}
		if c.Status == StatusAUTH {
			p.Consents = append(p.Consents, v)
		} else {
			p.Ended = append(p.Ended, v)
		}
	}
	s.render(w, "consents", p)
}
