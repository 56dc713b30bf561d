package main

import (
	"context"
	"fmt"
	"net/http"

	"katong/bank"
	"katong/ledgerapi"
	"katong/sqlstore"
	"katong/teller"
)

// registerBank adds one bank's channels to the mux.
func (s *server) registerBank(ctx context.Context, bc BankConfig, b *bank.Bank) error {
	teller.New(b, s.log).Register(s.mux)
	if bc.LedgerKey != "" {
		ledgerapi.New(b, bc.LedgerKey, s.log).Register(s.mux)
	}
	return nil
}

// registerWallet adds the wallet to the mux.
func (s *server) registerWallet(ctx context.Context, db *sqlstore.DB) error {
	return nil
}

// handleIndex is the front page: where every channel is.
func (s *server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Katong 卡通</title><body style="font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem"><h1>Katong 卡通余额服务</h1><ul>`)
	if s.cfg.Role != "bank" {
		fmt.Fprint(w, `<li><a href="/wallet/">钱包 Wallet</a></li>`)
	}
	for _, b := range s.banks {
		id := string(b.Config.ID)
		fmt.Fprintf(w, `<li>%s %s: <a href="/banks/%s/app/">手机银行 Bank app</a> · <a href="/banks/%s/teller/">柜台 Teller</a></li>`,
			b.Config.Name, b.Config.NameEN, id, id)
	}
	fmt.Fprint(w, `</ul></body></html>`)
}
