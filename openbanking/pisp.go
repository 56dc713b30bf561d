package openbanking

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
)

// Wallet payments: Katong's extension, shaped on OBIE payment initiation
// (docs/bank-link.md). A payment or refund is first claimed in its own
// table under (client, x-idempotency-key), then written to the ledger
// under the same key, then marked completed. The claim makes a duplicate
// in flight a 409 on every instance, a changed body a 422, and a retry
// after completion a replay; a claim whose request died is taken over
// after claimTTL and finished from the ledger's own idempotency record.

const (
	stPending   = "pending"
	stCompleted = "completed"
)

// Payment statuses on the wire.
const (
	wireCompleted = "AcceptedSettlementCompleted"
	wirePending   = "AcceptedSettlementInProcess"
)

func wireStatus(st string) string {
	if st == stCompleted {
		return wireCompleted
	}
	return wirePending
}

// paymentInput and refundInput are the Data of a payment's and a
// refund's request body.
type paymentInput struct {
	AccountID        string    `json:"AccountId"`
	InstructedAmount *obAmount `json:"InstructedAmount"`
	Reference        string    `json:"Reference"`
}

type refundInput struct {
	Amount    *obAmount `json:"Amount"`
	Reference string    `json:"Reference"`
}

// writeRequest is what a payment and a refund check first: the client
// may make wallet payments, the Idempotency-Key, and a body with Data.
func writeRequest[D any](w http.ResponseWriter, r *http.Request, c *caller) (key string, data *D, err error) {
	if !c.client.Payments {
		return "", nil, obErr(katong.EForbidden, "", "this client may not make wallet payments")
	}
	if key, err = idempotencyKey(r); err != nil {
		return "", nil, err
	}
	var req struct {
		Data *D `json:"Data"`
	}
	if err := jsonBody(w, r, &req); err != nil {
		return "", nil, err
	}
	if req.Data == nil {
		return "", nil, obErr(cMissingField, "Data", "Data is required")
	}
	return key, req.Data, nil
}

type refundData struct {
	WalletRefundID   string   `json:"WalletRefundId"`
	WalletPaymentID  string   `json:"WalletPaymentId"`
	Status           string   `json:"Status"`
	Amount           obAmount `json:"Amount"`
	Reference        string   `json:"Reference,omitempty"`
	CreationDateTime string   `json:"CreationDateTime"`
}

type paymentData struct {
	WalletPaymentID  string       `json:"WalletPaymentId"`
	AccountID        string       `json:"AccountId"`
	Status           string       `json:"Status"`
	InstructedAmount obAmount     `json:"InstructedAmount"`
	Reference        string       `json:"Reference,omitempty"`
	CreationDateTime string       `json:"CreationDateTime"`
	RefundedAmount   *obAmount    `json:"RefundedAmount,omitempty"`
	Refunds          []refundData `json:"Refunds,omitempty"`
}

type paymentResponse struct {
	Data  paymentData `json:"Data"`
	Links links       `json:"Links"`
	Meta  meta        `json:"Meta"`
}

type refundResponse struct {
	Data  refundData `json:"Data"`
	Links links      `json:"Links"`
	Meta  meta       `json:"Meta"`
}

// payment is a row of ob_payments.
type payment struct {
	ID, ClientID, Key, Fingerprint, ConsentID string
	AccountID                                 katong.AccountID
	ObAccountID                               string
	Amount, Refunded                          katong.Amount
	Reference, Status                         string
	TxnID, Created, Updated                   int64
}

const paymentCols = `id, client_id, idem_key, fingerprint, consent_id, account_id, ob_account_id, amount, refunded,
	reference, status, txn_id, created_at, updated_at`

func scanPayment(row sqlstore.Scanner) (*payment, error) {
	var p payment
	err := row.Scan(&p.ID, &p.ClientID, &p.Key, &p.Fingerprint, &p.ConsentID, &p.AccountID, &p.ObAccountID,
		&p.Amount, &p.Refunded, &p.Reference, &p.Status, &p.TxnID, &p.Created, &p.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, obErr(cUnknownID, "WalletPaymentId", "no such payment")
	}
	return &p, err
}

type refund struct {
	ID, PaymentID, ClientID, Key, Fingerprint string
	Amount                                    katong.Amount
	Reference, Status                         string
	TxnID, Created, Updated                   int64
}

const refundCols = `id, payment_id, client_id, idem_key, fingerprint, amount, reference, status, txn_id, created_at, updated_at`

func scanRefund(row sqlstore.Scanner) (*refund, error) {
	var f refund
	err := row.Scan(&f.ID, &f.PaymentID, &f.ClientID, &f.Key, &f.Fingerprint, &f.Amount, &f.Reference, &f.Status,
		&f.TxnID, &f.Created, &f.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, obErr(cUnknownID, "WalletRefundId", "no such refund")
	}
	return &f, err
}

