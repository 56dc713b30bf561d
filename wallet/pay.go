package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"katong/sqlstore"
	"time"

	"katong"
)

// Payment and refund states. The bank's idempotency key is stored with
// the row before the request is sent: pending until the bank's answer is
// known, so that a lost answer is asked again with the same key (by the
// user's retry or the settler) and the card is debited once.
const (
	payPending = "pending"
	payPaid    = "paid"
	payFailed  = "failed"
)

// Payment is a payment to a merchant from a bound card.
type Payment struct {
	ID            int64
	CardID        int64
	Card          *Card
	Amount        katong.Amount
	Reference     string
	Status        string // pending, paid, failed
	FailCode      katong.Code
	BankPaymentID string
	Created       time.Time
	Refunds       []*Refund
	userID        int64
	clientKey     string
	bankKey       string
	tries         int64 // asked with its outcome unknown
}

// Refunded is what was refunded or is being refunded.
func (p *Payment) Refunded() katong.Amount {
	var sum katong.Amount
	for _, r := range p.Refunds {
		if r.Status != payFailed {
			sum += r.Amount
		}
	}
	return sum
}

// Refund returns part or all of a paid payment to the card.
type Refund struct {
	ID           int64
	PaymentID    int64
	Amount       katong.Amount
	Reference    string
	Status       string
	FailCode     katong.Code
	BankRefundID string
	Created      time.Time
	userID       int64
	clientKey    string
	bankKey      string
	tries        int64
}

// outcomeUnknown reports whether err leaves the bank's answer unknown
// (it may have paid): the row stays pending and is asked again.
func outcomeUnknown(err error) bool {
	c := katong.ErrorCode(err)
	return c == katong.ENetwork || c == katong.EConflict
}

// checkReference validates a merchant reference as the banks do: 1 to 140
// bytes that katong.Redact leaves as they are (no card or ID number, no
// control character, nothing that is not UTF-8).
func checkReference(field, ref string) error {
	if ref == "" || len(ref) > 140 {
		return katong.Invalid(field, "the reference must have 1 to 140 bytes")
	}
	if katong.Redact(ref) != ref {
		return katong.Invalid(field, "the reference may not contain a card or ID number, control characters or invalid UTF-8")
	}
	return nil
}

// clientKey checks the client's idempotency key (a UUID), or makes one.
func clientKey(key string) (string, error) {
	if key == "" {
		return katong.NewKey(), nil
	}
	if !katong.ValidKey(key) {
		return "", katong.Invalid("idempotency_key", "the idempotency key must be a UUID")
	}
	return key, nil
}

const paymentCols = `id, user_id, binding_id, client_key, bank_key, amount, reference, status, bank_payment_id, fail_code,
	tries, created_at`

func scanPayment(row interface{ Scan(...any) error }) (*Payment, error) {
	var p Payment
	var fail string
	var created int64
	err := row.Scan(&p.ID, &p.userID, &p.CardID, &p.clientKey, &p.bankKey, &p.Amount, &p.Reference, &p.Status,
		&p.BankPaymentID, &fail, &p.tries, &created)
	p.FailCode, p.Created = katong.Code(fail), time.UnixMicro(created)
	return &p, err
}

// checkMoneyRequest checks what Pay and Refund take: the client's key
// (returned, made when empty), a positive amount, a reference.
func checkMoneyRequest(key string, amount katong.Amount, ref string) (string, error) {
	key, err := clientKey(key)
	if err != nil {
		return "", err
	}
	if amount <= 0 {
		return "", katong.Invalid("amount", "the amount must be more than zero")
	}
	return key, checkReference("reference", ref)
}

