// Package bankapp is the bank app channel: the customer's pages (log-in,
// 我的账户, 账户查询, 交易记录, password change, inbox) and the JSON API
// under /banks/{bank}/api/v1/ that serves the same data, described by an
// embedded OpenAPI 3.1 document.
//
// Every balance shown, on a page or in the API, goes through
// bank.Balance with the app channel (per-card limit, status, audit). An
// account of another customer is answered exactly like a missing one
// (S8). Card numbers appear only masked (S1).
package bankapp

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"katong"
	"katong/bank"
	"katong/web"
)

// Cookie names.
const (
	// SessionCookie holds the page session's token (web.SetCookie adds
	// the __Host- prefix over TLS).
	SessionCookie = "katong_bank"
	deviceCookie  = "katong_device"
	loginCookie   = "katong_bank_login" // double-submit token of the log-in form
	eyeCookie     = "katong_eye"        // "show" when the customer chose to see balances
)

// App is one bank's app: pages and JSON API.
type App struct {
	bank   *bank.Bank
	log    *slog.Logger
	prefix string // "/banks/galaxy"

	// probe holds the API's patterns so that an unmatched request can be
	// told apart as 404 (no such path) or 405 (wrong method).
	probe  *http.ServeMux
	routes []string
}

// New returns the app of bank b, logging to log.
func New(b *bank.Bank, log *slog.Logger) *App {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &App{bank: b, log: log, prefix: "/banks/" + string(b.Config.ID),
		probe: http.NewServeMux()}
}

// Prefix is the path every route of the app starts with: "/banks/galaxy".
func (a *App) Prefix() string { return a.prefix }

// Routes returns the patterns Register adds, e.g.
// "GET /banks/galaxy/api/v1/accounts/{id}" (after Register).
func (a *App) Routes() []string { return append([]string(nil), a.routes...) }

// Register adds the app's pages and API to mux.
func (a *App) Register(mux *http.ServeMux) {
	p := a.prefix
	first := len(a.routes) == 0 // Register may be called for several muxes
	page := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		pat := method + " " + p + "/app" + path
		mux.Handle(pat, a.pageMiddleware(h))
		if first {
			a.routes = append(a.routes, pat)
		}
	}
	page("GET /{$}", a.handleLoginPage)
	page("POST /login", a.handleLogin)
	page("POST /logout", a.handleLogout)
	page("GET /accounts", a.handleAccountsPage)
	page("GET /accounts/{id}", a.handleAccountPage)
	page("GET /accounts/{id}/records", a.handleRecordsPage)
	page("GET /accounts/{id}/records.csv", a.handleRecordsCSV)
	page("GET /password", a.handlePasswordPage)
	page("POST /password", a.handlePassword)
	page("GET /inbox", a.handleInboxPage)
	mux.Handle(p+"/app/", a.pageMiddleware(a.handlePageNotFound))

	api := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		pat := method + " " + p + "/api/v1" + path
		mux.Handle(pat, a.apiMiddleware(h))
		if first {
			a.probe.Handle(pat, http.NotFoundHandler())
			a.routes = append(a.routes, pat)
		}
	}
	api("GET /openapi.json", a.handleOpenAPI)
	api("POST /sessions", a.handleCreateSession)
	api("DELETE /sessions/current", a.authed(a.handleDeleteSession))
	api("GET /accounts", a.authed(a.handleListAccounts))
	api("GET /accounts/{id}", a.authed(a.handleGetAccount))
	api("GET /accounts/{id}/transactions", a.authed(a.handleListTransactions))
	api("GET /accounts/{id}/transactions.csv", a.authed(a.handleTransactionsCSV))
	api("POST /password", a.authed(a.handleChangePassword))
	api("GET /notices", a.authed(a.handleListNotices))
	mux.Handle(p+"/api/v1/", a.apiMiddleware(a.handleAPINotFound))
}

// customer is who is logged in, and with which token.
type customer struct {
	ID    katong.CustomerID
	Token string
}

