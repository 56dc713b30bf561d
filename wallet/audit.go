package wallet

import (
	"context"
	"fmt"

	"katong"
	"katong/auth"
)

// audit records what a user did and waits for the record's commit (the
// auth service shares commits between concurrent records). A failure to
// record is logged, not shown (the bank keeps its own record of every
// balance query it answers).
func (w *Wallet) audit(ctx context.Context, user int64, action, card, result string) {
	err := w.auth.Audit(ctx, auth.Record{At: w.cfg.Now(), Channel: katong.ChannelWallet,
		Actor: fmt.Sprintf("wallet_user:%d", user), Action: action, Card: card, Result: result})
	if err != nil {
		w.log.Error("wallet audit", "action", action, "err", err)
	}
}
