// Package teller is the bank's counter console under
// /banks/{bank}/teller/: tellers and supervisors log in with their own
// accounts (a scope apart from customers'), look up a customer's balance
// with the card number and the customer's ID number, print a balance
// receipt (余额单), take cash deposits and withdrawals, and supervisors
// freeze and unfreeze accounts and read the audit log.
//
// The pages are server-rendered, zh-CN by default with an English switch,
// and work without JavaScript. Card and ID numbers travel only in POST
// bodies; pages show the card as first six and last four digits. A customer
// whose card and ID number were checked gets a counter visit: an opaque
// random id, bound to the teller's session, by which the receipt, the cash
// forms and the status actions reach the card.
package teller

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"katong"
	"katong/bank"
	"katong/web"
)

const (
	// cookieName carries the staff session token.
	cookieName = "katong_teller"
	// loginCookie carries the pre-session value the login form's CSRF
	// token is bound to.
	loginCookie = "katong_teller_login"
	// visitTTL is how long a checked card stays usable at the counter.
	visitTTL = 30 * time.Minute
	// auditPage is the number of audit records on a page.
	auditPage = 50
	// maxReason bounds a freeze reason, in characters.
	maxReason = 100
)

//go:embed templates/*.html
var templateFS embed.FS

// Console is the teller counter of one bank.
type Console struct {
	b      *bank.Bank
	log    *slog.Logger
	prefix string
	tmpl   *template.Template
}

// New returns the console of the bank. log receives internal errors only,
// with the request id and never a card or ID number.
func New(b *bank.Bank, log *slog.Logger) *Console {
	if log == nil {
		log = slog.Default()
	}
	return &Console{b: b, log: log, prefix: "/banks/" + string(b.Config.ID) + "/teller",
		tmpl: template.Must(template.New("teller").ParseFS(templateFS, "templates/*.html"))}
}

// Register adds the console's routes to mux, under
// /banks/{bank}/teller/.
func (c *Console) Register(mux *http.ServeMux) {
	p := c.prefix
	mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+p+"/login", c.handleLoginForm)
	mux.HandleFunc("POST "+p+"/login", c.handleLogin)
	mux.HandleFunc("POST "+p+"/logout", c.staff(bank.Teller, c.handleLogout))
	mux.HandleFunc("GET "+p+"/{$}", c.staff(bank.Teller, c.handleHome))
	mux.HandleFunc("POST "+p+"/inquiry", c.staff(bank.Teller, c.handleInquiry))
	mux.HandleFunc("GET "+p+"/visits/{id}", c.staff(bank.Teller, c.handleVisit))
	mux.HandleFunc("POST "+p+"/visits/{id}/refresh", c.staff(bank.Teller, c.handleRefresh))
	mux.HandleFunc("GET "+p+"/visits/{id}/receipt", c.staff(bank.Teller, c.handleReceipt))
	mux.HandleFunc("POST "+p+"/visits/{id}/deposit", c.staff(bank.Teller, c.cash(katong.TxnDeposit)))
	mux.HandleFunc("POST "+p+"/visits/{id}/withdraw", c.staff(bank.Teller, c.cash(katong.TxnWithdrawal)))
	mux.HandleFunc("POST "+p+"/visits/{id}/status", c.staff(bank.Supervisor, c.handleVisitStatus))
	mux.HandleFunc("GET "+p+"/status", c.staff(bank.Supervisor, c.handleStatusForm))
	mux.HandleFunc("POST "+p+"/status", c.staff(bank.Supervisor, c.handleStatus))
	mux.HandleFunc("GET "+p+"/audit", c.staff(bank.Supervisor, c.handleAudit))
}

// req is one request of a logged-in staff member.
type req struct {
	w     http.ResponseWriter
	r     *http.Request
	staff *bank.Staff
	tok   string
	lang  katong.Lang
}

func (q *req) ctx() context.Context { return q.r.Context() }

