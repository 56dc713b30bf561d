// Package wallet is the wallet: its users, the bank cards they bind (the
// 卡通 binding, an Open Banking consent at the issuing bank), the balance
// asked live from that bank every time (never stored), payments from the
// bound card, and its pages and JSON API under /wallet/.
//
// The wallet reaches a bank only over HTTP at the bank's configured base
// URL (docs/bank-link.md). client.go is that client: every call has a
// deadline, only safe reads are retried, a circuit breaker per bank fails
// fast while the bank is down, and one function maps the bank's answers
// onto Katong's codes.
package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"katong"
	"katong/auth"
	"katong/secret"
	"katong/shortcache"
	"katong/sqlstore"
)

// Partner is a partner bank: whose cards can be bound, and how to reach it.
type Partner struct {
	ID      katong.BankID
	Name    string   // 星河银行
	NameEN  string   // Galaxy Bank
	Colour  string   // card tile colour, CSS hex
	Support string   // support phone number, e.g. 95500
	BINs    []string // card number prefixes it issues
	// The bank link: base URL (e.g. http://127.0.0.1:8080/banks/galaxy),
	// the wallet's OAuth client at the bank, and the wallet's callback
	// registered there (…/wallet/bind/callback).
	BaseURL      string
	ClientID     string
	ClientSecret string
	RedirectURL  string
}

// Breaker configures the per-bank circuit breaker.
type Breaker struct {
	Failures int           // consecutive failed calls that open it; default 5
	CoolDown time.Duration // open this long before a probe; default 10 s
}

// Config is the wallet's configuration.
type Config struct {
	Banks []Partner
	// MinClientVersion refuses apps older than it (X-Client-Version,
	// "3.2.0") with CLIENT_OUTDATED; requests without the header (browsers)
	// pass. Empty: no minimum.
	MinClientVersion string
	// Deadline bounds each call to a bank; default 3 s.
	Deadline time.Duration
	Breaker  Breaker
	// Vault seals the banks' tokens at rest and keys the card look-ups.
	Vault *secret.Vault
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SettleEvery is how often the background settler retries payments
	// whose answer was lost and revocations the bank did not take; default 5 s.
	SettleEvery time.Duration
}

