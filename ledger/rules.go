package ledger

import (
	"context"
	"slices"
	"time"

	"katong"
)

// MaxAmount bounds a single write: 10 billion yuan.
const MaxAmount katong.Amount = 1_000_000_000_000

// work applies requests inside one store transaction. It caches the
// accounts it has read so that several requests of one batch see each
// other's effects.
type work struct {
	tx       Tx
	now      time.Time
	accounts map[katong.AccountID]*katong.Account
	system   func(katong.AccountKind) (katong.AccountID, error)
	keys     map[string]bool // client+key written in this batch
}

func (w *work) account(ctx context.Context, id katong.AccountID) (*katong.Account, error) {
	if a, ok := w.accounts[id]; ok {
		return a, nil
	}
	a, err := w.tx.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	w.accounts[id] = a
	return a, nil
}

// lock reads, in ascending id order, every account the batch may touch,
// so that PostgreSQL takes its row locks in one global order and two
// batches never deadlock (RELIABILITY.md T1). Holds are read first to
// learn their accounts. Only store failures are errors here: a missing
// account is the request's own problem, reported when it is applied.
func (w *work) lock(ctx context.Context, batch []*call) error {
	var holds []int64
	ids := map[katong.AccountID]bool{}
	for _, c := range batch {
		r := &c.req
		if r.HoldID > 0 {
			holds = append(holds, r.HoldID)
		}
		for _, id := range []katong.AccountID{r.From, r.To} {
			if id > 0 {
				ids[id] = true
			}
		}
		if k, ok := counterpart[r.Kind]; ok {
			id, err := w.system(k)
			if err != nil && katong.ErrorCode(err) == katong.EInternal {
				return err
			}
			if err == nil {
				ids[id] = true
			}
		}
	}
	keys := make([][2]string, 0, len(batch))
	for _, c := range batch {
		keys = append(keys, [2]string{c.req.Client, c.req.Key})
	}
	if err := w.tx.Prefetch(ctx, keys); err != nil {
		return err
	}
	slices.Sort(holds)
	for _, id := range slices.Compact(holds) {
		h, err := w.tx.Hold(ctx, id)
		if err != nil {
			if katong.ErrorCode(err) == katong.EInternal {
				return err
			}
			continue
		}
		ids[h.AccountID] = true
	}
	sorted := make([]katong.AccountID, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	accts, err := w.tx.Accounts(ctx, sorted)
	if err != nil {
		return err
	}
	for _, a := range accts {
		w.accounts[a.ID] = a
	}
	return nil
}

// check validates the parts of a request that need no store.
func check(r *Request) error {
	switch {
	case r.Client == "":
		return katong.Invalid("client", "missing client")
	case r.Key == "" || len(r.Key) > 128:
		return katong.Invalid("idempotency_key", "key must be 1 to 128 characters")
	}
	switch r.Kind {
	case katong.TxnCapture, katong.TxnRelease:
		if r.HoldID <= 0 {
			return katong.Invalid("hold_id", "missing hold")
		}
		return nil
	case katong.TxnDeposit, katong.TxnSalary, katong.TxnRefund, katong.TxnWithdrawal,
		katong.TxnPayment, katong.TxnFee, katong.TxnTransfer, katong.TxnHold:
	default:
		return katong.Invalid("kind", "unknown transaction kind %q", r.Kind)
	}
	if r.Amount <= 0 || r.Amount > MaxAmount {
		return katong.Invalid("amount", "amount must be more than 0 and at most %s", MaxAmount)
	}
	if len(r.Memo) > 140 {
		return katong.Invalid("memo", "memo longer than 140 bytes")
	}
	return nil
}

// counterpart is the bank's own account on the other side of each kind.
var counterpart = map[katong.TxnKind]katong.AccountKind{
	katong.TxnDeposit:    katong.KindCash,
	katong.TxnWithdrawal: katong.KindCash,
	katong.TxnSalary:     katong.KindClearing,
	katong.TxnPayment:    katong.KindSettlement,
	katong.TxnRefund:     katong.KindSettlement,
	katong.TxnCapture:    katong.KindSettlement,
	katong.TxnFee:        katong.KindFees,
}

// customer reads a customer account that is to be credited (credit) or
// debited, and applies the status rules.
func (w *work) customer(ctx context.Context, id katong.AccountID, debit bool) (*katong.Account, error) {
	a, err := w.account(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Kind != katong.KindCustomer {
		return nil, katong.Errorf(katong.ENotFound, "account %d is not a customer account", id)
	}
	switch {
	case a.Status == katong.StatusClosed:
		return nil, katong.Errorf(katong.EClosed, "account %d is closed", id)
	case debit && a.Status == katong.StatusFrozen:
		return nil, katong.Errorf(katong.EAbnormal, "account %d is frozen", id)
	}
	return a, nil
}

func (w *work) debitable(ctx context.Context, id katong.AccountID, amt katong.Amount) (*katong.Account, error) {
	a, err := w.customer(ctx, id, true)
	if err != nil {
		return nil, err
	}
	if a.Available() < amt {
		return nil, katong.Errorf(katong.EInsufficient, "available %s is less than %s", a.Available(), amt)
	}
	return a, nil
}

// apply runs one request. It checks every rule before it writes, so a
// refused request leaves nothing behind in the transaction.
func (w *work) apply(ctx context.Context, r *Request) (*Result, error) {
	if err := check(r); err != nil {
		return nil, err
	}
	scope := r.Client + "\x00" + r.Key
	if w.keys[scope] {
		return nil, katong.Errorf(katong.EConflict, "key in flight")
	}
	rec, err := w.tx.Record(ctx, r.Client, r.Key)
	if err != nil {
		return nil, err
	}
	fp := r.Fingerprint()
	if rec != nil {
		if rec.Fingerprint != fp {
			return nil, katong.Errorf(katong.EKeyReused, "key used before for another request")
		}
		res := rec.Result
		res.Replayed = true
		return &res, nil
	}
	res := &Result{Kind: r.Kind, Amount: r.Amount, At: w.now}
	switch r.Kind {
	case katong.TxnHold, katong.TxnCapture, katong.TxnRelease:
		err = w.hold(ctx, r, res)
	default:
		err = w.post(ctx, r, res)
	}
	if err != nil {
		return nil, err
	}
	if err := w.tx.PutRecord(ctx, r.Client, r.Key, &Record{Fingerprint: fp, Result: *res}); err != nil {
		return nil, err
	}
	w.keys[scope] = true
	return res, nil
}

func (w *work) post(ctx context.Context, r *Request, res *Result) error {
	var from, to *katong.Account
	var err error
	switch r.Kind {
	case katong.TxnDeposit, katong.TxnSalary, katong.TxnRefund:
		if to, err = w.customer(ctx, r.To, false); err != nil {
			return err
		}
	case katong.TxnWithdrawal, katong.TxnPayment, katong.TxnFee:
		if from, err = w.debitable(ctx, r.From, r.Amount); err != nil {
			return err
		}
	case katong.TxnTransfer:
		if r.From == r.To {
			return katong.Invalid("to", "cannot transfer to the same account")
		}
		if from, err = w.debitable(ctx, r.From, r.Amount); err != nil {
			return err
		}
		if to, err = w.customer(ctx, r.To, false); err != nil {
			return err
		}
	}
	if from == nil || to == nil {
		id, err := w.system(counterpart[r.Kind])
		if err != nil {
			return err
		}
		sys, err := w.account(ctx, id)
		if err != nil {
			return err
		}
		if from == nil {
			from = sys
		} else {
			to = sys
		}
	}
	return w.insert(ctx, r, res, from, to, r.Amount)
}

// insert writes a two-posting transaction moving amt from one account to
// the other and updates the cached balances.
func (w *work) insert(ctx context.Context, r *Request, res *Result, from, to *katong.Account, amt katong.Amount) error {
	t := &Txn{Kind: r.Kind, Client: r.Client, Key: r.Key, Memo: r.Memo, At: w.now,
		Postings: []Posting{{from.ID, -amt}, {to.ID, amt}}}
	after := map[katong.AccountID]katong.Amount{from.ID: from.Booked - amt, to.ID: to.Booked + amt}
	id, err := w.tx.Insert(ctx, t, after)
	if err != nil {
		return err
	}
	from.Booked -= amt
	to.Booked += amt
	from.UpdatedAt, to.UpdatedAt = w.now, w.now
	res.TxnID = id
	res.Balances = map[katong.AccountID]katong.Amount{}
	for _, a := range []*katong.Account{from, to} {
		if a.Kind == katong.KindCustomer {
			res.Balances[a.ID] = a.Booked
		}
	}
	return nil
}

func (w *work) hold(ctx context.Context, r *Request, res *Result) error {
	if r.Kind == katong.TxnHold {
		a, err := w.debitable(ctx, r.From, r.Amount)
		if err != nil {
			return err
		}
		h := &katong.Hold{AccountID: a.ID, Amount: r.Amount, Status: katong.HoldActive, Memo: r.Memo, At: w.now}
		id, err := w.tx.PutHold(ctx, h, a.Held+r.Amount)
		if err != nil {
			return err
		}
		a.Held += r.Amount
		res.HoldID = id
		res.Balances = map[katong.AccountID]katong.Amount{a.ID: a.Booked}
		return nil
	}
	h, err := w.tx.Hold(ctx, r.HoldID)
	if err != nil {
		return err
	}
	if h.Status != katong.HoldActive {
		return katong.Errorf(katong.EConflict, "hold %d is %s", h.ID, h.Status)
	}
	a, err := w.customer(ctx, h.AccountID, r.Kind == katong.TxnCapture)
	if err != nil {
		return err
	}
	// Every read that can fail comes before the first write, so a refused
	// capture leaves nothing behind.
	var sys *katong.Account
	if r.Kind == katong.TxnCapture {
		id, err := w.system(katong.KindSettlement)
		if err != nil {
			return err
		}
		if sys, err = w.account(ctx, id); err != nil {
			return err
		}
	}
	res.Amount, res.HoldID = h.Amount, h.ID
	h.Status = katong.HoldReleased
	if r.Kind == katong.TxnCapture {
		h.Status = katong.HoldCaptured
	}
	if _, err := w.tx.PutHold(ctx, h, a.Held-h.Amount); err != nil {
		return err
	}
	a.Held -= h.Amount
	if r.Kind == katong.TxnRelease {
		res.Balances = map[katong.AccountID]katong.Amount{a.ID: a.Booked}
		return nil
	}
	return w.insert(ctx, r, res, a, sys, h.Amount)
}
