// Package ivr is the engine of the bank's phone line: a state machine with
// no network code. A Call takes events (a key pressed, a time-out) and
// answers with actions (say these clips and words, collect keys, hang up,
// transfer to an agent); the SIP adapter (package katong/sip) and the
// TwiML webhook (ivr/twiml) carry them out over their own transports.
//
// The call: a greeting and a menu (1 balance, 0 agent, 9 English); for a
// balance the card number and #, then the ID number and # (* for the
// letter X in the last position) or the 6-digit phone PIN and # (when
// the bank takes either, the line tells them apart by length); the
// balance read in Chinese by the PBOC rules (ReadAmount) or in English,
// with the card by its last four digits; * repeats, # ends. Digits typed
// are held in buffers that are zeroed after use and never printed.
package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"katong"
	"katong/bank"
)

// Bank is what the line asks of the bank; *bank.Bank is one.
type Bank interface {
	// VerifyCard checks that the card number and the secret belong
	// together; a wrong secret, an unknown card and a locked card are all
	// ENotFound, and each try counts against the card's lock-out.
	VerifyCard(ctx context.Context, pan string, s bank.Secret) (*katong.Card, error)
	// Balance answers the query and audits it.
	Balance(ctx context.Context, q bank.Query) (*katong.Balance, error)
	// AuditCardCheck records an inquiry that ended at the card check,
	// which never reaches Balance.
	AuditCardCheck(ctx context.Context, ch katong.Channel, actor, pan, detail string, result katong.Code) error
}

var _ Bank = (*bank.Bank)(nil)

// Line is one bank's phone line.
type Line struct {
	cfg  Config
	bank Bank
	now  func() time.Time
}

// New returns the line of a bank. now is the clock (time.Now if nil).
func New(cfg Config, b Bank, now func() time.Time) *Line {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	return &Line{cfg: cfg, bank: b, now: now}
}

// Config returns the line's configuration, defaults filled in.
func (l *Line) Config() Config { return l.cfg }

// Call begins a call. caller is the calling number as the network gave
// it: a risk signal, never trusted, kept only masked for the audit log;
// detail says which adapter and call it is ("sip call …"), for the audit
// log too.
func (l *Line) Call(caller, detail string) *Call {
	actor := "caller:unknown"
	if m := katong.MaskMobile(caller); m != "" {
		actor = "caller:" + m
	}
	return &Call{line: l, actor: actor, detail: detail, lang: katong.ZH}
}

// Kind is what an action does.
type Kind int

const (
	Say      Kind = iota + 1 // play Clips in order; Text is the same words
	Collect                  // wait for one key, or keys until Finish; Timeout after the prompt or the last key
	Hangup                   // end the call (after what was said is heard)
	Transfer                 // hand the caller to Target, an agent
)

// Action is one thing for the adapter to do. A reply is a list of actions
// carried out in order; a Collect or a Hangup or a Transfer comes last.
type Action struct {
	Kind Kind
	// Say
	Lang  katong.Lang
	Clips []string // clip names, "zh/menu", "zh/7"
	Text  string
	// Collect
	Finish  rune          // the key that ends a number ('#'), not itself part of it; 0 for one menu key
	Timeout time.Duration // no key for this long is a time-out
	// Transfer
	Target string
}

func (a Action) String() string {
	switch a.Kind {
	case Say:
		return fmt.Sprintf("say %s: %s", a.Lang, a.Text)
	case Collect:
		if a.Finish != 0 {
			return fmt.Sprintf("collect until %c (%s)", a.Finish, a.Timeout)
		}
		return fmt.Sprintf("collect 1 (%s)", a.Timeout)
	case Hangup:
		return "hangup"
	case Transfer:
		return "transfer " + a.Target
	}
	return "?"
}

// step is where a call is.
type step int

