package bankapp

import (
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"katong"
	"katong/bank"
	"katong/web"
)

//go:embed openapi.json
var openAPI []byte

// The JSON shapes of the API. Amounts are decimal yuan strings ("1205.07")
// next to integer fen; times are RFC 3339 in Asia/Shanghai.

type cardJSON struct {
	ID      string `json:"id"`
	Masked  string `json:"masked"`
	Tail    string `json:"tail"`
	Product string `json:"product"`
}

type bankJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
	Colour string `json:"colour"`
}

type balanceJSON struct {
	Available    string    `json:"available"`
	AvailableFen int64     `json:"available_fen"`
	Booked       string    `json:"booked"`
	BookedFen    int64     `json:"booked_fen"`
	AsOf         time.Time `json:"as_of"`
}

type itemError struct {
	Code       string `json:"code"`
	MessageZH  string `json:"message_zh"`
	MessageEN  string `json:"message_en"`
	RetryAfter int    `json:"retry_after,omitempty"`
	Support    string `json:"support,omitempty"`
}

type holdJSON struct {
	ID        string    `json:"id"`
	Amount    string    `json:"amount"`
	AmountFen int64     `json:"amount_fen"`
	Memo      string    `json:"memo"`
	At        time.Time `json:"at"`
}

type accountJSON struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Currency string   `json:"currency"`
	Card     cardJSON `json:"card"`
	Bank     bankJSON `json:"bank"`
	*balanceJSON
	Holds *[]holdJSON `json:"holds,omitempty"` // detail only
	Error *itemError  `json:"error,omitempty"`
}

type entryJSON struct {
	ID              string    `json:"id"`
	At              time.Time `json:"at"`
	Kind            string    `json:"kind"`
	KindText        string    `json:"kind_text"`
	Memo            string    `json:"memo"`
	Amount          string    `json:"amount"`
	AmountFen       int64     `json:"amount_fen"`
	BalanceAfter    string    `json:"balance_after"`
	BalanceAfterFen int64     `json:"balance_after_fen"`
}

type transactionsJSON struct {
	AccountID  string      `json:"account_id"`
	Currency   string      `json:"currency"`
	Entries    []entryJSON `json:"entries"`
	NextCursor *string     `json:"next_cursor"`
}

func (a *App) bankJSON() bankJSON {
	c := a.bank.Config
	return bankJSON{ID: string(c.ID), Name: c.Name, NameEN: c.NameEN, Colour: web.Colour(c.Colour)}
}

func id64[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

func newAccountJSON(b bankJSON, acct katong.AccountID, name string, st katong.AccountStatus, card *katong.Card) *accountJSON {
	return &accountJSON{ID: id64(acct), Name: name, Status: string(st), Currency: "CNY", Bank: b,
		Card: cardJSON{ID: id64(card.ID), Masked: card.Masked, Tail: card.Tail, Product: card.Product}}
}

func newBalanceJSON(bal *katong.Balance) *balanceJSON {
	return &balanceJSON{Available: bal.Available.String(), AvailableFen: int64(bal.Available),
		Booked: bal.Booked.String(), BookedFen: int64(bal.Booked), AsOf: bal.AsOf.In(katong.Shanghai)}
}

func (a *App) newItemError(err error) *itemError {
	e := katong.AsError(err)
	ie := &itemError{Code: string(e.Code), MessageZH: katong.Text(e.Code, katong.ZH), MessageEN: katong.Text(e.Code, katong.EN)}
	if e.RetryAfter > 0 {
		ie.RetryAfter = katong.Seconds(e.RetryAfter)
	}
	if e.Code == katong.EAbnormal {
		ie.Support = a.bank.Config.Support
	}
	return ie
}

func newEntryJSON(e katong.Entry, lang katong.Lang) entryJSON {
	return entryJSON{ID: id64(e.ID), At: e.At.In(katong.Shanghai), Kind: string(e.Kind), KindText: e.Kind.Text(lang),
		Memo: katong.Redact(e.Memo), Amount: e.Amount.String(), AmountFen: int64(e.Amount),
		BalanceAfter: e.BalanceAfter.String(), BalanceAfterFen: int64(e.BalanceAfter)}
}

// GET /api/v1/openapi.json
func (a *App) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPI)
}

