package teller

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"katong"
	"katong/auth"
	"katong/bank"
	"katong/ledger"
)

// cashPage is the answer to a cash deposit or withdrawal: the result, or
// the error with the form again (and a fresh idempotency key).
type cashPage struct {
	base
	V        *visit
	Kind     string // "deposit" or "withdraw"
	Done     bool
	Amount   katong.Amount
	After    katong.Amount // booked balance right after the transaction
	At       string
	TxnID    int64
	Replayed bool
	Key      string
}

// cash handles a cash deposit or withdrawal for a checked card. The form's
// idempotency key was made when the form was rendered, so submitting the
// same form twice posts once and shows the first result again.
func (c *Console) cash(kind katong.TxnKind) func(*req) {
	name := "deposit"
	if kind == katong.TxnWithdrawal {
		name = "withdraw"
	}
	return func(q *req) {
		ctx := q.ctx()
		v, err := c.loadVisit(ctx, q.tok, q.r.PathValue("id"))
		if err != nil {
			c.errorPage(q.w, q.r, q.lang, q.staff, q.tok, err)
			return
		}
		p := cashPage{base: c.base(q.r, q.lang, q.staff, q.tok, name), V: v, Kind: name, Key: katong.NewKey()}
		fail := func(err error) {
			p.Err = c.errBox(q.r, q.lang, err)
			c.render(q.w, q.r, status(p.Err), "cash", p)
		}
		card, err := c.b.Card(ctx, v.CardID)
		if err != nil {
			fail(err)
			return
		}
		acct, err := c.b.Ledger.Store().Account(ctx, v.AccountID)
		if err == nil {
			// A frozen account shows no balance, so no cash either.
			err = bank.Usable(acct)
		}
		if err != nil {
			fail(err)
			return
		}
		amt, err := katong.ParseAmount(q.form("amount"))
		if err == nil && amt <= 0 {
			err = katong.Invalid("amount", "amount must be more than 0")
		}
		if err == nil && amt > ledger.MaxAmount {
			err = katong.Invalid("amount", "amount must be at most %s", ledger.MaxAmount)
		}
		if err != nil {
			fail(err)
			return
		}
		key := q.form("key")
		if !katong.ValidKey(key) {
			fail(katong.Invalid("key", "idempotency key must be a UUID"))
			return
		}
		r := ledger.Request{Client: q.actor(), Key: key, Kind: kind, Amount: amt, Memo: memo(kind, q.staff.Branch)}
		if kind == katong.TxnDeposit {
			r.To = v.AccountID
		} else {
			r.From = v.AccountID
		}
		res, err := c.b.Ledger.Do(ctx, r)
		result := "ok"
		switch {
		case err != nil:
			result = string(katong.ErrorCode(err))
		case res.Replayed:
			result = "replayed"
		}
		detail := "branch " + q.staff.Branch + " amount " + amt.String()
		if res != nil {
			detail += " txn " + strconv.FormatInt(res.TxnID, 10)
		}
		if aerr := c.b.Auth.Audit(ctx, auth.Record{Channel: katong.ChannelCounter, Actor: q.actor(),
			Action: string(kind), Card: card.Masked, Result: result, Detail: detail}); aerr != nil && err == nil {
			err = aerr
		}
		if err != nil {
			fail(err)
			return
		}
		p.Done, p.Amount, p.After, p.At, p.TxnID, p.Replayed = true, res.Amount, res.Balances[v.AccountID], shanghai(res.At), res.TxnID, res.Replayed
		c.render(q.w, q.r, http.StatusOK, "cash", p)
	}
}

// memo is the ledger memo of a counter transaction, within the ledger's
// 140 bytes.
func memo(kind katong.TxnKind, branch string) string {
	m := "柜台" + kind.Text(katong.ZH) + " " + branch
	for len(m) > 140 {
		_, size := utf8.DecodeLastRuneInString(m)
		m = m[:len(m)-size]
	}
	return m
}