const (
	stepNew    step = iota
	stepMenu        // 1 balance, 0 agent, 9 English
	stepCard        // card number, #
	stepID          // ID number, #
	stepPIN         // phone PIN, #
	stepSecret      // ID number or PIN, #, told apart by length (AuthEither)
	stepResult      // the answer said: * repeat, 1 another card, 0 agent, # end
	stepEnded
)

// maxKeys is the most keys a number may have before # (a card has at most
// 19 digits); one more is invalid input at once.
const maxKeys = 24

// keys holds typed digits. Its array is allocated once with room for
// maxKeys, so appending never leaves a copy behind, and zero clears it.
// It never prints its digits.
type keys []byte

func newKeys() keys { return make(keys, 0, maxKeys) }

func (k *keys) zero() {
	clear((*k)[:cap(*k)])
	*k = (*k)[:0]
}

func (k keys) String() string { return strings.Repeat("*", len(k)) }

// LogValue keeps the digits out of any log line.
func (k keys) LogValue() slog.Value { return slog.StringValue(k.String()) }

// result is the answer of a query, kept for * (repeat) and 9 (in
// English): a balance, or the code of an error.
type result struct {
	Code       katong.Code   `json:"code,omitempty"`
	Tail       string        `json:"tail,omitempty"`
	Available  katong.Amount `json:"available"`
	Booked     katong.Amount `json:"booked"`
	RetryAfter time.Duration `json:"retry_after,omitempty"`
}

// Call is one call on the line. It is not safe for concurrent use: an
// adapter feeds it one event at a time.
type Call struct {
	line          *Line
	actor, detail string // for the audit log
	lang          katong.Lang
	step          step
	tries         int // re-prompts used at this step
	failures      int // wrong secrets in this call
	turns         int
	start         time.Time
	card          keys // the card number, from # until the secret is checked
	buf           keys // keys typed at this step
	result        *result
}

// Done reports whether the call has ended.
func (c *Call) Done() bool { return c.step == stepEnded }

// Lang is the language the call is in.
func (c *Call) Lang() katong.Lang { return c.lang }

// Start answers the call: the greeting and the menu.
func (c *Call) Start() []Action {
	if c.step != stepNew {
		return nil
	}
	c.start = c.line.now()
	c.card, c.buf = newKeys(), newKeys()
	c.turns = 1
	return append([]Action{c.prompt(pWelcome)}, c.enter(stepMenu)...)
}

// Key is a key pressed: '0'–'9', '*' or '#'; any other key is invalid
// input. It returns nil while keys of a number are being typed.
func (c *Call) Key(ctx context.Context, k rune) []Action {
	if c.step == stepNew || c.step == stepEnded {
		return nil
	}
	if over := c.over(); over != nil {
		return over
	}
	var acts []Action
	switch c.step {
	case stepMenu:
		acts = c.menuKey(k)
	case stepCard, stepID, stepPIN, stepSecret:
		acts = c.numberKey(ctx, k)
	case stepResult:
		acts = c.resultKey(k)
	}
	return c.count(acts)
}

// Timeout is no key within the Collect's Timeout.
func (c *Call) Timeout() []Action {
	if c.step == stepNew || c.step == stepEnded {
		return nil
	}
	if over := c.over(); over != nil {
		return over
	}
	return c.count(c.retry(c.prompt(pNoInput)))
}

// Hangup is the caller hanging up: the call ends and its buffers are
// cleared.
func (c *Call) Hangup() {
	c.step = stepEnded
	c.clear()
}

func (c *Call) clear() {
	c.card.zero()
	c.buf.zero()
}

// over ends a call that has gone on too long.
func (c *Call) over() []Action {
	if c.turns >= c.line.cfg.MaxTurns || c.line.now().Sub(c.start) > c.line.cfg.MaxDuration {
		return c.end(c.prompt(pGoodbye))
	}
	return nil
}

// count counts a turn: each reply that says something.
func (c *Call) count(acts []Action) []Action {
	if len(acts) > 0 && c.step != stepEnded {
		c.turns++
	}
	return acts
}

