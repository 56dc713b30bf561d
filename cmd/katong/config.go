package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"katong"
	"katong/demo"
	"katong/ivr"
)

// Config is the whole configuration of a katong process. It is read, in
// order, from defaults, an optional JSON file (--config or KATONG_CONFIG),
// the environment (KATONG_*) and flags; later sources win.
type Config struct {
	Addr      string `json:"addr"`       // HTTP listen address
	Data      string `json:"data"`       // directory of the SQLite files
	Demo      bool   `json:"demo"`       // seed and use the demo world
	Role      string `json:"role"`       // all, bank or wallet
	BankID    string `json:"bank"`       // with role bank: which bank this process is
	MasterKey string `json:"master_key"` // hex, ≥ 32 bytes: seals card and ID numbers
	PublicURL string `json:"public_url"` // how browsers reach this process (default http://Addr)
	WalletURL string `json:"wallet_url"` // how browsers reach the wallet (default PublicURL): banks send customers back there
	LogLevel  string `json:"log_level"`  // debug, info, warn, error
	TLSCert   string `json:"tls_cert"`   // serve HTTPS with this certificate and key
	TLSKey    string `json:"tls_key"`

	Banks  []BankConfig `json:"banks"`
	Wallet WalletConfig `json:"wallet"`
	SIP    SIPConfig    `json:"sip"`

	// publicURLGiven is true when public_url was configured rather than
	// taken from Addr: then it is the address the outside world (a proxy,
	// the phone provider) uses.
	publicURLGiven bool
}

// BankConfig is one bank of the deployment.
type BankConfig struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	NameEN   string   `json:"name_en"`
	BINs     []string `json:"bins"`
	Support  string   `json:"support"`
	Colour   string   `json:"colour"`
	Postgres string   `json:"postgres"` // DSN; empty: SQLite file <data>/<id>.db
	// Per-card balance queries allowed per minute, per channel; 0 is unlimited.
	AppPerMinute    int `json:"app_per_minute"`
	WalletPerMinute int `json:"wallet_per_minute"`
	PhonePerMinute  int `json:"phone_per_minute"`
	// Open Banking clients (the wallet).
	Clients []ClientConfig `json:"clients"`
	// TwiMLToken verifies X-Twilio-Signature on the phone webhook; empty
	// keeps the webhook closed.
	TwiMLToken string `json:"twiml_token"`
	// Phone is the bank's phone line.
	Phone PhoneConfig `json:"phone"`
	// LedgerKey opens the back-office ledger API (/banks/{id}/ledger/v1/) to
	// whoever presents it as a bearer token; empty keeps the API closed.
	LedgerKey string `json:"ledger_key"`
	// URL is how the wallet reaches this bank (role wallet), e.g. https://galaxy.example/banks/galaxy.
	URL string `json:"url"`
}

// PhoneConfig is a bank's phone line: how callers prove the card, where
// 0 goes, and the wording.
type PhoneConfig struct {
	Auth      string `json:"auth"`       // "id", "pin" or "either" (default): what follows the card number
	Agent     string `json:"agent"`      // where 0 goes: a number (TwiML <Dial>) or a SIP URI (REFER); empty reads out the support number
	NoEnglish bool   `json:"no_english"` // no 9 (English) in the menu
	Er        bool   `json:"er"`         // read 2 as 二 before 千/万/亿 (default 两: 两万元)
	// Prompts replaces the words of prompts by clip name ("welcome",
	// "menu", …); record clips with the same names for SIP callers.
	Prompts map[string]ivr.Text `json:"prompts"`
}

// ClientConfig is an Open Banking client registered with a bank.
type ClientConfig struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Secret       string   `json:"secret"`
	RedirectURIs []string `json:"redirect_uris"`
	Payments     bool     `json:"payments"`
}

// WalletConfig is the wallet's part.
type WalletConfig struct {
	Postgres         string `json:"postgres"` // DSN; empty: SQLite file <data>/wallet.db
	MinClientVersion string `json:"min_client_version"`
	ClientID         string `json:"client_id"` // the wallet's client id at every bank
	ClientSecret     string `json:"client_secret"`
	DeadlineMS       int    `json:"deadline_ms"`
}

// SIPConfig is the phone line's SIP listener.
type SIPConfig struct {
	Addr    string `json:"addr"`    // UDP host:port; empty: no SIP listener
	Prompts string `json:"prompts"` // directory of recorded clips (zh/*.wav, en/*.wav) replacing the shipped ones
}

// Katong returns the domain configuration of the bank.
func (b BankConfig) Katong() katong.Bank {
	per := func(n int) katong.Rate { return katong.Rate{N: n, Per: time.Minute} }
	return katong.Bank{ID: katong.BankID(b.ID), Name: b.Name, NameEN: b.NameEN, BINs: b.BINs, Support: b.Support,
		Colour: b.Colour, Limits: katong.Limits{App: per(b.AppPerMinute), Wallet: per(b.WalletPerMinute), Phone: per(b.PhonePerMinute)}}
}

// demoConfig is the configuration of `serve --demo`: the demo banks, the
// wallet registered with both, public keys and tokens.
func demoConfig(c *Config) {
	c.MasterKey = demo.MasterKey
	urls := map[string]string{} // where the banks run, when they run apart (--role)
	for _, b := range c.Banks {
		urls[b.ID] = b.URL
	}
	c.Banks = nil
	for _, b := range demo.Banks() {
		c.Banks = append(c.Banks, BankConfig{ID: string(b.ID), URL: urls[string(b.ID)], Name: b.Name, NameEN: b.NameEN, BINs: b.BINs,
			Support: b.Support, Colour: b.Colour, AppPerMinute: b.Limits.App.N, WalletPerMinute: b.Limits.Wallet.N,
			PhonePerMinute: b.Limits.Phone.N, TwiMLToken: demo.TwiMLToken, LedgerKey: demo.LedgerKey,
			Clients: []ClientConfig{{ID: "katong-wallet", Name: "卡通钱包 Katong Wallet", Secret: "demo-wallet-secret",
				Payments: true}}})
	}
	c.Wallet.ClientID, c.Wallet.ClientSecret = "katong-wallet", "demo-wallet-secret"
	if c.Wallet.MinClientVersion == "" {
		c.Wallet.MinClientVersion = "3.0.0"
	}
	if c.SIP.Addr == "" {
		c.SIP.Addr = "127.0.0.1:5060"
	}
}

