package bankapp

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"katong"
	"katong/auth"
	"katong/web"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// minPassword is the shortest customer password.
func minPassword() int { return auth.CustomerMinLen }

//go:embed templates/*.html
var templateFS embed.FS

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// dict makes a map of its key, value arguments, for sub-templates.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
}

// pages holds one template set per page, each with the layout.
var pages = func() map[string]*template.Template {
	names := []string{"login", "accounts", "account", "records", "password", "inbox", "error"}
	m := map[string]*template.Template{}
	for _, n := range names {
		m[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/entries.html", "templates/"+n+".html"))
	}
	return m
}()

// messages are the pages' words, zh-CN and English.
var messages = map[string][2]string{
	"app":             {"手机银行", "Mobile banking"},
	"login":           {"登录", "Log in"},
	"mobile":          {"手机号", "Mobile number"},
	"password":        {"登录密码", "Password"},
	"login_hint":      {"使用在本行登记的手机号和登录密码", "Use the mobile number registered with the bank and your password"},
	"accounts":        {"我的账户", "My accounts"},
	"account":         {"账户查询", "Account"},
	"records":         {"交易记录", "Transaction records"},
	"inbox":           {"消息", "Inbox"},
	"change_password": {"修改密码", "Change password"},
	"logout":          {"退出", "Log out"},
	"nav":             {"主菜单", "Main menu"},
	"available":       {"可用余额", "Available balance"},
	"booked":          {"账面余额", "Booked balance"},
	"updated":         {"更新于", "As of"},
	"refresh":         {"刷新", "Refresh"},
	"show":            {"显示余额", "Show balances"},
	"hide":            {"隐藏余额", "Hide balances"},
	"hidden":          {"余额已隐藏", "Balance hidden"},
	"holds":           {"预授权", "Pending authorisations"},
	"no_holds":        {"没有预授权", "No pending authorisations"},
	"recent":          {"最近交易", "Recent records"},
	"all_records":     {"查看全部交易记录", "All transaction records"},
	"no_records":      {"暂无交易记录", "No records"},
	"from":            {"开始日期", "From"},
	"to":              {"结束日期", "To"},
	"filter":          {"查询", "Filter"},
	"clear":           {"清除", "Clear"},
	"export":          {"导出 CSV", "Export CSV"},
	"next":            {"下一页", "Next page"},
	"first":           {"回到最新", "Back to newest"},
	"time":            {"时间", "Time"},
	"type":            {"类型", "Type"},
	"memo":            {"摘要", "Memo"},
	"amount":          {"金额", "Amount"},
	"balance_after":   {"余额", "Balance"},
	"chart":           {"余额走势", "Balance over time"},
	"old_password":    {"当前密码", "Current password"},
	"new_password":    {"新密码", "New password"},
	"confirm":         {"再次输入新密码", "New password again"},
	"save":            {"确认修改", "Change password"},
	"changed":         {"密码已修改，其他设备上的登录已退出。", "Password changed. You were logged out on other devices."},
	"no_notices":      {"暂无消息", "No messages"},
	"back":            {"返回我的账户", "Back to my accounts"},
	"card_product":    {"储蓄卡", "Debit card"},
	"status_active":   {"正常", "Active"},
	"status_frozen":   {"冻结", "Frozen"},
	"status_closed":   {"已销户", "Closed"},
	"status":          {"状态", "Status"},
	"card":            {"卡号", "Card"},
	"skip":            {"跳到正文", "Skip to content"},
	"error_ref":       {"错误编号", "Reference"},
	"not_found":       {"页面不存在", "Page not found"},
	"pw_hint":         {"至少 %d 位，不能是常见密码", "At least %d characters, not a common password"},
	"wrong_login":     {"手机号或密码不正确", "Wrong mobile number or password"},
	"wrong_login_do":  {"请检查后重试。连续输错 %d 次将锁定 %s。", "Please check and try again. After %d wrong tries the log-in is locked for %s."},
	"locked_do":       {"请在 %s后再试，或致电 %s。", "Please try again in %s, or call %s."},
	"wait_do":         {"请在 %s后再试。", "Please try again in %s."},
	"abnormal_do":     {"请致电客服 %s。", "Please call the bank's support on %s."},
	"network_do":      {"请稍后重试，或切换网络。", "Please retry later or switch network."},
	"notfound_do":     {"请从“我的账户”重新进入。", "Please open it again from My accounts."},
	"internal_do":     {"请稍后再试；如仍有问题，请致电 %s 并提供错误编号。", "Please try again later; if it persists, call %s with the reference."},
	"csrf_do":         {"页面已过期，请刷新后重试。", "The page expired: please reload it and try again."},
	"relogin_do":      {"请重新登录。", "Please log in again."},
	"field_mobile":    {"请输入正确的手机号。", "Please enter a valid mobile number."},
	"field_old":       {"当前密码不正确。", "The current password is wrong."},
	"field_confirm":   {"两次输入的新密码不一致。", "The two new passwords differ."},
	"field_date":      {"日期格式应为 YYYY-MM-DD，且结束日期不早于开始日期。", "Dates are YYYY-MM-DD, and To is not before From."},
	"field_other":     {"请检查输入后重试。", "Please check what you entered."},
	"too_large_do":    {"请缩短输入内容。", "Please send less."},
}

// texts returns the messages in the language.
func texts(lang katong.Lang) map[string]string {
	i := 0
	if lang == katong.EN {
		i = 1
	}
	m := make(map[string]string, len(messages))
	for k, v := range messages {
		m[k] = v[i]
	}
	return m
}

var textsZH, textsEN = texts(katong.ZH), texts(katong.EN)

func msgs(lang katong.Lang) map[string]string {
	if lang == katong.EN {
		return textsEN
	}
	return textsZH
}

// pageErr is what an error box says: what happened, what to do next.
type pageErr struct {
	Code string
	Text string
	Next string
	Ref  string
}

// pageData is what every page template gets.
type pageData struct {
	Lang          katong.Lang
	HTMLLang      string
	L             map[string]string
	Title         string
	BankName      string
	Colour, Ink   string
	App           string // "/banks/galaxy/app"
	LangURL       string
	OtherLang     string
	OtherLangCode string
	LoggedIn      bool
	CSRF          string
	Error         *pageErr
	Notice        string

	Mobile    string // log-in form
	PWHint    string // password form
	FieldErrs map[string]string

	Eye     bool
	ShowURL string
	HideURL string
	Tiles   []tile
	Acct    *acctView
	Records *recordsView
	Notices []noticeView
}

type tile struct {
	URL       string
	Name      string
	Product   string
	Masked    string
	Available string
	AsOf      string
	Err       *pageErr
}

type acctView struct {
	ID         string
	Name       string
	Product    string
	Masked     string
	Status     string
	Available  string
	Booked     string
	AsOf       string
	RefreshURL string
	RecordsURL string
	BalanceErr *pageErr
	Holds      []holdView
	Recent     []entryView
	Usable     bool
}

type holdView struct {
	Amount string
	Memo   string
	When   string
}

type entryView struct {
	Date    string
	Time    string
	Kind    string
	Memo    string
	Amount  string
	Credit  bool
	Balance string
}

type recordsView struct {
	From, To string
	Entries  []entryView
	NextURL  string
	FirstURL string
	CSVURL   string
	Chart    *chart
}

type noticeView struct {
	When  string
	Title string
	Body  string
	Read  bool
}

// newPage fills what every page shows.
func (a *App) newPage(r *http.Request, titleKey string) *pageData {
	lang := web.Lang(r)
	cfg := a.bank.Config
	p := &pageData{Lang: lang, HTMLLang: "zh-CN", L: msgs(lang), App: a.prefix + "/app",
		Colour: web.Colour(cfg.Colour), BankName: cfg.Name, OtherLang: "English", OtherLangCode: "en"}
	p.Ink = web.Ink(p.Colour)
	if lang == katong.EN {
		p.HTMLLang, p.OtherLang, p.OtherLangCode = "en", "中文", "zh-CN"
		if cfg.NameEN != "" {
			p.BankName = cfg.NameEN
		}
	}
	p.Title = p.L[titleKey]
	other := "en"
	if lang == katong.EN {
		other = "zh"
	}
	p.LangURL = withQuery(r, "lang", other)
	p.ShowURL = withQuery(r, "eye", "show")
	p.HideURL = withQuery(r, "eye", "hide")
	return p
}

// neutralLinks points an error page's language switch at the accounts
// (or the log-in) page, so that the page does not echo the path asked
// for: the answer for someone else's account is byte for byte the one
// for a missing account.
func (p *pageData) neutralLinks() {
	to := p.App + "/"
	if p.LoggedIn {
		to = p.App + "/accounts"
	}
	other := "en"
	if p.Lang == katong.EN {
		other = "zh"
	}
	p.LangURL = to + "?lang=" + other
	p.ShowURL, p.HideURL = to+"?eye=show", to+"?eye=hide"
}

// withQuery is the request's path with its query and key set to value.
func withQuery(r *http.Request, key, value string) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if k == "lang" || k == "eye" {
			continue
		}
		q[k] = v
	}
	q.Set(key, value)
	return r.URL.Path + "?" + q.Encode()
}