// Wallet is the wallet service and its HTTP channel.
type Wallet struct {
	cfg      Config
	db       *sqlstore.DB
	log      *slog.Logger
	auth     *auth.Service
	banks    map[katong.BankID]*partner
	partners []*partner
	minVer   []int
	tr       *http.Transport
	pages    *pages

	refreshMu [64]sync.Mutex // per binding (striped): one token refresh at a time
	bindings  *shortcache.Cache[int64, *binding]
	kick      chan struct{}
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// partner is a configured bank and its link.
type partner struct {
	*Partner
	link *link
}

// Session policy of wallet users, pages and API alike.
var sessionPolicy = auth.SessionPolicy{Idle: 30 * time.Minute, Absolute: 24 * time.Hour}

// New returns the wallet on its database (migrated to sqlstore.WalletSchema)
// and starts its background settler; Close stops it.
func New(cfg Config, db *sqlstore.DB, log *slog.Logger) (*Wallet, error) {
	if cfg.Vault == nil {
		return nil, errors.New("wallet: a vault is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = 3 * time.Second
	}
	if cfg.Breaker.Failures <= 0 {
		cfg.Breaker.Failures = 5
	}
	if cfg.Breaker.CoolDown <= 0 {
		cfg.Breaker.CoolDown = 10 * time.Second
	}
	if cfg.SettleEvery <= 0 {
		cfg.SettleEvery = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Wallet{cfg: cfg, db: db, log: log, banks: map[katong.BankID]*partner{}, kick: make(chan struct{}, 1),
		bindings: shortcache.New[int64, *binding](BindingCache)}
	if cfg.MinClientVersion != "" {
		v, ok := parseVersion(cfg.MinClientVersion)
		if !ok {
			return nil, fmt.Errorf("wallet: MinClientVersion %q is not a version like 3.2.0", cfg.MinClientVersion)
		}
		w.minVer = v
	}
	w.auth = auth.New(db, func(s string) string { return fmt.Sprintf("%x", cfg.Vault.Lookup("wallet-key", s)) })
	w.auth.Now = func() time.Time { return w.cfg.Now() }
	w.tr = &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.Deadline, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Deadline,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	hc := &http.Client{Transport: w.tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range cfg.Banks {
		p := &cfg.Banks[i]
		if p.ID == "" || len(p.BINs) == 0 || p.ClientID == "" || p.RedirectURL == "" {
			return nil, fmt.Errorf("wallet: bank %q needs an ID, BINs, a client id and a redirect URL", p.ID)
		}
		if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("wallet: bank %s: base URL %q is not an http(s) URL", p.ID, p.BaseURL)
		}
		if !hexColour(p.Colour) {
			return nil, fmt.Errorf("wallet: bank %s: colour %q is not like #1d4ed8", p.ID, p.Colour)
		}
		if _, dup := w.banks[p.ID]; dup {
			return nil, fmt.Errorf("wallet: bank %s configured twice", p.ID)
		}
		pp := &partner{Partner: p, link: &link{p: p, hc: hc, deadline: cfg.Deadline, now: cfg.Now,
			breaker: newBreaker(cfg.Breaker.Failures, cfg.Breaker.CoolDown, cfg.Now)}}
		w.banks[p.ID] = pp
		w.partners = append(w.partners, pp)
	}
	var err error
	if w.pages, err = newPages(); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	w.stop, w.done = stop, make(chan struct{})
	go w.settler(ctx)
	return w, nil
}

// Close stops the background settler and drops idle bank connections.
func (w *Wallet) Close() {
	w.closeOnce.Do(func() {
		w.stop()
		<-w.done
		w.tr.CloseIdleConnections()
	})
}

// partnerFor finds the card's issuing partner bank by its BIN.
func (w *Wallet) partnerFor(pan string) *partner {
	for _, p := range w.partners {
		if katong.CheckBIN(pan, p.BINs) {
			return p
		}
	}
	return nil
}

// bankErr ties a bank's error to the bank, so that an ACCOUNT_ABNORMAL
// answer can give the bank's support number.
type bankErr struct {
	p   *partner
	err error
}

func (e *bankErr) Error() string { return string(e.p.ID) + ": " + e.err.Error() }
func (e *bankErr) Unwrap() error { return e.err }

// wrap ties err to the bank p; with no bank (nil), err is returned as it is.
func (p *partner) wrap(err error) error {
	if err == nil || p == nil {
		return nil
	}
	return &bankErr{p: p, err: err}
}

// bankOf returns the bank an error came from, or nil.
func bankOf(err error) *partner {
	var be *bankErr
	if errors.As(err, &be) {
		return be.p
	}
	return nil
}

// hexColour reports whether s is a CSS colour "#rrggbb".
func hexColour(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// parseVersion parses "3.2.0" (up to four numeric parts).
func parseVersion(s string) ([]int, bool) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) == 0 || len(parts) > 4 {
		return nil, false
	}
	v := make([]int, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 6 {
			return nil, false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return nil, false
			}
			v[i] = v[i]*10 + int(c-'0')
		}
	}
	return v, true
}

// olderThan reports whether version a is before b.
func olderThan(a, b []int) bool {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// checkVersion refuses an app older than the minimum with EClientOutdated;
// a request without X-Client-Version (a browser) passes, and so does any
// request when no minimum is set. A header that is not a version is taken
// for an old app.
func (w *Wallet) checkVersion(r *http.Request) error {
	h := r.Header.Get("X-Client-Version")
	if h == "" || w.minVer == nil {
		return nil
	}
	if v, ok := parseVersion(h); ok && !olderThan(v, w.minVer) {
		return nil
	}
	return katong.Errorf(katong.EClientOutdated, "client version %.20q is older than %s", h, w.cfg.MinClientVersion)
}

// settler retries in the background what the banks did not answer:
// payments and refunds whose outcome is unknown, and revocations of
// unbound cards' consents. It runs every SettleEvery, and at once when
// kicked (an unbinding).
func (w *Wallet) settler(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.cfg.SettleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		w.settle(ctx)
	}
}

// wake asks the settler to run now.
func (w *Wallet) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// settle runs one round of the settler.
func (w *Wallet) settle(ctx context.Context) {
	if err := w.settlePayments(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("wallet settler: payments", "err", err)
	}
	if err := w.settleRefunds(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("wallet settler: refunds", "err", err)
	}
	if err := w.revokePending(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("wallet settler: revocations", "err", err)
	}
	if err := w.purge(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("wallet settler: purge", "err", err)
	}
}

// purge deletes binding attempts and sessions that ended a day ago.
func (w *Wallet) purge(ctx context.Context) error {
	cut := w.cfg.Now().Add(-24 * time.Hour).UnixMicro()
	if _, err := w.db.ExecContext(ctx, `DELETE FROM bind_attempts WHERE expires_at < $1`, cut); err != nil {
		return err
	}
	return w.auth.Purge(ctx)
}

// backoff is the wait before the n-th retry of a background task.
func (w *Wallet) backoff(n int64) time.Duration {
	d := w.cfg.SettleEvery
	for i := int64(1); i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}
