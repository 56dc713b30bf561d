package wallet

import (
	"crypto/hmac"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"katong"
	"katong/web"
)

// The pages: server-rendered, mobile-first, zh-CN by default with English
// one tap away, usable without JavaScript.

//go:embed templates/*.html
var templateFS embed.FS

// cookieName is the wallet's session cookie; eyeCookie remembers whether
// balances are shown, named apart from the bank app's katong_eye (the
// demo serves both from one origin).
const (
	cookieName = "katong_wallet"
	eyeCookie  = "katong_wallet_eye"
)

type pages struct {
	t map[string]*template.Template
}

var pageNames = []string{"login", "register", "me", "cards", "bind", "card", "pay", "payments", "payment", "message"}

func newPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	ps := &pages{t: map[string]*template.Template{}}
	for _, n := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("wallet: page %s: %w", n, err)
		}
		ps.t[n] = t
	}
	return ps, nil
}

// page is what every page template gets.
type page struct {
	Lang     katong.Lang
	Name     string
	Path     string // of this page, for the language switch
	User     *User
	CSRF     string
	Error    *pageError
	Notice   string
	Show     bool // the eye: balances shown
	Banks    []*Partner
	Cards    []*Card
	Card     *Card
	Balance  *Balance
	Records  []Record
	RecErr   *pageError
	Payments []*Payment
	Payment  *Payment
	Form     map[string]string
	Key      string // idempotency key of the form
	Merchant string
}

// pageError is an error as a person reads it: what happened and what to
// do next.
type pageError struct {
	Code      katong.Code
	Text      string
	Next      string
	Retry     bool   // offer a retry
	Support   string // the bank's support number (ACCOUNT_ABNORMAL)
	Field     string
	RequestID string
}

// errAlreadyBound and errMobileTaken tell two EInvalid apart for pages.
var (
	errAlreadyBound = errors.New("card already bound")
	errMobileTaken  = errors.New("mobile already registered")
)

// describe turns an error into what a person reads, in the language: the
// code's text (katong.Text) and the next step.
func (w *Wallet) describe(r *http.Request, err error, lang katong.Lang) *pageError {
	e := katong.AsError(err)
	pe := &pageError{Code: e.Code, Text: katong.Text(e.Code, lang), Field: e.Field, RequestID: web.RequestID(r.Context())}
	p := bankOf(err)
	switch e.Code {
	case katong.ENetwork:
		pe.Retry = true
		pe.Next = pick(lang, "银行暂时无法连接。请稍后重试，或切换网络后重试。", "The bank cannot be reached right now. Retry in a moment, or switch network and retry.")
		if e.RetryAfter > 0 {
			pe.Next += " " + pick(lang, "建议等待 ", "Suggested wait: ") + katong.WaitText(e.RetryAfter, lang) + pick(lang, "。", ".")
		}
	case katong.EAbnormal:
		if p != nil {
			pe.Support = p.Support
			pe.Next = pick(lang, "请致电"+p.Name+"客服 "+p.Support+" 处理。", "Please call "+p.NameEN+"'s support on "+p.Support+".")
		} else {
			pe.Next = pick(lang, "请联系发卡银行客服。", "Please contact the card's bank.")
		}
	case katong.ENotFound:
		pe.Next = pick(lang, "该卡或授权已不存在。请核对卡号，或重新绑定该卡。", "The card or its authorisation no longer exists. Check the card number, or bind the card again.")
	case katong.ERateLimited, katong.ELocked:
		wait := e.RetryAfter
		if wait <= 0 {
			wait = time.Minute
		}
		pe.Next = pick(lang, "请在 "+katong.WaitText(wait, lang)+" 后再试。", "Please try again in "+katong.WaitText(wait, lang)+".")
	case katong.ECrossBank:
		var names []string
		for _, b := range w.partners {
			names = append(names, pick(lang, b.Name, b.NameEN))
		}
		pe.Next = pick(lang, "目前只能绑定以下银行的卡："+strings.Join(names, "、")+"。", "Only cards of these banks can be bound: "+strings.Join(names, ", ")+".")
	case katong.EClientOutdated:
		pe.Next = pick(lang, "请更新到 "+w.cfg.MinClientVersion+" 或更高版本。", "Please update to version "+w.cfg.MinClientVersion+" or later.")
	case katong.EUnauthorized:
		pe.Text = pick(lang, "手机号或密码错误", "Wrong mobile number or password")
		pe.Next = pick(lang, "请核对后重试。", "Check them and try again.")
	case katong.EForbidden:
		pe.Next = pick(lang, "你在银行页面没有同意授权，卡未绑定。", "The authorisation was not approved at the bank: the card was not bound.")
	case katong.EInsufficient:
		pe.Next = pick(lang, "请减少金额或换一张卡。", "Lower the amount or use another card.")
	case katong.EConflict, katong.EKeyReused:
		pe.Next = pick(lang, "请勿重复提交，稍后在支付记录中查看结果。", "Do not submit twice; see the result in your payments shortly.")
	case katong.EInvalid:
		pe.Next = fieldText(e, lang)
	case katong.ETooLarge:
		pe.Next = pick(lang, "请缩短输入后重试。", "Shorten what you typed and try again.")
	default:
		pe.Retry = true
		pe.Next = pick(lang, "请稍后再试。如问题持续，请提供编号 ", "Please try again later. If it persists, quote reference ") + pe.RequestID
	}
	return pe
}