// form returns a field of the POST body; the query string is never read
// for form fields, so no card or ID number is taken from a URL.
func (q *req) form(name string) string { return q.r.PostForm.Get(name) }

// actor is the staff member as the audit log and the ledger's idempotency
// scope name them.
func (q *req) actor() string { return "teller:" + q.staff.Username }

// staff wraps a handler that needs a live staff session. need is the least
// role: bank.Teller admits tellers and supervisors, bank.Supervisor only
// supervisors (S9). A missing, ended, idle or customer session sends GET
// requests to the login page and answers other requests 401. POST bodies
// are parsed (size-limited) and must carry the session's CSRF token.
func (c *Console) staff(need bank.Role, h func(*req)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := &req{w: w, r: r, lang: web.PageLang(w, r), tok: web.Cookie(r, cookieName)}
		st, err := c.who(r.Context(), q.tok)
		if err != nil {
			if katong.ErrorCode(err) != katong.EUnauthorized {
				c.errorPage(w, r, q.lang, nil, "", err)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, c.prefix+"/login", http.StatusSeeOther)
				return
			}
			c.renderLogin(w, r, q.lang, http.StatusUnauthorized, c.errBox(r, q.lang, err), "")
			return
		}
		q.staff = st
		if need == bank.Supervisor && st.Role != bank.Supervisor {
			c.errorPage(w, r, q.lang, st, q.tok, katong.Errorf(katong.EForbidden, "supervisors only"))
			return
		}
		if r.Method == http.MethodPost {
			if err := web.ParseForm(w, r); err != nil {
				c.errorPage(w, r, q.lang, st, q.tok, err)
				return
			}
			if !c.csrfOK(q.tok, r.PostForm.Get("csrf")) {
				c.errorPage(w, r, q.lang, st, q.tok, &katong.Error{Code: katong.EForbidden, Field: "csrf", Message: "bad csrf token"})
				return
			}
		}
		h(q)
	}
}

// who returns the staff member of a session token. Only sessions of kind
// "staff" count: a customer's token is EUnauthorized here.
func (c *Console) who(ctx context.Context, tok string) (*bank.Staff, error) {
	s, err := c.b.Auth.Session(ctx, "staff", tok, bank.StaffSessions)
	if err != nil {
		return nil, err
	}
	return c.b.StaffByID(ctx, s.SubjectID)
}

// csrfToken is the session's CSRF token: a keyed HMAC of the session
// token, so every instance computes the same one and nobody without the
// session cookie can.
func (c *Console) csrfToken(tok string) string {
	if tok == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.b.Vault.Lookup("teller-csrf", tok))
}

