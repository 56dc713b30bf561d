package ivr

import (
	"time"

	"katong"
)

// AuthMode is how a caller proves the card is theirs.
type AuthMode string

const (
	AuthID     AuthMode = "id"     // the cardholder's ID number
	AuthPIN    AuthMode = "pin"    // the card's 6-digit phone PIN (查询密码)
	AuthEither AuthMode = "either" // either, told apart by length: 6 digits are a PIN, 18 characters an ID number
)

// Config is one bank's phone line: its wording, how callers verify, where
// agents are and how patient the line is. DefaultConfig fills it from the
// bank's configuration; New fills any zero durations and counts with the
// defaults.
type Config struct {
	Support string   // the bank's support number, read out for 账户异常 and when no agent is available
	BINs    []string // card prefixes the bank issues; another bank's card is refused before any check
	Auth    AuthMode
	// Agent is where 0 transfers the caller: a number for a TwiML <Dial>,
	// a SIP URI for REFER. Empty means no agents: the line reads the
	// support number instead.
	Agent string
	// NoEnglish drops the 9 (English) option from the menu.
	NoEnglish bool
	// Liang reads 2 as 两 before 千, 万 and 亿 in amounts (两万元).
	Liang bool
	// Prompts replaces the words of prompts by clip name ("welcome",
	// "menu", …; see Clips). A bank that changes words here records clips
	// with the same names.
	Prompts map[string]Text

	MenuTimeout  time.Duration // waiting for a menu key; 6 s
	DigitTimeout time.Duration // waiting for the next digit; 8 s
	Retries      int           // re-prompts after no or invalid input before goodbye; 3
	MaxFailures  int           // wrong secrets in one call before it ends; 3
	// MaxTurns bounds the prompts of one call (a caller pressing * for
	// ever); MaxDuration its length. 40 and 15 minutes.
	MaxTurns    int
	MaxDuration time.Duration
	// BankTimeout bounds each call to the bank; 5 s. A slower bank is
	// answered as 网络异常, never by a hang.
	BankTimeout time.Duration
}

// DefaultConfig is the line of bank b: its support number, its card
// prefixes, a greeting with its name, verification by ID number or PIN at
// the caller's choice, and the usual timeouts.
func DefaultConfig(b katong.Bank) Config {
	c := Config{Support: b.Support, BINs: b.BINs, Auth: AuthEither, Liang: true}
	if b.Name != "" {
		en := b.NameEN
		if en == "" {
			en = string(b.ID)
		}
		c.Prompts = map[string]Text{pWelcome: {"您好，欢迎致电" + b.Name + "。", "Welcome to " + en + "."}}
	}
	c.defaults()
	return c
}

func (c *Config) defaults() {
	if c.Auth == "" {
		c.Auth = AuthEither
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.MenuTimeout, 6*time.Second)
	set(&c.DigitTimeout, 8*time.Second)
	set(&c.MaxDuration, 15*time.Minute)
	set(&c.BankTimeout, 5*time.Second)
	seti := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	seti(&c.Retries, 3)
	seti(&c.MaxFailures, 3)
	seti(&c.MaxTurns, 40)
}

// text returns the words of the prompt, the bank's own if it set them.
func (c *Config) text(name string, lang katong.Lang) string {
	if t, ok := c.Prompts[name]; ok {
		if s := t.In(lang); s != "" {
			return s
		}
	}
	return prompts[name].In(lang)
}
