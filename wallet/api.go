package wallet

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"katong"
	"katong/web"
)

//go:embed openapi.json
var openAPI []byte

// apiRoutes are the routes of the JSON API; openapi.json describes each.
func (w *Wallet) apiRoutes() []route {
	return []route{
		{"POST /wallet/api/v1/users", w.api(false, w.apiRegister)},
		{"POST /wallet/api/v1/sessions", w.api(false, w.apiLogin)},
		{"DELETE /wallet/api/v1/sessions/current", w.api(true, w.apiLogout)},
		{"GET /wallet/api/v1/cards", w.api(true, listOf("cards", w.Cards, toCard))},
		{"GET /wallet/api/v1/cards/{id}", w.api(true, oneOf(w.Card, toCard))},
		{"DELETE /wallet/api/v1/cards/{id}", w.api(true, w.apiUnbind)},
		{"GET /wallet/api/v1/cards/{id}/balance", w.api(true, w.apiBalance)},
		{"GET /wallet/api/v1/cards/{id}/records", w.api(true, w.apiRecords)},
		{"POST /wallet/api/v1/bind", w.api(true, w.apiBind)},
		{"POST /wallet/api/v1/bind/callback", w.api(true, w.apiBindCallback)},
		{"GET /wallet/api/v1/payments", w.api(true, listOf("payments", w.Payments, toPayment))},
		{"POST /wallet/api/v1/payments", w.api(true, w.apiPay)},
		{"GET /wallet/api/v1/payments/{id}", w.api(true, oneOf(w.Payment, toPayment))},
		{"POST /wallet/api/v1/payments/{id}/refunds", w.api(true, w.apiRefund)},
		{"GET /wallet/api/v1/openapi.json", w.api(false, w.apiOpenAPI)},
	}
}

type route struct {
	pattern string
	h       http.Handler
}

// Register adds the wallet's pages and API under /wallet/.
func (w *Wallet) Register(mux *http.ServeMux) {
	for _, rt := range append(w.apiRoutes(), w.pageRoutes()...) {
		mux.Handle(rt.pattern, rt.h)
	}
}

// api wraps an API handler: the client version check, the bearer
// session when authed, and errors as problem+json.
func (w *Wallet) api(authed bool, h func(http.ResponseWriter, *http.Request, *User) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		err := w.checkVersion(r)
		var u *User
		if err == nil && authed {
			u, err = w.user(r.Context(), web.BearerToken(r))
		}
		if err == nil {
			err = h(rw, r, u)
		}
		if err != nil {
			w.apiError(rw, r, err)
		}
	})
}

// apiError answers err as problem+json, with the bank's support number
// for ACCOUNT_ABNORMAL.
func (w *Wallet) apiError(rw http.ResponseWriter, r *http.Request, err error) {
	support := ""
	if p := bankOf(err); p != nil {
		support = p.Support
	}
	web.Error(rw, r, w.log, err, support)
}

// listOf answers the user's list of things (cards, payments) under key,
// each as toJSON makes it.
func listOf[T, J any](key string, list func(context.Context, *User) ([]*T, error), toJSON func(*T) J) func(http.ResponseWriter, *http.Request, *User) error {
	return func(rw http.ResponseWriter, r *http.Request, u *User) error {
		items, err := list(r.Context(), u)
		if err != nil {
			return err
		}
		out := make([]J, 0, len(items))
		for _, it := range items {
			out = append(out, toJSON(it))
		}
		web.JSON(rw, http.StatusOK, map[string]any{key: out})
		return nil
	}
}

// oneOf answers one of the user's things by the path's id (another
// user's is ENotFound, as get says), as toJSON makes it.
func oneOf[T, J any](get func(context.Context, *User, int64) (*T, error), toJSON func(*T) J) func(http.ResponseWriter, *http.Request, *User) error {
	return func(rw http.ResponseWriter, r *http.Request, u *User) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		it, err := get(r.Context(), u, id)
		if err != nil {
			return err
		}
		web.JSON(rw, http.StatusOK, toJSON(it))
		return nil
	}
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		// A malformed id is a missing one: the same 404 (S8).
		return 0, katong.Errorf(katong.ENotFound, "no such id")
	}
	return id, nil
}

type credentials struct {
	Mobile   string `json:"mobile"`
	Password string `json:"password"`
}

func (w *Wallet) apiRegister(rw http.ResponseWriter, r *http.Request, _ *User) error {
	var in credentials
	if err := web.Decode(rw, r, &in); err != nil {
		return err
	}
	id, err := w.SignUp(r.Context(), in.Mobile, in.Password)
	if err != nil {
		return err
	}
	web.JSON(rw, http.StatusCreated, map[string]any{"id": id})
	return nil
}