// session checks a token and returns its customer.
func (a *App) session(ctx context.Context, tok string) (*customer, error) {
	s, err := a.bank.Auth.Session(ctx, "customer", tok, bank.CustomerSessions)
	if err != nil {
		return nil, err
	}
	return &customer{ID: katong.CustomerID(s.SubjectID), Token: tok}, nil
}

// notFound is the one answer for an account that is missing, is someone
// else's or is named by something that is not an account id (S8).
func notFound() error { return katong.Errorf(katong.ENotFound, "no such account") }

// parseAccountID reads an account id from a path; anything that is not
// one is ENotFound, the same as an account that does not exist.
func parseAccountID(s string) (katong.AccountID, error) {
	if s == "" || len(s) > 18 || s[0] == '0' {
		return 0, notFound()
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, notFound()
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, notFound()
	}
	return katong.AccountID(n), nil
}

// owned returns the customer's account named by the path value and the
// card it is reached by. Someone else's account, a missing one and an
// account without a card are the same ENotFound.
func (a *App) owned(ctx context.Context, c katong.CustomerID, idText string) (*katong.Account, *katong.Card, error) {
	id, err := parseAccountID(idText)
	if err != nil {
		return nil, nil, err
	}
	card, err := a.cardOf(ctx, c, id)
	if err != nil {
		return nil, nil, err
	}
	acct, err := a.bank.Account(ctx, c, id)
	if err != nil {
		if katong.ErrorCode(err) == katong.ENotFound {
			return nil, nil, notFound()
		}
		return nil, nil, err
	}
	return acct, card, nil
}

// cardOf returns the customer's card on the account, or ENotFound.
func (a *App) cardOf(ctx context.Context, c katong.CustomerID, id katong.AccountID) (*katong.Card, error) {
	cards, err := a.bank.Cards(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, card := range cards {
		if card.AccountID == id && card.CustomerID == c {
			return card, nil
		}
	}
	return nil, notFound()
}

// accountCards returns one card per account of the customer, in the
// order the cards were issued.
func (a *App) accountCards(ctx context.Context, c katong.CustomerID) ([]*katong.Card, error) {
	cards, err := a.bank.Cards(ctx, c)
	if err != nil {
		return nil, err
	}
	seen := map[katong.AccountID]bool{}
	var out []*katong.Card
	for _, card := range cards {
		if !seen[card.AccountID] {
			seen[card.AccountID] = true
			out = append(out, card)
		}
	}
	return out, nil
}

// balance is the one way this channel asks for a balance.
func (a *App) balance(ctx context.Context, c katong.CustomerID, card *katong.Card, acct *katong.Account, via string) (*katong.Balance, error) {
	return a.bank.Balance(ctx, bank.Query{Channel: katong.ChannelApp,
		Actor: "customer:" + strconv.FormatInt(int64(c), 10), Detail: via, Card: card, Account: acct})
}

// pageMiddleware limits bodies and remembers a language switch.
func (a *App) pageMiddleware(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > web.MaxBody {
			a.pageError(w, r, nil, katong.Errorf(katong.ETooLarge, "body of %d bytes", r.ContentLength))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, web.MaxBody)
		web.PageLang(w, r)
		h(w, r)
	})
}

// apiMiddleware limits bodies before anything is read (S11).
func (a *App) apiMiddleware(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > web.MaxBody {
			w.Header().Set("Connection", "close")
			a.apiError(w, r, katong.Errorf(katong.ETooLarge, "body of %d bytes", r.ContentLength))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, web.MaxBody)
		h(w, r)
	})
}

// ctxKey keys the request's customer in its context.
type ctxKey struct{}

// authed requires a bearer token of a live customer session.
func (a *App) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := a.session(r.Context(), web.BearerToken(r))
		if err != nil {
			if katong.ErrorCode(err) == katong.EUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+a.prefix+`"`)
			}
			a.apiError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	}
}

// who returns the customer authed put in the request.
func who(r *http.Request) *customer {
	c, _ := r.Context().Value(ctxKey{}).(*customer)
	return c
}

// apiError answers err as problem+json.
func (a *App) apiError(w http.ResponseWriter, r *http.Request, err error) {
	web.Error(w, r, a.log, err, a.bank.Config.Support)
}