// hhmm is a time as HH:MM in Shanghai.
func hhmm(t time.Time) string { return t.In(katong.Shanghai).Format("15:04") }

// when is a date and time in Shanghai.
func when(t time.Time) string { return t.In(katong.Shanghai).Format("2006-01-02 15:04") }

func newEntryView(e katong.Entry, lang katong.Lang) entryView {
	t := e.At.In(katong.Shanghai)
	v := entryView{Date: t.Format(time.DateOnly), Time: t.Format("15:04"), Kind: e.Kind.Text(lang),
		Memo: katong.Redact(e.Memo), Amount: e.Amount.Yuan(), Credit: e.Amount > 0, Balance: e.BalanceAfter.Yuan()}
	if e.Amount > 0 {
		v.Amount = "+" + v.Amount
	}
	return v
}

// newPageErr says what went wrong and what to do next, in the language.
func (a *App) newPageErr(r *http.Request, err error) *pageErr {
	lang := web.Lang(r)
	L := msgs(lang)
	e := katong.AsError(err)
	support := a.bank.Config.Support
	pe := &pageErr{Code: string(e.Code), Text: katong.Text(e.Code, lang)}
	switch e.Code {
	case katong.EAbnormal:
		pe.Next = sprintf(L["abnormal_do"], support)
	case katong.ERateLimited:
		pe.Next = sprintf(L["wait_do"], katong.WaitText(e.RetryAfter, lang))
	case katong.ELocked:
		pe.Next = sprintf(L["locked_do"], katong.WaitText(e.RetryAfter, lang), support)
	case katong.ENetwork:
		pe.Next = L["network_do"]
	case katong.ENotFound:
		pe.Next = L["notfound_do"]
	case katong.EUnauthorized:
		pe.Next = L["relogin_do"]
	case katong.EForbidden:
		pe.Next = L["csrf_do"]
	case katong.ETooLarge:
		pe.Next = L["too_large_do"]
	case katong.EInvalid:
		pe.Next = fieldText(L, e.Field)
	default:
		pe.Code = string(katong.EInternal)
		pe.Text = katong.Text(katong.EInternal, lang)
		pe.Next = sprintf(L["internal_do"], support)
		pe.Ref = L["error_ref"] + " " + web.RequestID(r.Context())
	}
	return pe
}

