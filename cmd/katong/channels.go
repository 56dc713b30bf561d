package main

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"time"

	"katong"
	"katong/bank"
	"katong/bankapp"
	"katong/demo"
	"katong/ivr"
	"katong/ivr/prompts"
	"katong/ivr/twiml"
	"katong/ledgerapi"
	"katong/openbanking"
	"katong/sip"
	"katong/sqlstore"
	"katong/teller"
	"katong/wallet"
)

// walletCallback is where banks send the customer back after a binding.
const walletCallback = "/wallet/bind/callback"

// registerBank adds one bank's channels to the mux.
func (s *server) registerBank(ctx context.Context, bc BankConfig, b *bank.Bank) error {
	bankapp.New(b, s.log).Register(s.mux)
	teller.New(b, s.log).Register(s.mux)
	var clients []openbanking.Client
	for _, c := range bc.Clients {
		uris := c.RedirectURIs
		if len(uris) == 0 {
			uris = []string{s.cfg.WalletURL + walletCallback}
		}
		clients = append(clients, openbanking.Client{ID: c.ID, Name: c.Name, Secret: c.Secret, RedirectURIs: uris, Payments: c.Payments})
	}
	ob := openbanking.New(b, clients, s.log)
	ob.Register(s.mux)
	s.purgers = append(s.purgers, ob.Purge)
	if bc.LedgerKey != "" {
		ledgerapi.New(b, bc.LedgerKey, s.log).Register(s.mux)
	}
	// The phone line: one engine per bank, reached by the TwiML webhook
	// and, when a SIP address is configured, by SIP calls.
	cfg := phoneConfig(b.Config, bc.Phone)
	if bc.TwiMLToken != "" {
		h := twiml.New(b, cfg, bc.TwiMLToken, s.log)
		if s.cfg.publicURLGiven {
			// Behind a proxy that ends TLS, the provider signs the
			// public https:// address, not the one this process sees.
			h.PublicURL = s.cfg.PublicURL
		}
		h.Register(s.mux)
		s.purgers = append(s.purgers, h.Purge)
	}
	s.lines = append(s.lines, sip.Line{Bank: b.Config.ID, IVR: ivr.New(cfg, b, func() time.Time { return b.Now() })})
	return nil
}

// startSIP starts the SIP listener of every bank's line.
func (s *server) startSIP(ctx context.Context) error {
	if s.cfg.SIP.Addr == "" || len(s.lines) == 0 {
		return nil
	}
	set, err := prompts.Load(s.cfg.SIP.Prompts)
	if err != nil {
		return err
	}
	for i := range s.lines {
		s.lines[i].Prompts = set
	}
	srv, err := sip.New(sip.Config{Addr: s.cfg.SIP.Addr}, s.lines, s.log)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("sip %s: %w", s.cfg.SIP.Addr, err)
	}
	s.closers = append(s.closers, srv.Close)
	s.sipOn = true
	return nil
}

// registerWallet adds the wallet to the mux. It reaches each bank at the
// bank's configured URL, or at this process's public URL when the bank
// runs here too.
func (s *server) registerWallet(ctx context.Context, db *sqlstore.DB) error {
	cfg := wallet.Config{MinClientVersion: s.cfg.Wallet.MinClientVersion, Vault: s.vault,
		Deadline: time.Duration(s.cfg.Wallet.DeadlineMS) * time.Millisecond}
	for _, bc := range s.cfg.Banks {
		base := bc.URL
		if base == "" {
			base = s.cfg.PublicURL + "/banks/" + bc.ID
		}
		cfg.Banks = append(cfg.Banks, wallet.Partner{ID: katong.BankID(bc.ID), Name: bc.Name, NameEN: bc.NameEN,
			Colour: bc.Colour, Support: bc.Support, BINs: bc.BINs, BaseURL: base,
			ClientID: s.cfg.Wallet.ClientID, ClientSecret: s.cfg.Wallet.ClientSecret,
			RedirectURL: s.cfg.WalletURL + walletCallback})
	}
	w, err := wallet.New(cfg, db, s.log)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() error { w.Close(); return nil })
	w.Register(s.mux)
	if s.cfg.Demo {
		for _, u := range demo.Info().WalletUsers {
			// On a second start the users exist: a taken mobile is fine.
			if _, err := w.SignUp(ctx, u.Mobile, u.Password); err != nil && katong.AsError(err).Field != "mobile" {
				return fmt.Errorf("demo wallet user: %w", err)
			}
		}
	}
	return nil
}

// handleIndex is the front page: where every channel is.
func (s *server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Katong 卡通</title><body style="font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.6"><h1>Katong 卡通余额服务</h1><ul>`)
	if s.cfg.Role != "bank" {
		fmt.Fprint(w, `<li><a href="/wallet/">钱包 Wallet</a></li>`)
	}
	for _, b := range s.banks {
		id := html.EscapeString(string(b.Config.ID))
		fmt.Fprintf(w, `<li>%s %s: <a href="/banks/%s/app/">手机银行 Bank app</a> · <a href="/banks/%s/teller/">柜台 Teller</a> · <a href="/banks/%s/oauth/consents">授权管理 Consents</a></li>`,
			html.EscapeString(b.Config.Name), html.EscapeString(b.Config.NameEN), id, id, id)
	}
	fmt.Fprint(w, `</ul></body></html>`)
}

// phoneConfig is the bank's line: the defaults of its bank, then what its
// configuration says.
func phoneConfig(b katong.Bank, p PhoneConfig) ivr.Config {
	cfg := ivr.DefaultConfig(b)
	if p.Auth != "" {
		cfg.Auth = ivr.AuthMode(p.Auth)
	}
	cfg.Agent, cfg.NoEnglish, cfg.Liang = p.Agent, p.NoEnglish, !p.Er
	if len(p.Prompts) > 0 {
		words := maps.Clone(cfg.Prompts) // the bank's own welcome, unless reworded
		if words == nil {
			words = map[string]ivr.Text{}
		}
		maps.Copy(words, p.Prompts)
		cfg.Prompts = words
	}
	return cfg
}
