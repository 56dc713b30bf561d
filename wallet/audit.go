package wallet

import (
	"context"
	"fmt"

	"katong"
	"katong/auth"
)

// audit records what a user did and its outcome ("ok" for nil, else the
// error's code), the way the bank records its queries (auth.Service.Use:
// in batches, without waiting for the commit): a killed process can lose
// the records of its last few milliseconds.
func (w *Wallet) audit(ctx context.Context, user int64, action, card string, outcome error) {
	w.auth.Use(ctx, auth.Use{Outcome: outcome, Record: auth.Record{At: w.cfg.Now(), Channel: katong.ChannelWallet,
		Actor: fmt.Sprintf("wallet_user:%d", user), Action: action, Card: card}})
}