// fieldText says what is wrong with a field and how to put it right.
func fieldText(e *katong.Error, lang katong.Lang) string {
	zh, en := "请检查输入后重试。", "Check what you typed and try again."
	switch e.Field {
	case "card_number":
		zh, en = "请输入正确的银行卡号（16–19 位数字）。", "Enter a valid card number (16 to 19 digits)."
		if errors.Is(e, errAlreadyBound) {
			zh, en = "这张卡已经绑定。", "This card is already bound."
		}
	case "mobile":
		zh, en = "请输入正确的中国大陆手机号。", "Enter a valid mainland China mobile number."
		if errors.Is(e, errMobileTaken) {
			zh, en = "该手机号已注册，请直接登录。", "This mobile number is already registered: please log in."
		}
	case "password":
		zh, en = "密码至少 8 位，且不能是常见密码。", "The password needs at least 8 characters and must not be a common one."
	case "amount":
		zh, en = "请输入正确的金额，例如 12.34。", "Enter a valid amount, such as 12.34."
	case "reference":
		zh, en = "请填写商户订单号（1–140 个字符，不含卡号）。", "Enter the merchant reference (1 to 140 characters, no card number)."
	case "state", "code":
		zh, en = "绑定已过期或不属于当前登录，请重新绑定。", "The binding expired or belongs to another login: please start again."
	case "payment":
		zh, en = "只有支付成功的订单可以退款。", "Only a paid payment can be refunded."
	case "csrf":
		zh, en = "页面已过期，请刷新后重试。", "The page has expired: reload it and try again."
	}
	return pick(lang, zh, en)
}

// pageRoutes are the routes of the pages.
func (w *Wallet) pageRoutes() []route {
	return []route{
		{"GET /wallet", w.pg(false, w.pageHome)},
		{"GET /wallet/{$}", w.pg(false, w.pageHome)},
		{"GET /wallet/login", w.pg(false, w.pageLogin)},
		{"POST /wallet/login", w.pg(false, w.pageLoginPost)},
		{"GET /wallet/register", w.pg(false, w.pageRegister)},
		{"POST /wallet/register", w.pg(false, w.pageRegisterPost)},
		{"POST /wallet/logout", w.pg(true, w.pageLogout)},
		{"POST /wallet/eye", w.pg(false, w.pageEye)},
		{"GET /wallet/me", w.pg(true, w.pageMe)},
		{"GET /wallet/cards", w.pg(true, w.pageCards)},
		{"GET /wallet/cards/new", w.pg(true, w.pageBind)},
		{"POST /wallet/cards", w.pg(true, w.pageBindPost)},
		{"GET /wallet/bind/callback", w.pg(true, w.pageBindCallback)},
		{"GET /wallet/cards/{id}", w.pg(true, w.pageCard)},
		{"POST /wallet/cards/{id}/unbind", w.pg(true, w.pageUnbind)},
		{"GET /wallet/cards/{id}/pay", w.pg(true, w.pagePay)},
		{"POST /wallet/cards/{id}/pay", w.pg(true, w.pagePayPost)},
		{"GET /wallet/payments", w.pg(true, w.pagePayments)},
		{"GET /wallet/payments/{id}", w.pg(true, w.pagePayment)},
		{"POST /wallet/payments/{id}/retry", w.pg(true, w.pagePaymentRetry)},
		{"POST /wallet/payments/{id}/refunds", w.pg(true, w.pageRefundPost)},
	}
}