func (w *Wallet) apiLogin(rw http.ResponseWriter, r *http.Request, _ *User) error {
	var in credentials
	if err := web.Decode(rw, r, &in); err != nil {
		return err
	}
	tok, err := w.Login(r.Context(), in.Mobile, in.Password, r.UserAgent())
	if err != nil {
		return err
	}
	web.JSON(rw, http.StatusCreated, map[string]any{"token": tok, "token_type": "Bearer",
		"expires_in": int(sessionPolicy.Absolute / time.Second), "idle_timeout": int(sessionPolicy.Idle / time.Second)})
	return nil
}

func (w *Wallet) apiLogout(rw http.ResponseWriter, r *http.Request, u *User) error {
	if err := w.Logout(r.Context(), u.token); err != nil {
		return err
	}
	rw.WriteHeader(http.StatusNoContent)
	return nil
}

type bankJSON struct {
	ID      katong.BankID `json:"id"`
	Name    string        `json:"name"`
	NameEN  string        `json:"name_en"`
	Colour  string        `json:"colour"`
	Support string        `json:"support"`
}

type cardJSON struct {
	ID      int64     `json:"id"`
	Bank    bankJSON  `json:"bank"`
	Product string    `json:"product"`
	Masked  string    `json:"masked"`
	Tail    string    `json:"tail"`
	BoundAt time.Time `json:"bound_at"`
}

func toCard(c *Card) cardJSON {
	return cardJSON{ID: c.ID, Bank: bankJSON{ID: c.Bank.ID, Name: c.Bank.Name, NameEN: c.Bank.NameEN, Colour: c.Bank.Colour,
		Support: c.Bank.Support}, Product: c.Product, Masked: c.Masked, Tail: c.Tail, BoundAt: c.BoundAt.In(katong.Shanghai)}
}

func (w *Wallet) apiUnbind(rw http.ResponseWriter, r *http.Request, u *User) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := w.Unbind(r.Context(), u, id); err != nil {
		return err
	}
	rw.WriteHeader(http.StatusNoContent)
	return nil
}

type balanceJSON struct {
	CardID       int64     `json:"card_id"`
	Currency     string    `json:"currency"`
	Available    string    `json:"available"`
	Booked       string    `json:"booked"`
	AvailableFen int64     `json:"available_fen"`
	BookedFen    int64     `json:"booked_fen"`
	AsOf         time.Time `json:"as_of"`
}

func (w *Wallet) apiBalance(rw http.ResponseWriter, r *http.Request, u *User) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, b, err := w.Balance(r.Context(), u, id)
	if err != nil {
		return err
	}
	web.JSON(rw, http.StatusOK, balanceJSON{CardID: id, Currency: "CNY", Available: b.Available.String(),
		Booked: b.Booked.String(), AvailableFen: int64(b.Available), BookedFen: int64(b.Booked), AsOf: b.AsOf.In(katong.Shanghai)})
	return nil
}

type recordJSON struct {
	ID           string    `json:"id,omitempty"`
	BookedAt     time.Time `json:"booked_at"`
	Amount       string    `json:"amount"`
	AmountFen    int64     `json:"amount_fen"`
	BalanceAfter *string   `json:"balance_after,omitempty"`
	Description  string    `json:"description"`
	Status       string    `json:"status"`
}

func (w *Wallet) apiRecords(rw http.ResponseWriter, r *http.Request, u *User) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	recs, err := w.Records(r.Context(), u, id)
	if err != nil {
		return err
	}
	out := []recordJSON{}
	for _, x := range recs {
		j := recordJSON{ID: x.ID, BookedAt: x.BookedAt.In(katong.Shanghai), Amount: x.Amount.String(), AmountFen: int64(x.Amount),
			Description: x.Text, Status: x.Status}
		if x.BalanceAfter != nil {
			s := x.BalanceAfter.String()
			j.BalanceAfter = &s
		}
		out = append(out, j)
	}
	web.JSON(rw, http.StatusOK, map[string]any{"card_id": id, "records": out})
	return nil
}

func (w *Wallet) apiBind(rw http.ResponseWriter, r *http.Request, u *User) error {
	var in struct {
		CardNumber string `json:"card_number"`
	}
	if err := web.Decode(rw, r, &in); err != nil {
		return err
	}
	u2, err := w.StartBind(r.Context(), u, in.CardNumber)
	if err != nil {
		return err
	}
	web.JSON(rw, http.StatusCreated, map[string]any{"authorize_url": u2, "expires_in": int(bindTTL / time.Second)})
	return nil
}