// idempotencyKey reads x-idempotency-key: required, a UUID.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("x-idempotency-key")
	if k == "" {
		return "", obErr(cMissingHeader, "x-idempotency-key", "x-idempotency-key is required")
	}
	if !katong.ValidKey(k) {
		return "", obErr(cBadHeader, "x-idempotency-key", "x-idempotency-key must be a UUID")
	}
	return k, nil
}

// money reads an amount in CNY: a positive decimal string with at most 2
// decimals.
func money(a *obAmount, path string) (katong.Amount, error) {
	if a == nil {
		return 0, obErr(cMissingField, path, "the amount is required")
	}
	if a.Currency != "CNY" {
		return 0, obErr(cCurrency, path+".Currency", "only CNY is supported")
	}
	v, err := katong.ParseAmount(a.Amount)
	if err != nil {
		return 0, obErr(katong.EInvalid, path+".Amount", katong.AsError(err).Message)
	}
	if v <= 0 || v > ledger.MaxAmount {
		return 0, obErr(katong.EInvalid, path+".Amount", "the amount must be more than 0 and at most "+ledger.MaxAmount.String())
	}
	return v, nil
}

func checkReference(ref, path string) error {
	if len(ref) > 140 {
		return obErr(katong.EInvalid, path, "at most 140 bytes")
	}
	if katong.Redact(ref) != ref {
		return obErr(katong.EInvalid, path, "a reference must not hold a card or ID number or control characters")
	}
	return nil
}

// claim is the outcome of claiming a key.
type claim int

const (
	claimNew      claim = iota // this request owns a fresh claim
	claimTakeOver              // this request took over a dead claim
	claimDone                  // completed before: replay
)

func (s *Server) handleCreatePayment(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	key, in, err := writeRequest[paymentInput](w, r, c)
	if err != nil {
		return err
	}
	if in.AccountID == "" {
		return obErr(cMissingField, "Data.AccountId", "AccountId is required")
	}
	amount, err := money(in.InstructedAmount, "Data.InstructedAmount")
	if err != nil {
		return err
	}
	if err := checkReference(in.Reference, "Data.Reference"); err != nil {
		return err
	}
	ca, err := s.accountIn(ctx, c.consent, in.AccountID)
	if err != nil {
		return err
	}
	lreq := ledger.Request{Client: "ob:" + c.client.ID, Key: key, Kind: katong.TxnPayment, From: ca.AccountID,
		Amount: amount, Memo: in.Reference}
	now := s.bank.Now().UnixMicro()
	p := &payment{ID: newID("wp-"), ClientID: c.client.ID, Key: key, Fingerprint: lreq.Fingerprint(), ConsentID: c.consent.ID,
		AccountID: ca.AccountID, ObAccountID: ca.ObID, Amount: amount, Reference: in.Reference, Status: stPending,
		Created: now, Updated: now}
	p, how, err := s.claimPayment(ctx, p)
	if err != nil {
		return err
	}
	if how != claimDone {
		res, err := s.bank.Ledger.Do(ctx, lreq)
		if err != nil {
			if definite(err) {
				s.bank.DB.ExecContext(context.WithoutCancel(ctx), `DELETE FROM ob_payments WHERE id = $1 AND status = $2`, p.ID, stPending)
			}
			return err
		}
		if _, err := s.bank.DB.ExecContext(ctx, `UPDATE ob_payments SET status = $1, txn_id = $2, updated_at = $3 WHERE id = $4`,
			stCompleted, res.TxnID, s.bank.Now().UnixMicro(), p.ID); err != nil {
			return err
		}
		p.Status, p.TxnID = stCompleted, res.TxnID
	}
	self := s.absolute(r, s.pisp()+"/wallet-payments/"+url.PathEscape(p.ID))
	w.Header().Set("Location", self)
	writeJSON(w, http.StatusCreated, paymentResponse{Data: s.paymentData(p, nil, false), Links: links{Self: self}, Meta: meta{TotalPages: 1}})
	return nil
}

// definite reports whether a ledger error means nothing was written (so
// the claim can be dropped and the key tried again): a refusal by the
// rules. A lost outcome (deadline, store failure) is not definite.
func definite(err error) bool {
	switch katong.ErrorCode(err) {
	case katong.EInsufficient, katong.EAbnormal, katong.EClosed, katong.EInvalid, katong.ENotFound, katong.EKeyReused:
		return true
	}
	return false
}

