package bank

import (
	"context"
	"database/sql"

	"katong"
	"katong/ledger"
)

// Synthetic is a customer with one account and card, for load tests.
type Synthetic struct {
	Name     string
	Mobile   string // E.164, already valid
	IDNumber string // already valid
	PAN      string // already valid, of this bank
}

// BulkOpen creates the customers, each with one account and card, in one
// transaction, and returns the account ids. It skips the per-customer
// checks of CreateCustomer and IssueCard (the numbers come from a
// generator that makes only valid ones) and sets no password.
func (b *Bank) BulkOpen(ctx context.Context, people []Synthetic) ([]katong.AccountID, error) {
	ids := make([]katong.AccountID, 0, len(people))
	now := b.Now().UnixMicro()
	err := b.DB.Tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		for _, p := range people {
			var c katong.CustomerID
			var a katong.AccountID
			if err := tx.QueryRowContext(ctx, `INSERT INTO customers (name, mobile, id_hmac, id_sealed, id_masked, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, p.Name, p.Mobile, b.Vault.Lookup("id", p.IDNumber),
				b.Vault.Seal("id", p.IDNumber), katong.MaskID(p.IDNumber), now).Scan(&c); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `INSERT INTO accounts (kind, customer_id, name, opened_at, updated_at)
				VALUES ('customer', $1, '活期储蓄', $2, $2) RETURNING id`, c, now).Scan(&a); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cards (account_id, customer_id, pan_hmac, pan_sealed, tail, masked, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, a, c, b.Vault.Lookup("pan", p.PAN), b.Vault.Seal("pan", p.PAN),
				katong.Tail(p.PAN), katong.MaskCard(p.PAN), now); err != nil {
				return err
			}
			ids = append(ids, a)
		}
		return nil
	})
	return ids, err
}

// Fund deposits amt on each account through the ledger, concurrently so
// that the deposits share commits.
func (b *Bank) Fund(ctx context.Context, client string, ids []katong.AccountID, amt katong.Amount) error {
	errc := make(chan error, len(ids))
	sem := make(chan struct{}, 64)
	for _, id := range ids {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := b.Ledger.Do(ctx, ledger.Request{Client: client, Key: "fund-" + itoa(id), Kind: katong.TxnDeposit,
				To: id, Amount: amt, Memo: "opening deposit"})
			errc <- err
		}()
	}
	var first error
	for range ids {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