// end says acts and hangs up.
func (c *Call) end(acts ...Action) []Action {
	c.step = stepEnded
	c.clear()
	return append(acts, Action{Kind: Hangup})
}

// enter moves to step and asks for its input.
func (c *Call) enter(s step) []Action {
	c.step, c.tries = s, 0
	c.buf.zero()
	return c.ask()
}

// ask asks for the input of the step the call is at.
func (c *Call) ask() []Action {
	cfg := &c.line.cfg
	key := Action{Kind: Collect, Timeout: cfg.MenuTimeout}
	number := Action{Kind: Collect, Finish: '#', Timeout: cfg.DigitTimeout}
	switch c.step {
	case stepMenu:
		acts := []Action{c.prompt(pMenu)}
		if !cfg.NoEnglish {
			if c.lang == katong.ZH {
				acts = append(acts, c.promptIn(pForEnglish, katong.EN))
			} else {
				acts = append(acts, c.promptIn(pForChinese, katong.ZH))
			}
		}
		return append(acts, key)
	case stepCard:
		return []Action{c.prompt(pEnterCard), number}
	case stepID:
		return []Action{c.prompt(pEnterID), number}
	case stepPIN:
		return []Action{c.prompt(pEnterPIN), number}
	case stepSecret:
		return []Action{c.prompt(pEnterSecret), number}
	case stepResult:
		return []Action{c.prompt(pAfterResult), key}
	}
	return nil
}

// retry says why the input was not taken and asks again, or says goodbye
// when the step has had its re-prompts.
func (c *Call) retry(why ...Action) []Action {
	c.buf.zero()
	if c.tries >= c.line.cfg.Retries {
		return c.end(append(why, c.prompt(pGoodbye))...)
	}
	c.tries++
	return append(why, c.ask()...)
}

func (c *Call) invalid() []Action { return c.retry(c.prompt(pInvalid)) }

func (c *Call) menuKey(k rune) []Action {
	switch k {
	case '1':
		return c.enter(stepCard)
	case '0':
		return c.agent()
	case '9':
		if c.line.cfg.NoEnglish {
			return c.invalid()
		}
		c.switchLang()
		return c.ask()
	case '*':
		return c.ask()
	}
	return c.invalid()
}

func (c *Call) resultKey(k rune) []Action {
	switch k {
	case '*':
		return append(c.answerSpeech(), c.ask()...)
	case '#':
		return c.end(c.prompt(pGoodbye))
	case '1':
		c.result = nil
		return c.enter(stepCard)
	case '0':
		return c.agent()
	case '9':
		if c.line.cfg.NoEnglish {
			return c.invalid()
		}
		c.switchLang()
		return append(c.answerSpeech(), c.ask()...)
	}
	return c.invalid()
}

func (c *Call) switchLang() {
	if c.lang == katong.ZH {
		c.lang = katong.EN
	} else {
		c.lang = katong.ZH
	}
}

// agent transfers the caller, or reads the support number when the bank
// has no agents on this line.
func (c *Call) agent() []Action {
	cfg := &c.line.cfg
	if cfg.Agent == "" {
		return append([]Action{c.withDigits(pAgentUnavailable, cfg.Support)}, c.ask()...)
	}
	c.step = stepEnded
	c.clear()
	return []Action{c.prompt(pTransfer), {Kind: Transfer, Target: cfg.Agent}}
}

// numberKey takes a key of the card number, ID number or PIN.
func (c *Call) numberKey(ctx context.Context, k rune) []Action {
	switch {
	case k >= '0' && k <= '9' || k == '*' && (c.step == stepID || c.step == stepSecret):
		if len(c.buf) >= maxKeys {
			return c.invalid()
		}
		c.buf = append(c.buf, byte(k))
		return nil
	case k == '*':
		// Start the number again.
		c.buf.zero()
		return c.ask()
	case k == '#':
		if len(c.buf) == 0 {
			// A bare # is invalid input, never a try of a secret.
			return c.invalid()
		}
		return c.submit(ctx)
	}
	return c.invalid()
}