// pg wraps a page handler: the client version check, the language switch
// (?lang= is remembered in a cookie), the session cookie when authed (a
// visitor without one is sent to log in), the CSRF check of forms, and
// errors as an error page.
func (w *Wallet) pg(authed bool, h func(http.ResponseWriter, *http.Request, *page) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		pg := &page{Lang: web.PageLang(rw, r), Path: r.URL.Path, Show: eyeOpen(r)}
		if err := w.checkVersion(r); err != nil {
			w.errorPage(rw, r, pg, err)
			return
		}
		if authed {
			u, err := w.user(r.Context(), web.Cookie(r, cookieName))
			if err != nil {
				next := r.URL.Path
				if r.Method != http.MethodGet {
					next = "/wallet/me"
				}
				http.Redirect(rw, r, "/wallet/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			pg.User, pg.CSRF = u, w.csrf(u.token)
			if r.Method == http.MethodPost {
				if err := web.ParseForm(rw, r); err != nil {
					w.errorPage(rw, r, pg, err)
					return
				}
				if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(pg.CSRF)) {
					w.errorPage(rw, r, pg, katong.Invalid("csrf", "missing or wrong CSRF token"))
					return
				}
			}
		} else if r.Method == http.MethodPost {
			if err := web.ParseForm(rw, r); err != nil {
				w.errorPage(rw, r, pg, err)
				return
			}
		}
		if err := h(rw, r, pg); err != nil {
			w.errorPage(rw, r, pg, err)
		}
	})
}

// csrf is the form token of a session: a keyed hash of its token.
func (w *Wallet) csrf(token string) string {
	return fmt.Sprintf("%x", w.cfg.Vault.Lookup("wallet-csrf", token)[:16])
}

func eyeOpen(r *http.Request) bool {
	c, err := r.Cookie(eyeCookie)
	return err == nil && c.Value == "show"
}

// localPath accepts only a path of the wallet, never another site.
func localPath(s, def string) string {
	if !strings.HasPrefix(s, "/wallet/") || strings.Contains(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return def
	}
	return s
}

// render writes a page.
func (w *Wallet) render(rw http.ResponseWriter, r *http.Request, status int, name string, pg *page) {
	pg.Name = name
	web.NoStore(rw)
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	if err := w.pages.t[name].ExecuteTemplate(rw, "layout.html", pg); err != nil {
		w.log.Error("wallet page", "page", name, "request_id", web.RequestID(r.Context()), "err", err)
	}
}

// errorPage shows err on the message page with its HTTP status.
func (w *Wallet) errorPage(rw http.ResponseWriter, r *http.Request, pg *page, err error) {
	pg.Error = w.describe(r, err, pg.Lang)
	if pg.Error.Code == katong.EInternal {
		w.log.Error("wallet internal error", "request_id", pg.Error.RequestID, "path", r.URL.Path, "err", err)
	}
	w.render(rw, r, status(err), "message", pg)
}

func status(err error) int { return web.HTTPStatus(katong.ErrorCode(err)) }

func (w *Wallet) pageHome(rw http.ResponseWriter, r *http.Request, pg *page) error {
	if _, err := w.user(r.Context(), web.Cookie(r, cookieName)); err == nil {
		http.Redirect(rw, r, "/wallet/me", http.StatusSeeOther)
	} else {
		http.Redirect(rw, r, "/wallet/login", http.StatusSeeOther)
	}
	return nil
}

func (w *Wallet) pageLogin(rw http.ResponseWriter, r *http.Request, pg *page) error {
	pg.Form = map[string]string{"next": localPath(r.URL.Query().Get("next"), "")}
	w.render(rw, r, http.StatusOK, "login", pg)
	return nil
}

func (w *Wallet) pageLoginPost(rw http.ResponseWriter, r *http.Request, pg *page) error {
	f := r.PostForm
	old := web.Cookie(r, cookieName)
	tok, err := w.Login(r.Context(), f.Get("mobile"), f.Get("password"), r.UserAgent())
	if err != nil {
		pg.Error = w.describe(r, err, pg.Lang)
		pg.Form = map[string]string{"mobile": f.Get("mobile"), "next": localPath(f.Get("next"), "")}
		w.render(rw, r, status(err), "login", pg)
		return nil
	}
	if old != "" {
		w.Logout(r.Context(), old) // a new session on every log-in
	}
	web.SetCookie(rw, r, cookieName, tok, sessionPolicy.Absolute)
	http.Redirect(rw, r, localPath(f.Get("next"), "/wallet/me"), http.StatusSeeOther)
	return nil
}

func (w *Wallet) pageRegister(rw http.ResponseWriter, r *http.Request, pg *page) error {
	w.render(rw, r, http.StatusOK, "register", pg)
	return nil
}

