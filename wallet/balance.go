package wallet

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Balance asks the card's issuing bank for its balance now. Nothing is
// stored or cached: every answer is the bank's, or an error. The card is
// returned whenever it is the user's, with the bank's error too. Returns
// ENotFound for a card that is not the user's or whose consent no longer
// covers it, EAbnormal for a frozen account, ERateLimited, and ENetwork
// when the bank cannot be reached in time.
func (w *Wallet) Balance(ctx context.Context, u *User, cardID int64) (*Card, *Balance, error) {
	b, err := w.bindingToRead(ctx, u, cardID)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Deadline)
	defer cancel()
	var bal *Balance
	err = w.withToken(ctx, b, func(tok string) (err error) {
		bal, err = b.p.link.balance(ctx, tok, b.accountID)
		return err
	})
	w.audit(ctx, u.ID, "balance", b.Masked, err)
	return &b.Card, bal, b.p.wrap(err)
}

// Records asks the card's bank for its recent records, newest first.
// Errors as for Balance.
func (w *Wallet) Records(ctx context.Context, u *User, cardID int64) ([]Record, error) {
	b, err := w.bindingToRead(ctx, u, cardID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Deadline)
	defer cancel()
	var recs []Record
	err = w.withToken(ctx, b, func(tok string) (err error) {
		recs, err = b.p.link.transactions(ctx, tok, b.accountID)
		return err
	})
	if err != nil {
		return nil, b.p.wrap(err)
	}
	// Newest first, stable: the bank's order among equals.
	slices.SortStableFunc(recs, func(a, b Record) int { return b.BookedAt.Compare(a.BookedAt) })
	return recs, nil
}

// withToken runs fn with the binding's access token. If the bank turns
// the token down, it is refreshed once and fn runs again; a refresh the
// bank refuses (the consent was revoked) is ENotFound.
func (w *Wallet) withToken(ctx context.Context, b *binding, fn func(token string) error) error {
	tok, err := w.token(ctx, b, "")
	if err != nil {
		return err
	}
	err = fn(tok)
	if !errors.Is(err, errTokenRejected) {
		return err
	}
	if tok, err = w.token(ctx, b, tok); err != nil {
		return err
	}
	return fn(tok)
}

// token returns a live access token of the binding: the stored one while
// it has not expired and is not the one the bank just rejected, otherwise
// a refreshed one, stored sealed. One refresh per binding at a time.
func (w *Wallet) token(ctx context.Context, b *binding, rejected string) (string, error) {
	v := w.cfg.Vault
	if rejected == "" && w.cfg.Now().Before(b.accessExpires) {
		return v.Open("access", b.accessSealed)
	}
	mu := &w.refreshMu[b.ID%int64(len(w.refreshMu))]
	mu.Lock()
	defer mu.Unlock()
	var exp int64
	if err := w.db.Row(ctx, `SELECT access_sealed, refresh_sealed, access_expires FROM bindings WHERE id = $1`,
		b.ID).Scan(&b.accessSealed, &b.refreshSealed, &exp); err != nil {
		return "", err
	}
	b.accessExpires = time.UnixMicro(exp)
	access, err := v.Open("access", b.accessSealed)
	if err != nil {
		return "", err
	}
	if now := w.cfg.Now(); now.Before(b.accessExpires) && access != rejected {
		return access, nil // refreshed by another request meanwhile
	}
	refresh, err := v.Open("refresh", b.refreshSealed)
	if err != nil {
		return "", err
	}
	t, err := b.p.link.refresh(ctx, refresh)
	if err != nil {
		return "", err
	}
	if t.RefreshToken != "" {
		refresh = t.RefreshToken
	}
	now := w.cfg.Now()
	b.accessSealed, b.refreshSealed, b.accessExpires = v.Seal("access", t.AccessToken), v.Seal("refresh", refresh), t.expires(now)
	_, err = w.db.ExecContext(context.WithoutCancel(ctx), `UPDATE bindings SET access_sealed = $1, refresh_sealed = $2,
		access_expires = $3 WHERE id = $4`, b.accessSealed, b.refreshSealed, b.accessExpires.UnixMicro(), b.ID)
	w.bindings.Drop(b.ID)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}