func (w *Wallet) apiBindCallback(rw http.ResponseWriter, r *http.Request, u *User) error {
	var in struct {
		State string `json:"state"`
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	if err := web.Decode(rw, r, &in); err != nil {
		return err
	}
	c, err := w.FinishBind(r.Context(), u, in.State, in.Code, in.Error)
	if err != nil {
		return err
	}
	rw.Header().Set("Location", "/wallet/api/v1/cards/"+strconv.FormatInt(c.ID, 10))
	web.JSON(rw, http.StatusCreated, toCard(c))
	return nil
}

type refundJSON struct {
	ID           int64       `json:"id"`
	PaymentID    int64       `json:"payment_id"`
	Amount       string      `json:"amount"`
	Reference    string      `json:"reference"`
	Status       string      `json:"status"`
	FailCode     katong.Code `json:"fail_code,omitempty"`
	BankRefundID string      `json:"bank_refund_id,omitempty"`
	Created      time.Time   `json:"created_at"`
}

type paymentJSON struct {
	ID            int64        `json:"id"`
	CardID        int64        `json:"card_id"`
	Amount        string       `json:"amount"`
	Reference     string       `json:"reference"`
	Status        string       `json:"status"`
	FailCode      katong.Code  `json:"fail_code,omitempty"`
	BankPaymentID string       `json:"bank_payment_id,omitempty"`
	Refunded      string       `json:"refunded"`
	Created       time.Time    `json:"created_at"`
	Refunds       []refundJSON `json:"refunds"`
}

func toRefund(x *Refund) refundJSON {
	return refundJSON{ID: x.ID, PaymentID: x.PaymentID, Amount: x.Amount.String(), Reference: x.Reference, Status: x.Status,
		FailCode: x.FailCode, BankRefundID: x.BankRefundID, Created: x.Created.In(katong.Shanghai)}
}

func toPayment(p *Payment) paymentJSON {
	j := paymentJSON{ID: p.ID, CardID: p.CardID, Amount: p.Amount.String(), Reference: p.Reference, Status: p.Status,
		FailCode: p.FailCode, BankPaymentID: p.BankPaymentID, Refunded: p.Refunded().String(),
		Created: p.Created.In(katong.Shanghai), Refunds: []refundJSON{}}
	for _, x := range p.Refunds {
		j.Refunds = append(j.Refunds, toRefund(x))
	}
	return j
}

// apiPay pays from a card. The Idempotency-Key header (a UUID) makes a
// retry the same payment; while the bank's answer is unknown the answer is
// NETWORK_ERROR with the payment's Location, and the same request again
// (or the settler) finishes it.
func (w *Wallet) apiPay(rw http.ResponseWriter, r *http.Request, u *User) error {
	var in struct {
		CardID    int64  `json:"card_id"`
		Amount    string `json:"amount"`
		Reference string `json:"reference"`
	}
	if err := web.Decode(rw, r, &in); err != nil {
		return err
	}
	amount, err := yuanField(in.Amount)
	if err != nil {
		return err
	}
	p, err := w.Pay(r.Context(), u, in.CardID, r.Header.Get("Idempotency-Key"), amount, in.Reference)
	if p != nil {
		rw.Header().Set("Location", "/wallet/api/v1/payments/"+strconv.FormatInt(p.ID, 10))
	}
	if err != nil {
		return err
	}
	if err := w.fill(r.Context(), u, p); err != nil {
		return err
	}
	web.JSON(rw, http.StatusCreated, toPayment(p))
	return nil
}

func (w *Wallet) apiRefund(rw http.ResponseWriter, r *http.Request, u *User) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Amount    string `json:"amount"`
		Reference string `json:"reference"`
	}
	if err := web.Decode(rw, r, &in); err != nil {
		return err
	}
	amount, err := yuanField(in.Amount)
	if err != nil {
		return err
	}
	x, err := w.Refund(r.Context(), u, id, r.Header.Get("Idempotency-Key"), amount, in.Reference)
	if err != nil {
		return err
	}
	web.JSON(rw, http.StatusCreated, toRefund(x))
	return nil
}

func (w *Wallet) apiOpenAPI(rw http.ResponseWriter, r *http.Request, _ *User) error {
	rw.Header().Set("Content-Type", "application/json")
	rw.Write(openAPI)
	return nil
}