// submit checks the number typed and moves on.
func (c *Call) submit(ctx context.Context) []Action {
	cfg := &c.line.cfg
	switch c.step {
	case stepCard:
		pan, err := katong.NormalizeCard(string(c.buf))
		c.buf.zero()
		if err != nil {
			return c.retry(c.prompt(pCardInvalid))
		}
		if len(cfg.BINs) > 0 && !katong.CheckBIN(pan, cfg.BINs) {
			return c.retry(c.errorSpeech(katong.ECrossBank, 0)...)
		}
		c.card = append(c.card[:0], pan...)
		switch cfg.Auth {
		case AuthID:
			return c.enter(stepID)
		case AuthPIN:
			return c.enter(stepPIN)
		}
		return c.enter(stepSecret)
	case stepSecret:
		// Six digits are a PIN, anything else is taken for an ID number.
		if isPIN(c.buf) {
			return c.submitPIN(ctx, pSecretInvalid)
		}
		return c.submitID(ctx, pSecretInvalid)
	case stepID:
		return c.submitID(ctx, pIDInvalid)
	case stepPIN:
		return c.submitPIN(ctx, pPINInvalid)
	}
	return nil
}

func isPIN(k keys) bool {
	ok := len(k) == 6
	for _, d := range k {
		ok = ok && d >= '0' && d <= '9'
	}
	return ok
}

func (c *Call) submitID(ctx context.Context, invalid string) []Action {
	id, err := katong.NormalizeID(katong.IDFromKeypad(string(c.buf)), c.line.now())
	c.buf.zero()
	if err != nil {
		return c.retry(c.prompt(invalid))
	}
	return c.verify(ctx, bank.Secret{IDNumber: id})
}

func (c *Call) submitPIN(ctx context.Context, invalid string) []Action {
	pin, ok := string(c.buf), isPIN(c.buf)
	c.buf.zero()
	if !ok {
		return c.retry(c.prompt(invalid))
	}
	return c.verify(ctx, bank.Secret{PIN: pin})
}

// verify checks the card and secret with the bank and, when they match,
// asks the balance.
func (c *Call) verify(ctx context.Context, s bank.Secret) []Action {
	cfg := &c.line.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.BankTimeout)
	defer cancel()
	pan := string(c.card)
	c.card.zero()
	card, err := c.line.bank.VerifyCard(ctx, pan, s)
	switch code := errorCode(err); code {
	case "":
	case katong.ENotFound: // a locked card too (Bank.VerifyCard)
		if err := c.line.bank.AuditCardCheck(ctx, katong.ChannelPhone, c.actor, pan, c.detail, code); err != nil {
			return c.answer(result{Code: errorCode(err)})
		}
		c.failures++
		if c.failures >= cfg.MaxFailures {
			return c.end(c.prompt(pNotFound), c.prompt(pTooManyFailures), c.prompt(pGoodbye))
		}
		return append([]Action{c.prompt(pNotFound)}, c.enter(stepCard)...)
	default:
		return c.answer(result{Code: code, RetryAfter: katong.AsError(err).RetryAfter})
	}
	bal, err := c.line.bank.Balance(ctx, bank.Query{Channel: katong.ChannelPhone, Actor: c.actor, Detail: c.detail, Card: card})
	if err != nil {
		return c.answer(result{Code: errorCode(err), Tail: card.Tail, RetryAfter: katong.AsError(err).RetryAfter})
	}
	return c.answer(result{Tail: card.Tail, Available: bal.Available, Booked: bal.Booked})
}

// errorCode is the code of a bank error; a bank too slow to answer is a
// network error.
func errorCode(err error) katong.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return katong.ENetwork
	}
	return katong.ErrorCode(err)
}

