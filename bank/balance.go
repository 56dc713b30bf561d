package bank

import (
	"context"
	"time"

	"katong"
	"katong/auth"
)

// Session policies.
var (
	// CustomerSessions: the bank app and the Open Banking consent pages.
	CustomerSessions = auth.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	// StaffSessions: the teller console (S7: 15 minutes idle).
	StaffSessions = auth.SessionPolicy{Idle: 15 * time.Minute, Absolute: 10 * time.Hour}
)

// Query is a balance query from a channel.
type Query struct {
	Channel katong.Channel
	Actor   string // who asks, for the audit log (no card or ID number)
	Detail  string // teller and branch, caller number (masked), client id
	Card    *katong.Card
	// Account is the card's account if the caller has just read it in
	// this request (to check who owns it); nil makes Balance read it.
	Account *katong.Account
}

// Limit returns the bank's per-card rate for the channel.
func (b *Bank) Limit(ch katong.Channel) katong.Rate {
	switch ch {
	case katong.ChannelApp:
		return b.Config.Limits.App
	case katong.ChannelWallet:
		return b.Config.Limits.Wallet
	case katong.ChannelPhone:
		return b.Config.Limits.Phone
	case katong.ChannelCounter:
		return b.Config.Limits.Counter
	}
	return katong.Rate{}
}

// Balance answers a balance query on a card the caller has already been
// allowed to see (Check, as "balance").
func (b *Bank) Balance(ctx context.Context, q Query) (*katong.Balance, error) {
	a, err := b.Check(ctx, q, "balance")
	if err != nil {
		return nil, err
	}
	return &katong.Balance{AccountID: a.ID, Available: a.Available(), Booked: a.Booked, AsOf: b.Now()}, nil
}

// Check is what every query on a card's account goes through before it
// is answered (a balance, the transaction records over Open Banking): it
// applies the channel's per-card limit for the action (ERateLimited),
// refuses a frozen or closed account (EAbnormal), never changes a
// balance, and writes an audit record whatever the result. It returns the
// account. The limit is decided at once; its count and the audit record
// are queued and written within auth.UseLinger, without waiting for the
// disk (auth.Service.Use; docs/architecture.md, "What is written how").
func (b *Bank) Check(ctx context.Context, q Query, action string) (*katong.Account, error) {
	a, err := q.Account, error(nil)
	if a == nil || a.ID != q.Card.AccountID {
		a, err = b.DB.Ledger().Account(ctx, q.Card.AccountID)
	}
	if err == nil {
		err = Usable(a)
	}
	limited, werr := b.Auth.Use(ctx, auth.Use{Key: action + ":" + string(q.Channel) + ":" + itoa(q.Card.ID),
		Rate: b.Limit(q.Channel), Outcome: err, Record: auth.Record{Channel: q.Channel, Actor: q.Actor,
			Action: action, Card: q.Card.Masked, Detail: q.Detail}})
	switch {
	case werr != nil:
		return nil, werr
	case limited != nil:
		return nil, limited
	case err != nil:
		return nil, err
	}
	return a, nil
}

// Usable reports EAbnormal for a frozen or closed account: no balance is
// shown for it on any channel.
func Usable(a *katong.Account) error {
	if a.Status != katong.StatusActive {
		return &katong.Error{Code: katong.EAbnormal, Message: "account " + string(a.Status) + ": " + a.FreezeReason}
	}
	return nil
}

// AuditCardCheck records a balance inquiry that ended at the card check
// (result ENotFound: the card and secret do not match, or the card is
// locked), so that every inquiry on a channel leaves an audit record, also
// those that never reach Balance. The card number is recorded masked.
func (b *Bank) AuditCardCheck(ctx context.Context, ch katong.Channel, actor, pan, detail string, result katong.Code) error {
	return b.Auth.Audit(ctx, auth.Record{Channel: ch, Actor: actor, Action: "balance", Card: katong.MaskCard(pan),
		Result: string(result), Detail: detail})
}