type sessionRequest struct {
	Mobile   string `json:"mobile"`
	Password string `json:"password"`
	Device   string `json:"device"`
}

type sessionJSON struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
	IdleTime  int       `json:"idle_timeout"` // seconds
}

// POST /api/v1/sessions: log in. A wrong mobile number and a wrong
// password are the same UNAUTHENTICATED; a locked log-in is LOCKED with
// Retry-After.
func (a *App) handleCreateSession(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if err := web.Decode(w, r, &req); err != nil {
		a.apiError(w, r, err)
		return
	}
	if len(req.Device) > 200 {
		a.apiError(w, r, katong.Invalid("device", "device must be at most 200 bytes"))
		return
	}
	if req.Mobile == "" {
		a.apiError(w, r, katong.Invalid("mobile", "mobile is required"))
		return
	}
	tok, _, err := a.bank.Login(r.Context(), req.Mobile, req.Password, req.Device)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	// Rotation: the session of a token sent along ends with this log-in.
	if old := web.BearerToken(r); old != "" {
		a.bank.Auth.EndSession(r.Context(), old)
	}
	now := a.bank.Now()
	web.JSON(w, http.StatusCreated, sessionJSON{Token: tok, TokenType: "Bearer",
		ExpiresAt: now.Add(bank.CustomerSessions.Absolute).In(katong.Shanghai).Truncate(time.Second),
		IdleTime:  int(bank.CustomerSessions.Idle / time.Second)})
}