// fieldText tells what is wrong with a field.
func fieldText(L map[string]string, field string) string {
	switch field {
	case "mobile":
		return L["field_mobile"]
	case "old_password":
		return L["field_old"]
	case "confirm":
		return L["field_confirm"]
	case "new_password", "password":
		return sprintf(L["pw_hint"], minPassword())
	case "from", "to":
		return L["field_date"]
	}
	return L["field_other"]
}

// render writes a page with the status.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p *pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Vary", "Cookie")
	var b strings.Builder
	if err := pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		a.log.Error("render", "request_id", web.RequestID(r.Context()), "page", name, "err", err)
		http.Error(w, "internal error "+web.RequestID(r.Context()), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// pageError renders the error page for err.
func (a *App) pageError(w http.ResponseWriter, r *http.Request, c *customer, err error) {
	p := a.newPage(r, "app")
	a.fillSession(p, c)
	p.neutralLinks()
	p.Error = a.newPageErr(r, err)
	if p.Error.Code == string(katong.EInternal) {
		a.log.Error("internal error", "request_id", web.RequestID(r.Context()), "path", r.URL.Path, "err", err)
	}
	a.render(w, r, statusOf(err), "error", p)
}

// statusOf is the HTTP status of err (web.Status is the one map).
func statusOf(err error) int { return web.HTTPStatus(katong.ErrorCode(err)) }
