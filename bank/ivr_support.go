package bank

import (
	"context"

	"katong"
	"katong/auth"
)

// AuditCardCheck records a balance inquiry that ended at the card check
// (result ENotFound: the card and secret do not match, or the card is
// locked), so that every inquiry on a channel leaves an audit record, also
// those that never reach Balance. The card number is recorded masked.
func (b *Bank) AuditCardCheck(ctx context.Context, ch katong.Channel, actor, pan, detail string, result katong.Code) error {
	return b.Auth.Audit(ctx, auth.Record{Channel: ch, Actor: actor, Action: "balance", Card: katong.MaskCard(pan),
		Result: string(result), Detail: detail})
}
