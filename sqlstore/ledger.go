package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"katong"
	"katong/ledger"
)

// Ledger is the ledger.Store of a bank database.
type Ledger struct{ db *DB }

var _ ledger.Store = (*Ledger)(nil)

// Ledger returns the database's ledger store.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

const accountCols = `id, kind, customer_id, name, status, freeze_reason, booked, held, opened_at, updated_at`

type scanner = Scanner

func scanAccount(s scanner) (*katong.Account, error) {
	// Plain types: database/sql converts into named ones by reflection.
	var id, customer, booked, held, opened, updated int64
	var kind, status string
	a := &katong.Account{}
	if err := s.Scan(&id, &kind, &customer, &a.Name, &status, &a.FreezeReason,
		&booked, &held, &opened, &updated); err != nil {
		return nil, err
	}
	a.ID, a.Kind, a.CustomerID, a.Status = katong.AccountID(id), katong.AccountKind(kind), katong.CustomerID(customer), katong.AccountStatus(status)
	a.Booked, a.Held = katong.Amount(booked), katong.Amount(held)
	a.OpenedAt, a.UpdatedAt = fromMicros(opened), fromMicros(updated)
	return a, nil
}

// WriteConcurrency is how many ledger batches should commit at once.
func (l *Ledger) WriteConcurrency() int { return max(1, l.db.Dialect.Writers) }

// Write implements ledger.Store.
func (l *Ledger) Write(ctx context.Context, fn func(ledger.Tx) error) error {
	var changed []katong.AccountID
	defer func() {
		// Whatever the outcome (a failed commit may have committed),
		// the rows it may have changed are read afresh.
		for _, id := range changed {
			l.db.accountCache.Drop(id)
		}
	}()
	return l.db.Tx(ctx, func(tx *sql.Tx) error {
		t := &ledgerTx{tx: tx, db: l.db, now: micros(l.db.Now())}
		defer func() {
			for id := range t.dirty {
				changed = append(changed, id)
			}
		}()
		if err := fn(t); err != nil {
			return err
		}
		return t.flush(ctx)
	})
}

// System implements ledger.Store.
func (l *Ledger) System(ctx context.Context, kind katong.AccountKind) (katong.AccountID, error) {
	var id katong.AccountID
	err := l.db.Row(ctx, `SELECT id FROM accounts WHERE kind = $1 ORDER BY id LIMIT 1`, kind).Scan(&id)
	if err != nil {
		return 0, notFound(err, "no %s account", kind)
	}
	return id, nil
}

