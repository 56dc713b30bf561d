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
// allowed to see. It applies the channel's per-card limit (ERateLimited),
// refuses a frozen or closed account (EAbnormal), never changes a balance,
// and writes an audit record whatever the result.
func (b *Bank) Balance(ctx context.Context, q Query) (*katong.Balance, error) {
	bal, err := b.balance(ctx, q)
	result := "ok"
	if err != nil {
		result = string(katong.ErrorCode(err))
	}
	if aerr := b.Auth.Audit(ctx, auth.Record{Channel: q.Channel, Actor: q.Actor, Action: "balance",
		Card: q.Card.Masked, Result: result, Detail: q.Detail}); aerr != nil && err == nil {
		return nil, aerr
	}
	return bal, err
}

func (b *Bank) balance(ctx context.Context, q Query) (*katong.Balance, error) {
	if err := b.Auth.Limit(ctx, "balance:"+string(q.Channel)+":"+itoa(q.Card.ID), b.Limit(q.Channel)); err != nil {
		return nil, err
	}
	a, err := b.DB.Ledger().Account(ctx, q.Card.AccountID)
	if err != nil {
		return nil, err
	}
	if err := Usable(a); err != nil {
		return nil, err
	}
	return &katong.Balance{AccountID: a.ID, Available: a.Available(), Booked: a.Booked, AsOf: b.Now()}, nil
}

// Usable reports EAbnormal for a frozen or closed account: no balance is
// shown for it on any channel.
func Usable(a *katong.Account) error {
	if a.Status != katong.StatusActive {
		return &katong.Error{Code: katong.EAbnormal, Message: "account " + string(a.Status) + ": " + a.FreezeReason}
	}
	return nil
}