// parseServeFlags builds the configuration of `katong serve`.
func parseServeFlags(args []string, getenv func(string) string) (*Config, error) {
	c := &Config{Addr: "127.0.0.1:8080", Data: "katong-data", Role: "all", LogLevel: "info"}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	file := fs.String("config", getenv("KATONG_CONFIG"), "JSON configuration file")
	addr := fs.String("addr", "", "HTTP listen address (default 127.0.0.1:8080)")
	data := fs.String("data", "", "directory for the SQLite files (default ./katong-data)")
	demoFlag := fs.Bool("demo", false, "run the demo world: demo banks, customers, cards and history")
	role := fs.String("role", "", "all, bank or wallet")
	bankID := fs.String("bank", "", "with --role bank: the bank this process serves")
	sipAddr := fs.String("sip", "", "SIP listen address (UDP), e.g. 127.0.0.1:5060; \"off\" for none")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return nil, fmt.Errorf("config %s: %w", *file, err)
		}
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{{"KATONG_ADDR", &c.Addr}, {"KATONG_DATA", &c.Data}, {"KATONG_ROLE", &c.Role}, {"KATONG_BANK", &c.BankID},
		{"KATONG_MASTER_KEY", &c.MasterKey}, {"KATONG_PUBLIC_URL", &c.PublicURL}, {"KATONG_LOG_LEVEL", &c.LogLevel},
		{"KATONG_SIP", &c.SIP.Addr}} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}
	if getenv("KATONG_DEMO") == "1" {
		c.Demo = true
	}
	set := given(fs)
	if set["addr"] {
		c.Addr = *addr
	}
	if set["data"] {
		c.Data = *data
	}
	if set["demo"] {
		c.Demo = *demoFlag
	}
	if set["role"] {
		c.Role = *role
	}
	if set["bank"] {
		c.BankID = *bankID
	}
	if set["sip"] {
		c.SIP.Addr = *sipAddr
	}
	if c.Demo {
		sip := c.SIP.Addr
		demoConfig(c)
		if sip != "" {
			c.SIP.Addr = sip
		}
	}
	if c.SIP.Addr == "off" {
		c.SIP.Addr = ""
	}
	c.publicURLGiven = c.PublicURL != ""
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if v := getenv("KATONG_WALLET_URL"); v != "" {
		c.WalletURL = v
	}
	if c.WalletURL == "" {
		c.WalletURL = c.PublicURL
	}
	c.WalletURL = strings.TrimRight(c.WalletURL, "/")
	return c, c.validate()
}

func (c *Config) validate() error {
	switch c.Role {
	case "all", "wallet":
	case "bank":
		if c.bank(c.BankID) == nil {
			return fmt.Errorf("config: --role bank needs --bank naming a configured bank (have %s)", c.bankIDs())
		}
	default:
		return fmt.Errorf("config: role must be all, bank or wallet, not %q", c.Role)
	}
	if len(c.MasterKey) < 64 {
		return fmt.Errorf("config: master_key (KATONG_MASTER_KEY) must be at least 32 bytes of hex; use --demo for the demo")
	}
	if len(c.Banks) == 0 {
		return fmt.Errorf("config: no banks configured; use --demo or a --config file")
	}
	seen := map[string]bool{}
	for _, b := range c.Banks {
		// Apart, the wallet reaches a bank only at its url, and a bank
		// sends customers back to the wallet's address: neither can be
		// guessed from this process's own address.
		if c.Role == "wallet" && b.URL == "" {
			return fmt.Errorf("config: with --role wallet, bank %s needs its url (where the wallet reaches it)", b.ID)
		}
		if c.Role == "bank" && b.ID == c.BankID && c.WalletURL == c.PublicURL {
			for _, cl := range b.Clients {
				if len(cl.RedirectURIs) == 0 {
					return fmt.Errorf("config: with --role bank, client %s needs redirect_uris or wallet_url (where the wallet runs)", cl.ID)
				}
			}
		}
		if b.ID == "" || strings.ContainsAny(b.ID, "/ ?#") || seen[b.ID] {
			return fmt.Errorf("config: bank id %q is empty, repeated or not URL-safe", b.ID)
		}
		seen[b.ID] = true
		if len(b.BINs) == 0 {
			return fmt.Errorf("config: bank %s has no BINs", b.ID)
		}
		switch b.Phone.Auth {
		case "", "id", "pin", "either":
		default:
			return fmt.Errorf("config: bank %s: phone.auth must be id, pin or either, not %q", b.ID, b.Phone.Auth)
		}
		for name := range b.Phone.Prompts {
			if !ivr.IsPrompt(name) {
				return fmt.Errorf("config: bank %s: phone.prompts: no prompt is called %q", b.ID, name)
			}
		}
	}
	return nil
}

func (c *Config) bank(id string) *BankConfig {
	for i := range c.Banks {
		if c.Banks[i].ID == id {
			return &c.Banks[i]
		}
	}
	return nil
}

func (c *Config) bankIDs() string {
	var ids []string
	for _, b := range c.Banks {
		ids = append(ids, b.ID)
	}
	return strings.Join(ids, ", ")
}