// Account implements ledger.Store.
func (l *Ledger) Account(ctx context.Context, id katong.AccountID) (*katong.Account, error) {
	read := func() (*katong.Account, error) {
		a, err := scanAccount(l.db.Row(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
		if err != nil {
			return nil, notFound(err, "no account %d", id)
		}
		return a, nil
	}
	if !l.db.Owned {
		return read()
	}
	a, err := l.db.accountCache.Load(id, l.db.Now(), read)
	if err != nil {
		return nil, err
	}
	c := *a // callers may change their copy
	return &c, nil
}

// Accounts implements ledger.Store.
func (l *Ledger) Accounts(ctx context.Context) ([]*katong.Account, error) {
	return All(ctx, l.db, scanAccount, `SELECT `+accountCols+` FROM accounts ORDER BY id`)
}

// OpenAccount creates an account with a zero balance.
func (l *Ledger) OpenAccount(ctx context.Context, kind katong.AccountKind, customer katong.CustomerID, name string) (katong.AccountID, error) {
	var id katong.AccountID
	now := micros(l.db.Now())
	err := l.db.QueryRowContext(ctx, `INSERT INTO accounts (kind, customer_id, name, opened_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) RETURNING id`, kind, customer, name, now).Scan(&id)
	return id, err
}

// EnsureSystem opens the bank's own accounts that do not exist yet.
func (l *Ledger) EnsureSystem(ctx context.Context) error {
	for _, k := range []katong.AccountKind{katong.KindCash, katong.KindSettlement, katong.KindFees, katong.KindClearing} {
		if _, err := l.System(ctx, k); katong.ErrorCode(err) == katong.ENotFound {
			if _, err := l.OpenAccount(ctx, k, 0, string(k)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Entries implements ledger.Store.
func (l *Ledger) Entries(ctx context.Context, id katong.AccountID, f katong.EntryFilter) ([]katong.Entry, error) {
	q := `SELECT e.id, e.txn_id, e.account_id, t.kind, e.amount, e.balance_after, t.memo, e.created_at
		FROM entries e JOIN txns t ON t.id = e.txn_id WHERE e.account_id = $1`
	args := []any{id}
	if f.Before > 0 {
		args = append(args, f.Before)
		q += fmt.Sprintf(" AND e.id < $%d", len(args))
	}
	if f.From != nil {
		args = append(args, micros(*f.From))
		q += fmt.Sprintf(" AND e.created_at >= $%d", len(args))
	}
	if f.To != nil {
		args = append(args, micros(*f.To))
		q += fmt.Sprintf(" AND e.created_at < $%d", len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	} else if limit > 1000 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY e.id DESC LIMIT %d", limit)
	return All(ctx, l.db, func(r Scanner) (katong.Entry, error) {
		var e katong.Entry
		var at int64
		err := r.Scan(&e.ID, &e.TxnID, &e.AccountID, &e.Kind, &e.Amount, &e.BalanceAfter, &e.Memo, &at)
		e.At = fromMicros(at)
		return e, err
	}, q, args...)
}

// Holds implements ledger.Store.
func (l *Ledger) Holds(ctx context.Context, id katong.AccountID) ([]katong.Hold, error) {
	return All(ctx, l.db, func(r Scanner) (katong.Hold, error) {
		var h katong.Hold
		var at int64
		err := r.Scan(&h.ID, &h.AccountID, &h.Amount, &h.Status, &h.Memo, &at)
		h.At = fromMicros(at)
		return h, err
	}, `SELECT id, account_id, amount, status, memo, created_at FROM holds
		WHERE account_id = $1 AND status = 'active' ORDER BY id DESC`, id)
}

// Receipt implements ledger.Store.
func (l *Ledger) Receipt(ctx context.Context, client, key string) (*ledger.Record, error) {
	return record(ctx, rowFunc(l.db.Row), client, key)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// rowFunc makes a function a querier.
type rowFunc func(ctx context.Context, q string, args ...any) *sql.Row

func (f rowFunc) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return f(ctx, q, args...)
}

func record(ctx context.Context, q querier, client, key string) (*ledger.Record, error) {
	var r ledger.Record
	var res string
	err := q.QueryRowContext(ctx, recordSQL, client, key).Scan(&r.Fingerprint, &res)
	if err == sql.ErrNoRows {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(res), &r.Result); err != nil {
		return nil, fmt.Errorf("idempotency record %q: %w", key, err)
	}
	return &r, nil
}

// KeyTTL is how long an idempotency key is remembered (S13): a retry with
// the same key within it replays the first answer; after it, the key is
// forgotten.
const KeyTTL = 30 * 24 * time.Hour

// PurgeKeys forgets idempotency records older than KeyTTL, 1,000 at a
// time, and returns how many it removed.
func (l *Ledger) PurgeKeys(ctx context.Context) (int64, error) {
	cut := micros(l.db.Now().Add(-KeyTTL))
	var total int64
	for {
		res, err := l.db.ExecContext(ctx, `DELETE FROM idempotency WHERE (client, idem_key) IN
			(SELECT client, idem_key FROM idempotency WHERE created_at < $1 LIMIT 1000)`, cut)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// SetStatus implements ledger.Store.
func (l *Ledger) SetStatus(ctx context.Context, id katong.AccountID, st katong.AccountStatus, reason string) error {
	res, err := l.db.ExecContext(ctx, `UPDATE accounts SET status = $1, freeze_reason = $2, updated_at = $3
		WHERE id = $4 AND kind = 'customer' AND status <> 'closed'`, st, reason, micros(l.db.Now()), id)
	l.db.accountCache.Drop(id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return katong.Errorf(katong.ENotFound, "no open customer account %d", id)
	}
	return nil
}