// answer says the result of a query and offers what comes next.
func (c *Call) answer(r result) []Action {
	c.result = &r
	c.step, c.tries = stepResult, 0
	return append(c.answerSpeech(), c.ask()...)
}

func (c *Call) answerSpeech() []Action {
	r := c.result
	if r == nil {
		return nil
	}
	if r.Code != "" {
		return c.errorSpeech(r.Code, r.RetryAfter)
	}
	s := c.speech().prompt(pCardTail).digits(r.Tail).prompt(pBalanceIs).amount(r.Available)
	if r.Booked != r.Available {
		s.prompt(pBookedIs).amount(r.Booked)
	}
	return []Action{s.stop()}
}

// errorSpeech is the one place where the domain's error codes become
// speech. A locked card is heard as an unknown one (S10).
func (c *Call) errorSpeech(code katong.Code, wait time.Duration) []Action {
	switch code {
	case katong.EAbnormal, katong.EClosed:
		return []Action{c.withDigits(pAbnormal, c.line.cfg.Support)}
	case katong.ENotFound, katong.ELocked:
		return []Action{c.prompt(pNotFound)}
	case katong.ERateLimited:
		secs := int64(katong.Seconds(wait))
		s := c.speech().prompt(pRateLimited)
		if secs >= 120 {
			s.number((secs + 59) / 60).prompt(pMinutesLater)
		} else {
			s.number(secs).prompt(pSecondsLater)
		}
		return []Action{s.action()}
	case katong.ECrossBank:
		return []Action{c.prompt(pCrossBank)}
	case katong.EInvalid:
		return []Action{c.prompt(pInvalid)}
	case katong.ENetwork:
		return []Action{c.prompt(pNetwork)}
	}
	return []Action{c.prompt(pBusy)}
}

// prompt says a prompt in the call's language.
func (c *Call) prompt(name string) Action { return c.promptIn(name, c.lang) }

func (c *Call) promptIn(name string, lang katong.Lang) Action {
	return (&speech{cfg: &c.line.cfg, lang: lang}).prompt(name).action()
}

// withDigits says a prompt followed by a number read digit by digit.
func (c *Call) withDigits(name, digits string) Action {
	return c.speech().prompt(name).digits(digits).stop()
}

func (c *Call) speech() *speech { return &speech{cfg: &c.line.cfg, lang: c.lang} }

// speech builds a Say action from prompts and numbers.
type speech struct {
	cfg   *Config
	lang  katong.Lang
	clips []string
	words []string
}

func (s *speech) prompt(name string) *speech {
	s.clips = append(s.clips, string(s.lang)+"/"+name)
	s.words = append(s.words, s.cfg.text(name, s.lang))
	return s
}

// read adds words made by the Read functions, with their clips.
func (s *speech) read(text string) *speech {
	s.clips = append(s.clips, numberClips(s.lang, text)...)
	s.words = append(s.words, text)
	return s
}

func (s *speech) digits(d string) *speech {
	if s.lang == katong.EN {
		return s.read(ReadDigitsEN(d))
	}
	return s.read(ReadDigits(d))
}

func (s *speech) amount(a katong.Amount) *speech {
	if s.lang == katong.EN {
		return s.read(ReadAmountEN(a))
	}
	return s.read(ReadAmount(a, ReadOptions{Liang: s.cfg.Liang}))
}

func (s *speech) number(n int64) *speech {
	if s.lang == katong.EN {
		return s.read(ReadNumberEN(n))
	}
	return s.read(ReadNumber(n, ReadOptions{Liang: s.cfg.Liang}))
}

// stop ends the sentence with a full stop.
func (s *speech) stop() Action {
	a := s.action()
	if s.lang == katong.EN {
		a.Text += "."
	} else {
		a.Text += "。"
	}
	return a
}

func (s *speech) action() Action {
	sep := ""
	if s.lang == katong.EN {
		sep = " "
	}
	return Action{Kind: Say, Lang: s.lang, Clips: s.clips, Text: strings.Join(s.words, sep)}
}