// DELETE /api/v1/sessions/current: log out.
func (a *App) handleDeleteSession(w http.ResponseWriter, r *http.Request) {
	if err := a.bank.Auth.EndSession(r.Context(), who(r).Token); err != nil {
		a.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v1/accounts: every account with its balance. An account whose
// balance cannot be shown (frozen, rate limited) carries an error instead.
func (a *App) handleListAccounts(w http.ResponseWriter, r *http.Request) {
	c := who(r)
	ctx := r.Context()
	cards, err := a.accountCards(ctx, c.ID)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	bj := a.bankJSON()
	out := make([]*accountJSON, 0, len(cards))
	for _, card := range cards {
		acct, err := a.bank.Account(ctx, c.ID, card.AccountID)
		if err != nil {
			a.apiError(w, r, err)
			return
		}
		aj := newAccountJSON(bj, acct.ID, acct.Name, acct.Status, card)
		bal, err := a.balance(ctx, c.ID, card, acct, "api")
		switch code := katong.ErrorCode(err); code {
		case "":
			aj.balanceJSON = newBalanceJSON(bal)
		case katong.EAbnormal, katong.ERateLimited, katong.EClosed:
			aj.Error = a.newItemError(err)
		default:
			a.apiError(w, r, err)
			return
		}
		out = append(out, aj)
	}
	web.JSON(w, http.StatusOK, map[string]any{"accounts": out})
}

// GET /api/v1/accounts/{id}: one account's balance, with its holds.
func (a *App) handleGetAccount(w http.ResponseWriter, r *http.Request) {
	c := who(r)
	ctx := r.Context()
	acct, card, err := a.owned(ctx, c.ID, r.PathValue("id"))
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	bal, err := a.balance(ctx, c.ID, card, acct, "api")
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	aj := newAccountJSON(a.bankJSON(), acct.ID, acct.Name, acct.Status, card)
	aj.balanceJSON = newBalanceJSON(bal)
	holdsJSON := []holdJSON{}
	aj.Holds = &holdsJSON
	if acct.Held != 0 {
		holds, err := a.bank.DB.Ledger().Holds(ctx, acct.ID)
		if err != nil {
			a.apiError(w, r, err)
			return
		}
		for _, h := range holds {
			holdsJSON = append(holdsJSON, holdJSON{ID: id64(h.ID), Amount: h.Amount.String(), AmountFen: int64(h.Amount),
				Memo: h.Memo, At: h.At.In(katong.Shanghai)})
		}
	}
	web.JSON(w, http.StatusOK, aj)
}

// recordsRequest is what both records routes check first: the account is
// the customer's and usable, and the query is well formed.
func (a *App) recordsRequest(r *http.Request) (*katong.Account, *recordsQuery, error) {
	acct, _, err := a.owned(r.Context(), who(r).ID, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	if err := bank.Usable(acct); err != nil {
		return nil, nil, err
	}
	q, err := parseRecordsQuery(r, 20, 100)
	return acct, q, err
}

// GET /api/v1/accounts/{id}/transactions?from=&to=&cursor=&limit=
func (a *App) handleListTransactions(w http.ResponseWriter, r *http.Request) {
	acct, q, err := a.recordsRequest(r)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	page, err := a.recordsPage(r.Context(), acct.ID, q)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	lang := web.Lang(r)
	out := transactionsJSON{AccountID: id64(acct.ID), Currency: "CNY", Entries: make([]entryJSON, 0, len(page.Entries))}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, newEntryJSON(e, lang))
	}
	if page.Next != 0 {
		s := strconv.FormatInt(page.Next, 10)
		out.NextCursor = &s
	}
	web.JSON(w, http.StatusOK, out)
}

// GET /api/v1/accounts/{id}/transactions.csv?from=&to=
func (a *App) handleTransactionsCSV(w http.ResponseWriter, r *http.Request) {
	acct, q, err := a.recordsRequest(r)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	entries, err := a.allRecords(r.Context(), acct.ID, q)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	writeCSV(w, acct.ID, q, entries, web.Lang(r))
}

type passwordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// POST /api/v1/password: change the password; every other session ends.
func (a *App) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	c := who(r)
	var req passwordRequest
	if err := web.Decode(w, r, &req); err != nil {
		a.apiError(w, r, err)
		return
	}
	if err := a.bank.ChangePassword(r.Context(), c.ID, c.Token, req.OldPassword, req.NewPassword); err != nil {
		a.apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

type noticeJSON struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Title string    `json:"title"`
	Body  string    `json:"body"`
	Read  bool      `json:"read"`
}

// GET /api/v1/notices: the inbox.
func (a *App) handleListNotices(w http.ResponseWriter, r *http.Request) {
	ns, err := a.bank.Notices(r.Context(), who(r).ID)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	out := make([]noticeJSON, 0, len(ns))
	for _, n := range ns {
		out = append(out, noticeJSON{ID: id64(n.ID), At: time.UnixMicro(n.At).In(katong.Shanghai),
			Title: katong.Redact(n.Title), Body: katong.Redact(n.Body), Read: n.Read})
	}
	web.JSON(w, http.StatusOK, map[string]any{"notices": out})
}

// handleAPINotFound answers a path the API does not have (404) or a
// method a path does not take (405, with Allow), as problem+json.
func (a *App) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := a.probe.Handler(probe); pat != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		web.Error(w, r, a.log, katong.Errorf(katong.ENotFound, "no such path"), a.bank.Config.Support)
		return
	}
	if allow[0] == http.MethodGet {
		allow = append(allow, http.MethodHead)
	}
	p := web.NewProblem(r, katong.Invalid("method", "method %s not allowed", r.Method), "")
	p.Status = http.StatusMethodNotAllowed
	p.Detail = "allowed: " + joinComma(allow)
	w.Header().Set("Allow", joinComma(allow))
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	writeJSONBody(w, p)
}