func (c *Console) csrfOK(tok, got string) bool {
	want := c.csrfToken(tok)
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// loginCSRF is the login form's CSRF token, bound to the pre-session
// cookie value.
func (c *Console) loginCSRF(v string) string {
	return base64.RawURLEncoding.EncodeToString(c.b.Vault.Lookup("teller-login-csrf", v))
}

// base is what every page carries.
type base struct {
	L          tr
	HTMLLang   string
	Title      string
	Prefix     string
	BankName   string
	Staff      *bank.Staff
	Supervisor bool
	CSRF       string
	Err        *errBox
	LangURL    string
	LangLabel  string
	LangCode   string
}

// Invalid reports whether the page's error is about the field.
func (b base) Invalid(field string) bool { return b.Err != nil && b.Err.Field == field }

func (c *Console) base(r *http.Request, lang katong.Lang, st *bank.Staff, tok, title string) base {
	b := base{L: tr(lang), HTMLLang: "zh-CN", Title: title, Prefix: c.prefix, BankName: c.b.Config.Name,
		Staff: st, Supervisor: st != nil && st.Role == bank.Supervisor, CSRF: c.csrfToken(tok),
		LangLabel: "English", LangCode: "en"}
	if lang == katong.EN {
		b.HTMLLang, b.BankName, b.LangLabel, b.LangCode = "en", c.b.Config.NameEN, "中文", "zh"
	}
	// The switch links to the same page where that page can be fetched
	// again; after a POST it goes home (the answer is not repeatable).
	path := c.prefix + "/"
	if r.Method == http.MethodGet {
		path = r.URL.Path
	}
	b.LangURL = path + "?lang=" + b.LangCode
	return b
}

// errBox is an error as a page shows it: the code's text and what to do
// next.
type errBox struct {
	Code   katong.Code
	Text   string
	Detail string
	Next   string
	Field  string
}

// errBox translates err for a page: the one place the console turns codes
// into words. Internal errors are logged with the request id and shown
// with the id only.
func (c *Console) errBox(r *http.Request, lang katong.Lang, err error) *errBox {
	e := katong.AsError(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e = &katong.Error{Code: katong.EInternal, Err: err}
	}
	t := tr(lang)
	box := &errBox{Code: e.Code, Text: katong.Text(e.Code, lang), Field: e.Field}
	switch e.Code {
	case katong.EInvalid:
		box.Next = t.T("field_" + e.Field)
		if box.Next == "field_"+e.Field {
			box.Next = t.T("field_other")
		}
	case katong.ENotFound:
		if e.Field == "visit" {
			box.Next = t.T("next_visit")
		} else {
			box.Next = t.T("next_notfound")
		}
	case katong.EAbnormal, katong.EClosed:
		box.Next = fmt.Sprintf(t.T("next_abnormal"), c.b.Config.Support)
	case katong.ERateLimited, katong.ELocked:
		box.Next = fmt.Sprintf(t.T("next_wait"), katong.WaitText(e.RetryAfter, lang))
	case katong.ENetwork:
		box.Next = t.T("next_network")
	case katong.EUnauthorized:
		box.Next = t.T("next_session")
	case katong.EForbidden:
		if e.Field == "csrf" {
			box.Next = t.T("next_csrf")
		} else {
			box.Next = t.T("next_forbidden")
		}
	case katong.EInsufficient:
		box.Next = t.T("next_insufficient")
	case katong.EKeyReused:
		box.Next = t.T("next_keyreused")
	case katong.EConflict:
		box.Next = t.T("next_conflict")
	case katong.ECrossBank:
		box.Next = t.T("next_crossbank")
	case katong.ETooLarge:
		box.Next = t.T("next_toolarge")
	default:
		box.Code, box.Text = katong.EInternal, katong.Text(katong.EInternal, lang)
		id := web.RequestID(r.Context())
		c.log.Error("teller: internal error", "request_id", id, "path", r.URL.Path, "err", err)
		box.Next = fmt.Sprintf(t.T("next_internal"), id)
	}
	return box
}

// status is the HTTP status of a page showing the error box.
func status(box *errBox) int {
	if box == nil {
		return http.StatusOK
	}
	return web.HTTPStatus(box.Code)
}

// render writes a page. It renders into a buffer first, so a template
// error never leaves half a page: it gives a bare generic 500 instead.
func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.Error("teller: render", "request_id", web.RequestID(r.Context()), "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		web.NoStore(w)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, katong.Text(katong.EInternal, katong.ZH)+" / "+katong.Text(katong.EInternal, katong.EN))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	web.NoStore(w)
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// errorPage shows an error on its own page with a way back.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, lang katong.Lang, st *bank.Staff, tok string, err error) {
	box := c.errBox(r, lang, err)
	b := c.base(r, lang, st, tok, "error_title")
	b.Err = box
	// The path may be anything a client sent: never echo it.
	b.LangURL = c.prefix + "/?lang=" + b.LangCode
	c.render(w, r, status(box), "error", struct{ base }{b})
}

// newID returns a 120-bit random id in lower-case base32 (letters and the
// digits 2–7), which never reads as a card number.
func newID() string {
	b := make([]byte, 15)
	rand.Read(b)
	return b32.EncodeToString(b)
}

// shanghai formats a time for people, in Asia/Shanghai.
func shanghai(t time.Time) string {
	return t.In(katong.Shanghai).Format("2006-01-02 15:04:05")
}
