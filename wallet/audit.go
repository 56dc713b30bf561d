package wallet

import (
	"context"
	"fmt"

	"katong"
	"katong/auth"
)

// audit records what a user did. It does not wait for the commit (the
// records of concurrent requests share one): the bank durably records
// every balance query and payment it answers, so a crash can lose at most
// the wallet's own copy of the last few. A failure is logged, not shown.
func (w *Wallet) audit(ctx context.Context, user int64, action, card, result string) {
	w.auth.AuditLater(auth.Record{At: w.cfg.Now(), Channel: katong.ChannelWallet,
		Actor: fmt.Sprintf("wallet_user:%d", user), Action: action, Card: card, Result: result},
		func(err error) { w.log.Error("wallet audit", "action", action, "err", err) })
}