// Pay pays a merchant amount from the user's card, with the merchant's
// reference. key is the client's idempotency key (a UUID; "" makes one):
// the same key again is the same payment, replayed if settled, sent again
// with the same bank key if its outcome is still unknown.
//
// The payment is returned whenever it was stored, with the error: ENetwork
// or EConflict while it is pending (retry, or let the settler finish),
// the bank's refusal (EInsufficient, EAbnormal, ENotFound…) when failed.
// EKeyReused if key was used for another payment.
func (w *Wallet) Pay(ctx context.Context, u *User, cardID int64, key string, amount katong.Amount, ref string) (*Payment, error) {
	key, err := checkMoneyRequest(key, amount, ref)
	if err != nil {
		return nil, err
	}
	p, err := w.paymentByKey(ctx, u, key)
	var b *binding // the card's binding, read for a new payment
	if errors.Is(err, sql.ErrNoRows) {
		if b, err = w.binding(ctx, u, cardID); err != nil {
			return nil, err
		}
		now := w.cfg.Now().UnixMicro()
		p, err = scanPayment(w.db.QueryRowContext(ctx, `INSERT INTO payments (user_id, binding_id, client_key, bank_key,
			amount, reference, status, next_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)
			ON CONFLICT (user_id, client_key) DO NOTHING RETURNING `+paymentCols,
			u.ID, b.ID, key, katong.NewKey(), amount, ref, payPending, now))
		if errors.Is(err, sql.ErrNoRows) { // a concurrent request with the same key stored it first
			b = nil
			p, err = w.paymentByKey(ctx, u, key)
		}
	}
	if err != nil {
		return nil, err
	}
	if p.CardID != cardID || p.Amount != amount || p.Reference != ref {
		return nil, katong.Errorf(katong.EKeyReused, "idempotency key used for another payment")
	}
	return w.sendPayment(ctx, p, b)
}

func (w *Wallet) paymentByKey(ctx context.Context, u *User, key string) (*Payment, error) {
	return scanPayment(w.db.Row(ctx, `SELECT `+paymentCols+` FROM payments WHERE user_id = $1 AND client_key = $2`, u.ID, key))
}

// refusal is the error of a settled payment or refund ("payment",
// "refund"): nil when paid, the bank's refusal with its code, tied to the
// bank p (nil: not known here), when failed.
func refusal(what, status string, code katong.Code, p *partner) error {
	if status != payFailed {
		return nil
	}
	return p.wrap(&katong.Error{Code: code, Message: "the bank refused the " + what})
}

// record stores the bank's answer to the pending row id of table
// (payments or refunds): paid with the bank's id (in bankIDCol), failed
// with err's code, or still pending when the outcome is unknown, asked
// again after a backoff for its tries. A row settled meanwhile by another
// call is left as it is. ctx should outlive the caller's: the bank may
// have paid.
func (w *Wallet) record(ctx context.Context, table, bankIDCol string, id, tries int64, bankID string, err error) error {
	now := w.cfg.Now()
	status, set, arg := payPaid, bankIDCol+` = $2`, any(bankID)
	switch {
	case outcomeUnknown(err):
		status, set, arg = payPending, `next_at = $2, tries = tries + 1`, now.Add(w.backoff(tries+1)).UnixMicro()
	case err != nil:
		status, set, arg = payFailed, `fail_code = $2`, string(katong.ErrorCode(err))
	}
	_, err = w.db.ExecContext(ctx, `UPDATE `+table+` SET status = $1, `+set+`, updated_at = $3 WHERE id = $4 AND status = $5`,
		status, arg, now.UnixMicro(), id, payPending)
	return err
}