// claimPayment inserts the payment's claim, or finds the earlier one of
// the same key: another body is EKeyReused (422), one in flight is
// EConflict (409), a completed one is replayed, and a dead one (older
// than claimTTL) is taken over.
func (s *Server) claimPayment(ctx context.Context, p *payment) (*payment, claim, error) {
	db := s.bank.DB
	res, err := db.ExecContext(ctx, `INSERT INTO ob_payments (`+paymentCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (client_id, idem_key) DO NOTHING`,
		p.ID, p.ClientID, p.Key, p.Fingerprint, p.ConsentID, p.AccountID, p.ObAccountID, p.Amount, p.Refunded,
		p.Reference, p.Status, p.TxnID, p.Created, p.Updated)
	if err != nil {
		return nil, 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, 0, err
	} else if n == 1 {
		return p, claimNew, nil
	}
	old, err := scanPayment(db.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM ob_payments WHERE client_id = $1 AND idem_key = $2`,
		p.ClientID, p.Key))
	if err != nil {
		return nil, 0, err
	}
	how, err := s.earlierClaim(ctx, "ob_payments", "payment", old.Fingerprint == p.Fingerprint, old.Status, old.ID, old.Updated)
	if err != nil {
		return nil, 0, err
	}
	return old, how, nil
}

// earlierClaim answers a request whose key a row of table already claims:
// the same request replays a completed row or takes over a stale claim;
// while the claim is fresh it is in flight (EConflict); another request
// with the key is refused (EKeyReused).
func (s *Server) earlierClaim(ctx context.Context, table, what string, same bool, status, id string, updated int64) (claim, error) {
	if !same {
		return 0, katong.Errorf(katong.EKeyReused, "x-idempotency-key was used for another %s", what)
	}
	if status == stCompleted {
		return claimDone, nil
	}
	ok, err := s.takeOver(ctx, table, id, updated)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, katong.Errorf(katong.EConflict, "a %s with this x-idempotency-key is in flight", what)
	}
	return claimTakeOver, nil
}

// takeOver claims a pending row whose claim is older than claimTTL.
func (s *Server) takeOver(ctx context.Context, table, id string, updated int64) (bool, error) {
	now := s.bank.Now()
	if now.UnixMicro()-updated < claimTTL.Microseconds() {
		return false, nil
	}
	res, err := s.bank.DB.ExecContext(ctx, `UPDATE `+table+` SET updated_at = $1 WHERE id = $2 AND status = $3 AND updated_at = $4`,
		now.UnixMicro(), id, stPending, updated)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Server) paymentData(p *payment, refunds []*refund, full bool) paymentData {
	amt, _ := amountOf(p.Amount)
	d := paymentData{WalletPaymentID: p.ID, AccountID: p.ObAccountID, Status: wireStatus(p.Status), InstructedAmount: amt,
		Reference: p.Reference, CreationDateTime: obTime(p.Created)}
	if full {
		ra, _ := amountOf(p.Refunded)
		d.RefundedAmount = &ra
		d.Refunds = []refundData{}
		for _, f := range refunds {
			d.Refunds = append(d.Refunds, refundBody(f))
		}
	}
	return d
}

func refundBody(f *refund) refundData {
	amt, _ := amountOf(f.Amount)
	return refundData{WalletRefundID: f.ID, WalletPaymentID: f.PaymentID, Status: wireStatus(f.Status), Amount: amt,
		Reference: f.Reference, CreationDateTime: obTime(f.Created)}
}

