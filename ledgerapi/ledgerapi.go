// Package ledgerapi is a bank's back-office ledger API: postings with
// idempotency keys, balances, receipts of keys and a whole-ledger check.
// It serves the load tool (`katong load`) and the crash tests, and is
// closed unless the bank configures a ledger API key.
package ledgerapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"

	"katong"
	"katong/bank"
	"katong/ledger"
	"katong/web"
)

// API is the ledger API of one bank.
type API struct {
	b   *bank.Bank
	key [32]byte
	log *slog.Logger
}

// New returns the API; key is the bearer key clients present.
func New(b *bank.Bank, key string, log *slog.Logger) *API {
	return &API{b: b, key: sha256.Sum256([]byte(key)), log: log}
}

// Register adds the routes under /banks/{id}/ledger/v1/.
func (a *API) Register(mux *http.ServeMux) {
	p := "/banks/" + string(a.b.Config.ID) + "/ledger/v1"
	mux.Handle("POST "+p+"/transactions", a.auth(a.handlePost))
	mux.Handle("GET "+p+"/accounts/{id}", a.auth(a.handleAccount))
	mux.Handle("GET "+p+"/receipts/{key}", a.auth(a.handleReceipt))
	mux.Handle("GET "+p+"/check", a.auth(a.handleCheck))
}

func (a *API) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(web.BearerToken(r)))
		if subtle.ConstantTimeCompare(got[:], a.key[:]) != 1 {
			a.error(w, r, katong.Errorf(katong.EUnauthorized, "bad ledger API key"))
			return
		}
		h(w, r)
	})
}

func (a *API) error(w http.ResponseWriter, r *http.Request, err error) {
	web.Error(w, r, a.log, err, a.b.Config.Support)
}

// client is the idempotency scope of this API's callers.
const client = "ledgerapi"

type postBody struct {
	Kind   katong.TxnKind `json:"kind"`
	From   int64          `json:"from,omitempty"`
	To     int64          `json:"to,omitempty"`
	Amount string         `json:"amount"`
	HoldID int64          `json:"hold_id,omitempty"`
	Memo   string         `json:"memo,omitempty"`
}

// Receipt is the answer to a posting.
type Receipt struct {
	TxnID    int64            `json:"txn_id,omitempty"`
	HoldID   int64            `json:"hold_id,omitempty"`
	Kind     katong.TxnKind   `json:"kind"`
	Amount   string           `json:"amount"`
	At       string           `json:"at"`
	Balances map[string]int64 `json:"balances_fen,omitempty"`
	Replayed bool             `json:"replayed"`
}

func receipt(res *ledger.Result) Receipt {
	rc := Receipt{TxnID: res.TxnID, HoldID: res.HoldID, Kind: res.Kind, Amount: res.Amount.String(),
		At: res.At.In(katong.Shanghai).Format("2006-01-02T15:04:05.000000-07:00"), Replayed: res.Replayed,
		Balances: map[string]int64{}}
	for id, v := range res.Balances {
		rc.Balances[strconv.FormatInt(int64(id), 10)] = int64(v)
	}
	return rc
}

func (a *API) handlePost(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if !katong.ValidKey(key) {
		a.error(w, r, katong.Invalid("Idempotency-Key", "header must be a UUID"))
		return
	}
	var body postBody
	if err := web.Decode(w, r, &body); err != nil {
		a.error(w, r, err)
		return
	}
	amt := katong.Amount(0)
	if body.Kind != katong.TxnCapture && body.Kind != katong.TxnRelease {
		var err error
		if amt, err = katong.ParseAmount(body.Amount); err != nil {
			a.error(w, r, err)
			return
		}
	}
	res, err := a.b.Ledger.Do(r.Context(), ledger.Request{Client: client, Key: key, Kind: body.Kind,
		From: katong.AccountID(body.From), To: katong.AccountID(body.To), Amount: amt, HoldID: body.HoldID, Memo: body.Memo})
	if err != nil {
		if r.Context().Err() != nil {
			err = katong.Errorf(katong.EInternal, "request ended before the outcome was known: retry with the same key")
		}
		a.error(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	web.JSON(w, status, receipt(res))
}

func (a *API) handleAccount(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.error(w, r, katong.Invalid("id", "account id must be a number"))
		return
	}
	acct, err := a.b.DB.Ledger().Account(r.Context(), katong.AccountID(id))
	if err != nil {
		a.error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]any{"id": acct.ID, "kind": acct.Kind, "status": acct.Status,
		"available": acct.Available().String(), "booked": acct.Booked.String(),
		"available_fen": int64(acct.Available()), "booked_fen": int64(acct.Booked)})
}

func (a *API) handleReceipt(w http.ResponseWriter, r *http.Request) {
	rec, err := a.b.DB.Ledger().Receipt(r.Context(), client, r.PathValue("key"))
	if err != nil {
		a.error(w, r, err)
		return
	}
	if rec == nil {
		a.error(w, r, katong.Errorf(katong.ENotFound, "no posting with this key"))
		return
	}
	web.JSON(w, http.StatusOK, receipt(&rec.Result))
}

func (a *API) handleCheck(w http.ResponseWriter, r *http.Request) {
	rep, err := Check(r.Context(), a.b)
	if err != nil {
		a.error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, rep)
}

// Report is the result of a whole-ledger check.
type Report struct {
	OK       bool     `json:"ok"`
	Accounts int      `json:"accounts"`
	Txns     int      `json:"txns"`
	Entries  int      `json:"entries"`
	Total    int64    `json:"total_fen"` // Σ booked over every account: 0 in double entry
	Problems []string `json:"problems,omitempty"`
}

// Check verifies the bank's whole ledger: every transaction balances,
// every account's booked balance is the sum of its entries, holds match,
// no customer account is below zero available, and all balances sum to 0.
func Check(ctx context.Context, b *bank.Bank) (*Report, error) {
	db := b.DB
	rep := &Report{}
	problem := func(s string) {
		if len(rep.Problems) < 20 {
			rep.Problems = append(rep.Problems, s)
		}
	}
	queries := []struct {
		what string
		q    string
	}{
		{"unbalanced transaction", `SELECT txn_id FROM entries GROUP BY txn_id HAVING sum(amount) <> 0 OR count(*) < 2`},
		{"booked is not the sum of entries for account", `SELECT a.id FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) s
			FROM entries GROUP BY account_id) e ON e.account_id = a.id WHERE a.booked <> coalesce(e.s, 0)`},
		{"held is not the sum of active holds for account", `SELECT a.id FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) s
			FROM holds WHERE status = 'active' GROUP BY account_id) h ON h.account_id = a.id WHERE a.held <> coalesce(h.s, 0)`},
		{"negative available on customer account", `SELECT id FROM accounts WHERE kind = 'customer' AND booked - held < 0`},
		{"transaction without entries", `SELECT t.id FROM txns t LEFT JOIN (SELECT DISTINCT txn_id FROM entries) e
			ON e.txn_id = t.id WHERE e.txn_id IS NULL`},
	}
	for _, c := range queries {
		rows, err := db.QueryContext(ctx, c.q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			problem(c.what + " " + strconv.FormatInt(id, 10))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(booked), 0) FROM accounts`).Scan(&rep.Accounts, &rep.Total); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM txns`).Scan(&rep.Txns); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM entries`).Scan(&rep.Entries); err != nil {
		return nil, err
	}
	if rep.Total != 0 {
		problem("balances do not sum to zero: " + strconv.FormatInt(rep.Total, 10))
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}