// anyBinding loads a binding whatever its state: a pending payment of a
// card unbound meanwhile is still settled with its tokens (revocation
// waits for it).
func (w *Wallet) anyBinding(ctx context.Context, id int64) (*binding, error) {
	b, err := w.scanBinding(w.db.Row(ctx, `SELECT `+bindingCols+` FROM bindings WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	if b.p == nil || b.status == bindRevoked {
		return nil, katong.Errorf(katong.ENotFound, "card %d is no longer bound", id)
	}
	return b, nil
}

// sendPayment sends a pending payment to the bank with its stored key and
// records the answer; a settled one is returned as it is. b is the
// payment's binding if the caller has read it, else nil.
func (w *Wallet) sendPayment(ctx context.Context, p *Payment, b *binding) (*Payment, error) {
	if p.Status != payPending {
		return p, refusal("payment", p.Status, p.FailCode, nil)
	}
	var err error
	if b == nil {
		b, err = w.anyBinding(ctx, p.CardID)
	}
	var bankID string
	if err == nil {
		callCtx, cancel := context.WithTimeout(ctx, w.cfg.Deadline)
		err = w.withToken(callCtx, b, func(tok string) (err error) {
			bankID, err = b.p.link.pay(callCtx, tok, p.bankKey, b.accountID, p.Amount, p.Reference)
			return err
		})
		cancel()
		err = b.p.wrap(err)
	}
	// Recorded whatever happened to the caller's context: the bank may have paid.
	rec := context.WithoutCancel(ctx)
	if err2 := w.record(rec, "payments", "bank_payment_id", p.ID, p.tries, bankID, err); err2 != nil {
		return nil, err2
	}
	var card string
	var bank *partner
	if b != nil {
		card, bank = b.Masked, b.p
	}
	w.audit(rec, p.userID, "pay", card, err)
	q, err2 := scanPayment(w.db.QueryRowContext(rec, `SELECT `+paymentCols+` FROM payments WHERE id = $1`, p.ID))
	if err2 != nil {
		return nil, err2
	}
	if q.Status == payPending {
		return q, err
	}
	return q, refusal("payment", q.Status, q.FailCode, bank) // settled, by this call or a concurrent one
}

// RetryPayment asks the bank again about a pending payment of the user
// (same key); a settled one is returned as it is. ENotFound for a payment
// that is not the user's.
func (w *Wallet) RetryPayment(ctx context.Context, u *User, id int64) (*Payment, error) {
	p, err := w.userPayment(ctx, u, id)
	if err != nil {
		return nil, err
	}
	return w.sendPayment(ctx, p, nil)
}

// errNoPayment marks the ENotFound of a payment that is not the user's,
// told apart from a bank's ENotFound.
var errNoPayment = errors.New("no such payment")

func noPayment(id int64, u *User) error {
	return &katong.Error{Code: katong.ENotFound, Message: fmt.Sprintf("no payment %d for user %d", id, u.ID), Err: errNoPayment}
}

// Payment returns one of the user's payments with its refunds and card.
// ENotFound (errNoPayment) for a payment that is not the user's.
func (w *Wallet) Payment(ctx context.Context, u *User, id int64) (*Payment, error) {
	p, err := w.userPayment(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if err := w.fill(ctx, u, p); err != nil {
		return nil, err
	}
	return p, nil
}

// userPayment returns one of the user's payments, without its refunds and
// card. ENotFound (errNoPayment) for a payment that is not the user's.
func (w *Wallet) userPayment(ctx context.Context, u *User, id int64) (*Payment, error) {
	p, err := scanPayment(w.db.Row(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = $1 AND user_id = $2`, id, u.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noPayment(id, u)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Payments returns the user's newest payments (at most 50) with their
// refunds and cards.
func (w *Wallet) Payments(ctx context.Context, u *User) ([]*Payment, error) {
	ps, err := sqlstore.All(ctx, w.db, scanPayment, `SELECT `+paymentCols+` FROM payments WHERE user_id = $1
		ORDER BY id DESC LIMIT 50`, u.ID)
	if err != nil {
		return nil, err
	}
	return ps, w.fill(ctx, u, ps...)
}

// fill loads the cards and refunds of the user's payments ps, in one
// query each: those of all the user's payments from the oldest of ps to
// the newest (one payment, or a page of the newest).
func (w *Wallet) fill(ctx context.Context, u *User, ps ...*Payment) error {
	if len(ps) == 0 {
		return nil
	}
	lo, hi := ps[0].ID, ps[0].ID
	byID := map[int64]*Payment{}
	for _, p := range ps {
		lo, hi = min(lo, p.ID), max(hi, p.ID)
		byID[p.ID] = p
		p.Refunds = nil
	}
	bs, err := sqlstore.All(ctx, w.db, w.scanBinding, `SELECT `+bindingCols+` FROM bindings WHERE id IN
		(SELECT binding_id FROM payments WHERE user_id = $1 AND id BETWEEN $2 AND $3)`, u.ID, lo, hi)
	if err != nil {
		return err
	}
	cards := map[int64]*Card{}
	for _, b := range bs {
		cards[b.ID] = &b.Card
	}
	rs, err := sqlstore.All(ctx, w.db, scanRefund, `SELECT `+refundCols+` FROM refunds
		WHERE user_id = $1 AND payment_id BETWEEN $2 AND $3 ORDER BY id`, u.ID, lo, hi)
	if err != nil {
		return err
	}
	for _, p := range ps {
		p.Card = cards[p.CardID]
	}
	for _, r := range rs {
		if p := byID[r.PaymentID]; p != nil {
			p.Refunds = append(p.Refunds, r)
		}
	}
	return nil
}

const refundCols = `id, payment_id, user_id, client_key, bank_key, amount, reference, status, bank_refund_id, fail_code,
	tries, created_at`

func scanRefund(row interface{ Scan(...any) error }) (*Refund, error) {
	var r Refund
	var created int64
	var fail string
	err := row.Scan(&r.ID, &r.PaymentID, &r.userID, &r.clientKey, &r.bankKey, &r.Amount, &r.Reference, &r.Status,
		&r.BankRefundID, &fail, &r.tries, &created)
	r.FailCode, r.Created = katong.Code(fail), time.UnixMicro(created)
	return &r, err
}

// Refund returns amount of the user's paid payment to its card. key is
// the client's idempotency key as for Pay. Refunds of a payment never
// exceed it (EInvalid, field amount). ENotFound (errNoPayment) for a
// payment that is not the user's; EInvalid (field payment) for one that is
// not paid. The bank's refusal names the bank, as for Pay.
func (w *Wallet) Refund(ctx context.Context, u *User, paymentID int64, key string, amount katong.Amount, ref string) (*Refund, error) {
	key, err := checkMoneyRequest(key, amount, ref)
	if err != nil {
		return nil, err
	}
	var r *Refund
	err = w.db.Tx(ctx, func(tx *sql.Tx) error {
		p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments WHERE id = $1 AND user_id = $2`+
			w.db.Dialect.ForUpdate, paymentID, u.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return noPayment(paymentID, u)
		}
		if err != nil {
			return err
		}
		r, err = scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundCols+` FROM refunds WHERE user_id = $1 AND client_key = $2`,
			u.ID, key))
		if err == nil {
			if r.PaymentID != paymentID || r.Amount != amount || r.Reference != ref {
				return katong.Errorf(katong.EKeyReused, "idempotency key used for another refund")
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if p.Status != payPaid {
			return katong.Invalid("payment", "only a paid payment can be refunded")
		}
		var refunded katong.Amount
		if err := tx.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refunds WHERE payment_id = $1 AND status <> $2`,
			paymentID, payFailed).Scan(&refunded); err != nil {
			return err
		}
		if refunded+amount > p.Amount {
			return katong.Invalid("amount", "at most %s is left to refund", (p.Amount - refunded).String())
		}
		now := w.cfg.Now().UnixMicro()
		r = &Refund{PaymentID: paymentID, Amount: amount, Reference: ref, Status: payPending, clientKey: key, bankKey: katong.NewKey(),
			Created: time.UnixMicro(now)}
		return tx.QueryRowContext(ctx, `INSERT INTO refunds (payment_id, user_id, client_key, bank_key, amount, reference, status,
			next_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) RETURNING id`,
			paymentID, u.ID, key, r.bankKey, amount, ref, payPending, now).Scan(&r.ID)
	})
	if err != nil {
		return nil, err
	}
	return w.sendRefund(ctx, r)
}

// sendRefund sends a pending refund with its stored key and records the
// answer; a settled one is returned as it is. Its errors name the bank.
func (w *Wallet) sendRefund(ctx context.Context, r *Refund) (*Refund, error) {
	if r.Status == payPaid {
		return r, nil
	}
	var bank, bankPayment string
	err := w.db.Row(ctx, `SELECT b.bank_id, p.bank_payment_id FROM payments p JOIN bindings b ON b.id = p.binding_id
		WHERE p.id = $1`, r.PaymentID).Scan(&bank, &bankPayment)
	if err != nil {
		return nil, err
	}
	p := w.banks[katong.BankID(bank)]
	if r.Status == payFailed {
		return r, refusal("refund", r.Status, r.FailCode, p)
	}
	var bankID string
	if p == nil {
		err = katong.Errorf(katong.ENotFound, "bank %s is no longer a partner bank", bank)
	} else {
		callCtx, cancel := context.WithTimeout(ctx, w.cfg.Deadline)
		bankID, err = p.link.refund(callCtx, r.bankKey, bankPayment, r.Amount, r.Reference)
		cancel()
		err = p.wrap(err)
	}
	rec := context.WithoutCancel(ctx)
	if err2 := w.record(rec, "refunds", "bank_refund_id", r.ID, r.tries, bankID, err); err2 != nil {
		return nil, err2
	}
	w.audit(rec, r.userID, "refund", "", err)
	got, err2 := scanRefund(w.db.QueryRowContext(rec, `SELECT `+refundCols+` FROM refunds WHERE id = $1`, r.ID))
	if err2 != nil {
		return nil, err2
	}
	if got.Status == payPending {
		return got, err
	}
	return got, refusal("refund", got.Status, got.FailCode, p)
}

// settlePayments sends again the pending payments that are due.
func (w *Wallet) settlePayments(ctx context.Context) error {
	return sendDue(ctx, w, "payments", paymentCols, scanPayment, func(p *Payment) (int64, error) {
		_, err := w.sendPayment(ctx, p, nil)
		return p.ID, err
	})
}

// settleRefunds sends again the pending refunds that are due.
func (w *Wallet) settleRefunds(ctx context.Context) error {
	return sendDue(ctx, w, "refunds", refundCols, scanRefund, func(r *Refund) (int64, error) {
		_, err := w.sendRefund(ctx, r)
		return r.ID, err
	})
}

// sendDue sends again with send the pending rows of table (payments or
// refunds, read with cols and scan) that are due, oldest due first; one
// whose outcome is still unknown is logged.
func sendDue[T any](ctx context.Context, w *Wallet, table, cols string, scan func(sqlstore.Scanner) (T, error),
	send func(T) (id int64, err error)) error {
	due, err := sqlstore.All(ctx, w.db, scan, `SELECT `+cols+` FROM `+table+` WHERE status = $1 AND next_at <= $2
		ORDER BY next_at LIMIT 100`, payPending, w.cfg.Now().UnixMicro())
	if err != nil {
		return err
	}
	for _, x := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if id, err := send(x); outcomeUnknown(err) {
			w.log.Info("wallet settler: still pending", "table", table, "id", id, "code", katong.ErrorCode(err))
		}
	}
	return nil
}

// yuanField parses an amount typed by a person into fen (EInvalid, field amount).
func yuanField(s string) (katong.Amount, error) {
	a, err := katong.ParseAmount(s)
	if err != nil {
		return 0, err
	}
	if a <= 0 {
		return 0, katong.Invalid("amount", "the amount must be more than zero")
	}
	if a > 100_000_000 {
		return 0, katong.Invalid("amount", "the amount is larger than %s", katong.Amount(100_000_000).Yuan())
	}
	return a, nil
}