// ownPayment returns the client's payment of the path; another client's
// is unknown (400 U011), as a missing one is.
func (s *Server) ownPayment(ctx context.Context, c *caller, id string) (*payment, error) {
	p, err := scanPayment(s.bank.DB.Row(ctx, `SELECT `+paymentCols+` FROM ob_payments WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	if p.ClientID != c.client.ID {
		return nil, obErr(cUnknownID, "WalletPaymentId", "no such payment")
	}
	if c.consent != nil && p.ConsentID != c.consent.ID {
		if _, err := s.accountIn(ctx, c.consent, p.ObAccountID); err != nil {
			return nil, obErr(cOutsideConsent, "WalletPaymentId", "the payment's account is not in the consent")
		}
	}
	return p, nil
}

func (s *Server) handleGetPayment(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	if !c.client.Payments {
		return obErr(katong.EForbidden, "", "this client may not make wallet payments")
	}
	p, err := s.ownPayment(ctx, c, r.PathValue("WalletPaymentId"))
	if err != nil {
		return err
	}
	refunds, err := sqlstore.All(ctx, s.bank.DB, scanRefund,
		`SELECT `+refundCols+` FROM ob_refunds WHERE payment_id = $1 ORDER BY created_at, id`, p.ID)
	if err != nil {
		return err
	}
	self := s.absolute(r, s.pisp()+"/wallet-payments/"+url.PathEscape(p.ID))
	writeJSON(w, http.StatusOK, paymentResponse{Data: s.paymentData(p, refunds, true), Links: links{Self: self}, Meta: meta{TotalPages: 1}})
	return nil
}

// errRefundTooLarge is the answer to a refund beyond what is left of the
// payment.
var errRefundTooLarge = obErr(katong.EInvalid, "Data.Amount.Amount", "the refund is more than what is left of the payment")

// handleRefund refunds part or all of a payment to its account. What is
// refunded is reserved on the payment row with a conditional UPDATE in the
// same transaction as the refund's claim, so concurrent refunds can never
// exceed the payment; a refund the ledger refuses gives its reservation
// back.
func (s *Server) handleRefund(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	key, in, err := writeRequest[refundInput](w, r, c)
	if err != nil {
		return err
	}
	amount, err := money(in.Amount, "Data.Amount")
	if err != nil {
		return err
	}
	if err := checkReference(in.Reference, "Data.Reference"); err != nil {
		return err
	}
	p, err := s.ownPayment(ctx, c, r.PathValue("WalletPaymentId"))
	if err != nil {
		return err
	}
	if p.Status != stCompleted {
		return katong.Errorf(katong.EConflict, "the payment is still in flight")
	}
	lreq := ledger.Request{Client: "ob:" + c.client.ID, Key: key, Kind: katong.TxnRefund, To: p.AccountID,
		Amount: amount, Memo: in.Reference}
	sum := sha256.Sum256([]byte(p.ID + "\x00" + lreq.Fingerprint()))
	now := s.bank.Now().UnixMicro()
	f := &refund{ID: newID("wr-"), PaymentID: p.ID, ClientID: c.client.ID, Key: key, Fingerprint: hex.EncodeToString(sum[:]),
		Amount: amount, Reference: in.Reference, Status: stPending, Created: now, Updated: now}
	f, how, err := s.claimRefund(ctx, f)
	if err != nil {
		return err
	}
	if how != claimDone {
		res, err := s.bank.Ledger.Do(ctx, lreq)
		if err != nil {
			if definite(err) {
				if uerr := s.unreserve(context.WithoutCancel(ctx), f); uerr != nil {
					s.log.Error("refund: give back reservation", "refund", f.ID, "err", uerr)
				}
			}
			return err
		}
		if _, err := s.bank.DB.ExecContext(ctx, `UPDATE ob_refunds SET status = $1, txn_id = $2, updated_at = $3 WHERE id = $4`,
			stCompleted, res.TxnID, s.bank.Now().UnixMicro(), f.ID); err != nil {
			return err
		}
		f.Status, f.TxnID = stCompleted, res.TxnID
	}
	self := s.absolute(r, s.pisp()+"/wallet-payments/"+url.PathEscape(p.ID))
	writeJSON(w, http.StatusCreated, refundResponse{Data: refundBody(f), Links: links{Self: self}, Meta: meta{TotalPages: 1}})
	return nil
}

// claimRefund inserts the refund's claim and reserves its amount on the
// payment in one transaction; or finds the earlier claim of the key, as
// claimPayment does (no second reservation).
func (s *Server) claimRefund(ctx context.Context, f *refund) (*refund, claim, error) {
	fresh := false
	err := s.bank.DB.Tx(ctx, func(tx *sql.Tx) error {
		fresh = false
		res, err := tx.ExecContext(ctx, `INSERT INTO ob_refunds (`+refundCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (client_id, idem_key) DO NOTHING`,
			f.ID, f.PaymentID, f.ClientID, f.Key, f.Fingerprint, f.Amount, f.Reference, f.Status, f.TxnID, f.Created, f.Updated)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE ob_payments SET refunded = refunded + $1, updated_at = $2
			WHERE id = $3 AND status = $4 AND refunded + $1 <= amount`, f.Amount, f.Updated, f.PaymentID, stCompleted)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errRefundTooLarge
		}
		fresh = true
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if fresh {
		return f, claimNew, nil
	}
	old, err := scanRefund(s.bank.DB.Row(ctx, `SELECT `+refundCols+` FROM ob_refunds WHERE client_id = $1 AND idem_key = $2`,
		f.ClientID, f.Key))
	if err != nil {
		return nil, 0, err
	}
	how, err := s.earlierClaim(ctx, "ob_refunds", "refund", old.Fingerprint == f.Fingerprint, old.Status, old.ID, old.Updated)
	if err != nil {
		return nil, 0, err
	}
	return old, how, nil
}

// unreserve drops a refund's claim that the ledger refused and gives its
// amount back to the payment, once.
func (s *Server) unreserve(ctx context.Context, f *refund) error {
	return s.bank.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ob_refunds WHERE id = $1 AND status = $2`, f.ID, stPending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE ob_payments SET refunded = refunded - $1 WHERE id = $2`, f.Amount, f.PaymentID)
		return err
	})
}
