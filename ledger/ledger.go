// Package ledger holds the rules of the bank's double-entry ledger, written
// once: every transaction's postings sum to zero, no customer account goes
// below zero available, frozen accounts refuse debits, holds separate
// available from booked, and every write is idempotent per client and key.
// Stores only persist: they implement Store and Tx, and the conformance
// suite in storetest runs these rules against each of them.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"katong"
)

// Request is one write to the ledger. Which fields matter depends on Kind:
//
//	deposit, salary, refund: To (credited), Amount
//	withdrawal, wallet_payment, fee: From (debited), Amount
//	transfer: From, To, Amount (both customer accounts of the bank)
//	hold: From, Amount; capture, release: HoldID
//
// The bank's own account on the other side is chosen by the ledger.
type Request struct {
	Client string           `json:"client"` // idempotency scope: who asks
	Key    string           `json:"key"`    // idempotency key, unique per client
	Kind   katong.TxnKind   `json:"kind"`
	From   katong.AccountID `json:"from,omitempty"`
	To     katong.AccountID `json:"to,omitempty"`
	Amount katong.Amount    `json:"amount,omitempty"`
	HoldID int64            `json:"hold_id,omitempty"`
	Memo   string           `json:"memo,omitempty"`
}

// Fingerprint is a digest of everything in the request but its key: a
// retry with the same key must have the same fingerprint.
func (r *Request) Fingerprint() string {
	c := *r
	c.Key = ""
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Result is what a write did. A retry with the same key gets the same
// Result back, with Replayed set.
type Result struct {
	TxnID    int64                              `json:"txn_id,omitempty"`
	HoldID   int64                              `json:"hold_id,omitempty"`
	Kind     katong.TxnKind                     `json:"kind"`
	Amount   katong.Amount                      `json:"amount"`
	At       time.Time                          `json:"at"`
	Balances map[katong.AccountID]katong.Amount `json:"balances,omitempty"` // booked after, per customer account touched
	Replayed bool                               `json:"-"`
}

// Posting moves Amount into (Amount > 0) or out of (Amount < 0) an account.
type Posting struct {
	AccountID katong.AccountID
	Amount    katong.Amount
}

// Txn is a transaction ready to be written.
type Txn struct {
	Kind     katong.TxnKind
	Client   string
	Key      string
	Memo     string
	At       time.Time
	Postings []Posting
}

// Record is a stored idempotency record.
type Record struct {
	Fingerprint string
	Result      Result
}

// Store is what a ledger store provides.
type Store interface {
	// Write runs fn in one write transaction: all of fn's changes commit
	// together or none do. PostgreSQL stores retry fn on serialisation
	// failures and deadlocks, so fn must not have other side effects.
	Write(ctx context.Context, fn func(Tx) error) error

	// System returns the id of the bank's own account of the kind.
	System(ctx context.Context, kind katong.AccountKind) (katong.AccountID, error)
	// Account returns an account. Returns ENotFound if there is none.
	Account(ctx context.Context, id katong.AccountID) (*katong.Account, error)
	// Accounts returns every account, by id (for checks and reports).
	Accounts(ctx context.Context) ([]*katong.Account, error)
	// Entries returns a page of the account's entries, newest first.
	Entries(ctx context.Context, id katong.AccountID, f katong.EntryFilter) ([]katong.Entry, error)
	// Holds returns the account's active holds, newest first.
	Holds(ctx context.Context, id katong.AccountID) ([]katong.Hold, error)
	// Receipt returns the idempotency record of a client's key, or nil.
	Receipt(ctx context.Context, client, key string) (*Record, error)
	// SetStatus freezes, unfreezes or closes an account.
	SetStatus(ctx context.Context, id katong.AccountID, st katong.AccountStatus, reason string) error
}

// Tx is one write transaction of a store.
type Tx interface {
	// Account reads an account for update (PostgreSQL locks its row).
	// Returns ENotFound if there is none.
	Account(ctx context.Context, id katong.AccountID) (*katong.Account, error)
	// Accounts reads (and on PostgreSQL locks) the accounts with the ids,
	// which are sorted, in a few queries; missing ones are left out.
	Accounts(ctx context.Context, ids []katong.AccountID) ([]*katong.Account, error)
	// Prefetch reads the idempotency records of the (client, key) pairs
	// ahead, so that Record needs no round trip.
	Prefetch(ctx context.Context, keys [][2]string) error
	// Hold reads a hold for update. Returns ENotFound if there is none.
	Hold(ctx context.Context, id int64) (*katong.Hold, error)
	// Record returns the idempotency record of a client's key, or nil.
	Record(ctx context.Context, client, key string) (*Record, error)
	// Insert writes a transaction: its entries with running balances, the
	// new booked balances of its accounts, and returns its id.
	Insert(ctx context.Context, t *Txn, after map[katong.AccountID]katong.Amount) (int64, error)
	// PutHold inserts (ID 0, returning the new id) or updates a hold and
	// sets the account's held total.
	PutHold(ctx context.Context, h *katong.Hold, held katong.Amount) (int64, error)
	// PutRecord stores an idempotency record.
	PutRecord(ctx context.Context, client, key string, r *Record) error
}