func (w *Wallet) pageRegisterPost(rw http.ResponseWriter, r *http.Request, pg *page) error {
	f := r.PostForm
	_, err := w.SignUp(r.Context(), f.Get("mobile"), f.Get("password"))
	var tok string
	if err == nil {
		tok, err = w.Login(r.Context(), f.Get("mobile"), f.Get("password"), r.UserAgent())
	}
	if err != nil {
		pg.Error = w.describe(r, err, pg.Lang)
		pg.Form = map[string]string{"mobile": f.Get("mobile")}
		w.render(rw, r, status(err), "register", pg)
		return nil
	}
	web.SetCookie(rw, r, cookieName, tok, sessionPolicy.Absolute)
	http.Redirect(rw, r, "/wallet/me", http.StatusSeeOther)
	return nil
}

func (w *Wallet) pageLogout(rw http.ResponseWriter, r *http.Request, pg *page) error {
	if err := w.Logout(r.Context(), pg.User.token); err != nil {
		return err
	}
	web.SetCookie(rw, r, cookieName, "", 0)
	http.Redirect(rw, r, "/wallet/login", http.StatusSeeOther)
	return nil
}

// pageEye flips the eye: balances shown or hidden, remembered on the device.
func (w *Wallet) pageEye(rw http.ResponseWriter, r *http.Request, pg *page) error {
	v := "hide"
	if !eyeOpen(r) {
		v = "show"
	}
	http.SetCookie(rw, &http.Cookie{Name: eyeCookie, Value: v, Path: "/wallet/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, HttpOnly: true})
	http.Redirect(rw, r, localPath(r.PostForm.Get("back"), "/wallet/me"), http.StatusSeeOther)
	return nil
}

func (w *Wallet) pageMe(rw http.ResponseWriter, r *http.Request, pg *page) error {
	if err := w.mobile(r.Context(), pg.User); err != nil {
		return err
	}
	cards, err := w.Cards(r.Context(), pg.User)
	if err != nil {
		return err
	}
	pg.Cards = cards
	w.render(rw, r, http.StatusOK, "me", pg)
	return nil
}

func (w *Wallet) pageCards(rw http.ResponseWriter, r *http.Request, pg *page) error {
	cards, err := w.Cards(r.Context(), pg.User)
	if err != nil {
		return err
	}
	pg.Cards = cards
	switch r.URL.Query().Get("done") {
	case "unbound":
		pg.Notice = pick(pg.Lang, "已解绑。银行授权将同时撤销。", "Unbound. The authorisation at the bank is being revoked.")
	}
	w.render(rw, r, http.StatusOK, "cards", pg)
	return nil
}

func pick(lang katong.Lang, zh, en string) string {
	if lang == katong.EN {
		return en
	}
	return zh
}

func (w *Wallet) pageBind(rw http.ResponseWriter, r *http.Request, pg *page) error {
	pg.Banks = w.partnerList()
	w.render(rw, r, http.StatusOK, "bind", pg)
	return nil
}

func (w *Wallet) partnerList() []*Partner {
	var out []*Partner
	for _, p := range w.partners {
		out = append(out, p.Partner)
	}
	return out
}

func (w *Wallet) pageBindPost(rw http.ResponseWriter, r *http.Request, pg *page) error {
	to, err := w.StartBind(r.Context(), pg.User, r.PostForm.Get("card_number"))
	if err != nil {
		pg.Banks = w.partnerList()
		pg.Error = w.describe(r, err, pg.Lang)
		w.render(rw, r, status(err), "bind", pg) // the number is not typed back into the page
		return nil
	}
	http.Redirect(rw, r, to, http.StatusSeeOther)
	return nil
}

func (w *Wallet) pageBindCallback(rw http.ResponseWriter, r *http.Request, pg *page) error {
	q := r.URL.Query()
	c, err := w.FinishBind(r.Context(), pg.User, q.Get("state"), q.Get("code"), q.Get("error"))
	if err != nil {
		pg.Banks = w.partnerList()
		pg.Error = w.describe(r, err, pg.Lang)
		w.render(rw, r, status(err), "bind", pg)
		return nil
	}
	http.Redirect(rw, r, "/wallet/cards/"+strconv.FormatInt(c.ID, 10)+"?done=bound", http.StatusSeeOther)
	return nil
}

// pageCard is 卡详情: the balance asked live from the bank, and the
// card's recent records, also from the bank.
func (w *Wallet) pageCard(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var recErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		pg.Records, recErr = w.Records(r.Context(), pg.User, id)
	}()
	pg.Card, pg.Balance, err = w.Balance(r.Context(), pg.User, id)
	wg.Wait()
	if pg.Card == nil {
		return err // not the user's card, or no longer bound
	}
	if len(pg.Records) > 10 {
		pg.Records = pg.Records[:10]
	}
	if recErr != nil {
		pg.RecErr = w.describe(r, recErr, pg.Lang)
	}
	st := http.StatusOK
	if err != nil {
		pg.Error, st = w.describe(r, err, pg.Lang), status(err)
	}
	if r.URL.Query().Get("done") == "bound" {
		pg.Notice = pick(pg.Lang, "绑定成功。", "Card bound.")
	}
	w.render(rw, r, st, "card", pg)
	return nil
}

func (w *Wallet) pageUnbind(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := w.Unbind(r.Context(), pg.User, id); err != nil {
		return err
	}
	http.Redirect(rw, r, "/wallet/cards?done=unbound", http.StatusSeeOther)
	return nil
}

func (w *Wallet) pagePay(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if pg.Card, err = w.Card(r.Context(), pg.User, id); err != nil {
		return err
	}
	pg.Key = katong.NewKey()
	pg.Form = map[string]string{"reference": "DEMO-" + strings.ToUpper(katong.NewKey()[:8])}
	pg.Merchant = word(pg.Lang, "demo_merchant")
	w.render(rw, r, http.StatusOK, "pay", pg)
	return nil
}

func (w *Wallet) pagePayPost(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if pg.Card, err = w.Card(r.Context(), pg.User, id); err != nil {
		return err
	}
	f := r.PostForm
	amount, err := yuanField(f.Get("amount"))
	var p *Payment
	if err == nil {
		p, err = w.Pay(r.Context(), pg.User, id, f.Get("key"), amount, f.Get("reference"))
	}
	if err == nil {
		http.Redirect(rw, r, "/wallet/payments/"+strconv.FormatInt(p.ID, 10), http.StatusSeeOther)
		return nil
	}
	// The form again: with the same key while the outcome is unknown (a
	// retry is the same payment), with a fresh one after a refusal.
	pg.Error = w.describe(r, err, pg.Lang)
	pg.Key = f.Get("key")
	if !outcomeUnknown(err) || pg.Key == "" {
		pg.Key = katong.NewKey()
	}
	pg.Form = map[string]string{"amount": f.Get("amount"), "reference": f.Get("reference")}
	pg.Merchant = word(pg.Lang, "demo_merchant")
	w.render(rw, r, status(err), "pay", pg)
	return nil
}

func (w *Wallet) pagePayments(rw http.ResponseWriter, r *http.Request, pg *page) error {
	ps, err := w.Payments(r.Context(), pg.User)
	if err != nil {
		return err
	}
	pg.Payments = ps
	w.render(rw, r, http.StatusOK, "payments", pg)
	return nil
}

func (w *Wallet) pagePayment(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return w.showPayment(rw, r, pg, id, nil, nil, "")
}

// showPayment renders the page of one of the user's payments, with the
// error of what was just tried (if any) and the refund form as typed.
func (w *Wallet) showPayment(rw http.ResponseWriter, r *http.Request, pg *page, id int64, tried error, form map[string]string, key string) error {
	var err error
	if pg.Payment, err = w.Payment(r.Context(), pg.User, id); err != nil {
		return err
	}
	st := http.StatusOK
	if tried != nil {
		pg.Error, st = w.describe(r, tried, pg.Lang), status(tried)
	}
	// A retry of a refund whose outcome is unknown keeps its key.
	if pg.Key = key; key == "" || !outcomeUnknown(tried) {
		pg.Key = katong.NewKey()
	}
	pg.Form = form
	if form == nil {
		pg.Form = map[string]string{"amount": (pg.Payment.Amount - pg.Payment.Refunded()).String(),
			"reference": pick(pg.Lang, "退款", "Refund")}
	}
	w.render(rw, r, st, "payment", pg)
	return nil
}

// pagePaymentRetry asks the bank again about a pending payment.
func (w *Wallet) pagePaymentRetry(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := w.RetryPayment(r.Context(), pg.User, id)
	if p == nil {
		return err
	}
	if !outcomeUnknown(err) {
		err = nil // settled: the page shows how
	}
	return w.showPayment(rw, r, pg, id, err, nil, "")
}

func (w *Wallet) pageRefundPost(rw http.ResponseWriter, r *http.Request, pg *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	amount, err := yuanField(f.Get("amount"))
	if err == nil {
		_, err = w.Refund(r.Context(), pg.User, id, f.Get("key"), amount, f.Get("reference"))
	}
	if err == nil {
		http.Redirect(rw, r, "/wallet/payments/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
		return nil
	}
	if errors.Is(err, errNoPayment) {
		return err
	}
	return w.showPayment(rw, r, pg, id, err, map[string]string{"amount": f.Get("amount"), "reference": f.Get("reference")}, f.Get("key"))
}
